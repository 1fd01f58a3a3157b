import Testing
@testable import ShardPlan

/// What the op-level recomputation suites share: llama-tiny's graph and the names of the ops a mode reruns, and the
/// stage cost of llama-tiny's shape with a given number of blocks, whose difference between 3 and 2 blocks is one
/// block's kept bytes (a 32-token sequence in bf16, head size 16).
struct RecomputationFixture {
    let graph: Graph
    let cluster: Cluster

    init(cluster: String = "single-a100-80g") throws {
        graph = try #require(ModelCatalog.model(id: "llama-tiny")).build()
        self.cluster = try Cluster.preset(named: cluster)
    }

    static func configuration(layers: Int) -> TransformerConfiguration {
        .llama(layers: layers, hidden: 64, heads: 4, keyValueHeads: 2, feedForwardHidden: 176,
               vocabulary: 256, sequenceLength: 32, globalBatch: 8)
    }

    func model(_ mode: RecomputeMode, precision: MatmulPrecision = .bf16, _ graph: Graph? = nil) -> StageCostModel {
        StageCostModel(graph: graph ?? self.graph, kernels: KernelModel(device: cluster.device),
                       options: TrainingOptions(recompute: mode, precision: precision), microbatches: 1)
    }

    /// The names of `ops` in layer `layer` of `graph` (llama-tiny's by default).
    func names(_ ops: Set<Int>, in graph: Graph? = nil, layer: String = "layer0") -> Set<String> {
        let graph = graph ?? self.graph
        return Set(ops.filter { graph.operations[$0].layer == layer }.map { graph.operations[$0].name })
    }

    /// The one stage's cost of llama-tiny's shape with `layers` blocks on the fixture's single device.
    func cost(_ mode: RecomputeMode, precision: MatmulPrecision = .bf16, layers: Int) throws -> StageCost {
        let graph = try TransformerBuilder(name: "llama-\(layers)", configuration: Self.configuration(layers: layers)).build()
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: cluster.name, configuration: MegatronConfiguration(
            tensorParallel: 1, pipelineParallel: 1, options: TrainingOptions(recompute: mode, precision: precision)))
        return PlanEvaluator(cluster: cluster).evaluate(plan).stageCosts[0]
    }

    /// One block's activation bytes a microbatch under `mode`.
    func blockBytes(_ mode: RecomputeMode, precision: MatmulPrecision = .bf16) throws -> Double {
        try cost(mode, precision: precision, layers: 3).activationBytesPerMicrobatch
            - cost(mode, precision: precision, layers: 2).activationBytesPerMicrobatch
    }
}
