import Testing
@testable import ShardPlan

/// The valid documents the fuzz campaigns start from, and what the commands run them against: graphs small
/// enough that one case of `inspect`, `score` and `plan` takes milliseconds, clusters of a few devices, and
/// plans of those graphs on those clusters.
enum FuzzFixtures {
    /// `count` nodes of `perNode` DGX A100 80 GB devices, with the DGX's links.
    static func dgx(nodes count: Int, devicesPerNode perNode: Int) -> Cluster {
        let node = try! Cluster.preset(named: "dgx-a100-80g")
        return Cluster(name: "dgx-a100-80g \(count)x\(perNode)", nodes: count, devicesPerNode: perNode, device: node.device,
                       intraNode: perNode > 1 ? node.intraNode : nil, interNode: count > 1 ? node.interNode! : nil)
    }

    /// One node of two devices: the cluster `plan` cases search on.
    static let twoDevices = dgx(nodes: 1, devicesPerNode: 2)
    /// Two nodes of two devices: pipelines across the network.
    static let fourDevices = dgx(nodes: 2, devicesPerNode: 2)

    /// A two-layer GPT with small dimensions: a transformer's op kinds in about fifty ops.
    static let smallGPT = gpt(layers: 2)
    /// Four layers, so that an interleaved pipeline has chunks to share out.
    static let fourLayerGPT = gpt(layers: 4)

    private static func gpt(layers: Int) -> Graph {
        try! TransformerBuilder(name: "gpt-fuzz-\(layers)", configuration: .gpt(layers: layers, hidden: 16, heads: 2, vocabulary: 32,
                                                                               sequenceLength: 8, globalBatch: 4)).build()
    }

    static let graphDocuments: [JSONValue] = [
        try! JSONParser.parse(try GraphFixture.specMLP.bytes),
        try! JSONParser.parse(try GraphFixture.everyOp.bytes),
        smallGPT.json,
    ]

    static let graphVocabulary = Operator.catalogNames + DType.allCases.map(\.rawValue) + [
        "format", "name", "inputs", "parameters", "ops", "outputs", "op", "shape", "dtype", "batch_dim", "layer", "equation",
        "axes", "axis", "kind", "keepdims", "perm", "dims", "start", "end", "dim", "rate", "factor", "value", "causal",
        "stride", "padding", "groups", "window", "x", "w1", "h", "y", "loss", "tokens", "bd,df->bf", "...d,df->...f", "shardplan.graph/1",
    ]

    static let clusterDocuments: [JSONValue] = [
        try! Cluster.preset(named: "dgx-a100-80g:2").json,
        try! Cluster.preset(named: "p3.16xlarge").json,
        try! Cluster.preset(named: "gb200-nvl72:2").json,
        dgx(nodes: 1, devicesPerNode: 1).json,
        twoDevices.json,
        fourDevices.json,
    ]

    static let clusterVocabulary = DType.allCases.map(\.rawValue) + [
        "format", "name", "nodes", "devices_per_node", "device", "memory_gib", "peak_tflops", "memory_bandwidth_gb_per_s",
        "multiprocessors", "boost_clock_mhz", "best_matmul_tflops", "achievable_memory_bandwidth_fraction", "intra_node",
        "inter_node", "bandwidth_gb_per_s", "latency_us", "collective_efficiency", "allreduce_bus_bandwidth_gb_per_s",
        "allgather_bus_bandwidth_gb_per_s", "p2p_bandwidth_gb_per_s", "devices_per_nvlink_domain", "shardplan.cluster/1",
    ]

    /// A saved plan: the graph and cluster it is scored against, and its document.
    struct SavedPlan {
        var graph: Graph
        var cluster: Cluster
        var document: JSONValue
    }

    static let plans: [SavedPlan] = {
        var plans: [SavedPlan] = []
        func save(_ plan: TrainingPlan) {
            plans.append(SavedPlan(graph: plan.graph, cluster: plan.cluster,
                                   document: plan.json(prediction: PlanEvaluator(cluster: plan.cluster).evaluate(plan))))
        }
        func megatron(_ graph: Graph, tp: Int, pp: Int, dp: Int? = nil, vp: Int = 1, sp: Bool = false, zero: Int = 0,
                      shardGroup: Int? = nil) -> TrainingPlan {
            try! TrainingPlan.megatron(graph: graph, cluster: fourDevices, clusterName: "four", configuration: MegatronConfiguration(
                tensorParallel: tp, pipelineParallel: pp, dataParallel: dp, virtualStages: vp, sequenceParallel: sp,
                options: TrainingOptions(zeroStage: zero, zeroShardGroup: shardGroup)))
        }
        save(megatron(smallGPT, tp: 2, pp: 2, sp: true))
        save(megatron(fourLayerGPT, tp: 1, pp: 2, dp: 1, vp: 2, zero: 1))
        save(megatron(smallGPT, tp: 2, pp: 1, zero: 3))
        save(megatron(smallGPT, tp: 1, pp: 1, zero: 3, shardGroup: 2))
        let mlp = try! Graph(jsonBytes: try! GraphFixture.specMLP.bytes)
        save(try! SingleStagePlanner(graph: mlp, cluster: twoDevices, clusterName: "two", meshShapes: [[1, 2]], recomputeModes: [.none]).plan(microbatches: 2).plan)
        save(try! PipelinePlanner(graph: mlp, cluster: fourDevices, clusterName: "four", maximumStageCount: 2,
                                  includesMegatronGrid: false).plan(microbatches: 2).plan)
        return plans
    }()

    static func planVocabulary(_ graph: Graph) -> [String] {
        graph.values.map(\.name) + PipelineSchedule.allCases.map(\.rawValue) + RecomputeMode.allCases.map(\.rawValue) + [
            "format", "index", "rank", "ops", "devices", "mesh", "axes", "shardings", "partial_sums", "operand_shardings",
            "zero_stages", "recompute", "stages", "microbatches", "schedule", "virtual_stages", "options", "zero_stage", "zero_shard_group",
            "x", "y", "z", "w", "...", "shardplan.plan/1",
        ]
    }
}
