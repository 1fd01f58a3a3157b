import Testing
@testable import ShardPlan

/// SPEC section 1's mlp-2 (a batch of 1,024) on one DGX A100.
private func specPlanner(_ change: (inout PipelinePlanner) -> Void) throws -> PipelinePlanner {
    let cluster = try Cluster.preset(named: "dgx-a100-80g:1")
    var planner = PipelinePlanner(graph: try Graph(jsonBytes: GraphFixture.specMLP.bytes), cluster: cluster, clusterName: "dgx-a100-80g:1")
    change(&planner)
    return planner
}

private let plannerRefusals: [(change: @Sendable (inout PipelinePlanner) -> Void, expected: String)] = [
    ({ $0.maximumStageCount = 0 }, "maximumStageCount: the search needs at least one pipeline stage; found a limit of 0"),
    ({ $0.maximumLayerCount = 0 }, "maximumLayerCount: the search needs at least one clustered layer; found a limit of 0"),
    ({ $0.maximumVirtualStages = 0 },
     "maximumVirtualStages: the search needs at least one model chunk per pipeline rank; found a limit of 0"),
    ({ $0.meshShape = [] },
     "meshShape: a mesh shape has one axis or more, such as [2, 4]; found none (nil searches every shape)"),
    ({ $0.meshShape = [2, 0] }, "meshShape[1]: every axis of a mesh holds one device or more; found 0"),
    ({ $0.megatronGrid = MegatronGrid(microBatchSizes: [0, -1], maximumVirtualStages: 0, maximumEndLightening: -1) },
     "megatronGrid.microBatchSizes[0]: a microbatch holds one sample or more; found 0"),
    ({ $0.megatronGrid.maximumVirtualStages = 0 },
     "megatronGrid.maximumVirtualStages: a pipeline rank holds one model chunk or more; found a limit of 0"),
    ({ $0.megatronGrid.maximumEndLightening = -1 },
     "megatronGrid.maximumEndLightening: the first and last ranks may be 0 or more layers lighter than the others; found -1"),
    ({ $0.options.zeroStage = 7 }, "options.zero_stage: the ZeRO stage must be 0, 1, 2 or 3, found 7"),
    ({ $0.options = TrainingOptions(recompute: .full, recomputedBlocks: -2) },
     "options.recompute_blocks: the blocks each stage reruns must be between 1 and 1048576, found -2"),
    ({ $0.cluster.nodes = 0 }, "cluster \"dgx-a100-80g:1\": nodes: expected a positive integer, found 0"),
    ({ $0.cluster.intraNode?.bandwidth = 0 },
     "cluster \"dgx-a100-80g:1\": intra_node.bandwidth_gb_per_s: expected a positive number, found 0"),
    ({ $0.cluster.device.peakFLOPsPerSecond = [.bf16: 0] },
     "cluster \"dgx-a100-80g:1\": device.peak_tflops.bf16: expected a positive number, found 0"),
    // Review (qa61): ZeRO stage 7 or -1 in the variants was searched and written into a plan its own reader refused
    // ("stages[0].zero_stages.w1: expected a ZeRO stage 0, 1, 2 or 3, found the number 7"); empty variants trapped
    // (Variants.init's precondition, MegatronGrid.configurations' `zeroStages.min()!`, StageSearchOracle.init's `min()!`).
    ({ $0.variants = StageSearchOracle.Variants(zeroStages: [7], recomputeModes: [.none]) },
     "variants.zeroStages[0]: the ZeRO stage must be 0, 1, 2 or 3, found 7"),
    ({ $0.variants.zeroStages = [0, -1] }, "variants.zeroStages[1]: the ZeRO stage must be 0, 1, 2 or 3, found -1"),
    ({ $0.variants = StageSearchOracle.Variants(zeroStages: [], recomputeModes: []) },
     "variants.zeroStages: the search needs at least one ZeRO stage to try; found none"),
    ({ $0.variants.zeroStages = [] }, "variants.zeroStages: the search needs at least one ZeRO stage to try; found none"),
    ({ $0.variants.recomputeModes = [] },
     "variants.recomputeModes: the search needs at least one recomputation mode to try; found none"),
    // A negative limit stopped the search at its first plan, a NaN one never stopped it; `--time-limit` refuses both.
    ({ $0.timeLimit = -1 }, "timeLimit: a time limit is a positive, finite number of seconds (nil for none); found -1.0"),
    ({ $0.timeLimit = 0 }, "timeLimit: a time limit is a positive, finite number of seconds (nil for none); found 0.0"),
    ({ $0.timeLimit = .nan }, "timeLimit: a time limit is a positive, finite number of seconds (nil for none); found nan"),
    ({ $0.timeLimit = .infinity }, "timeLimit: a time limit is a positive, finite number of seconds (nil for none); found inf"),
]

/// Rewrite searches the planners' `plan(rewriting:)` cannot take, each with the error naming the member.
private let rewriteRefusals: [(search: RewriteSearch, expected: String)] = [
    (RewriteSearch(rules: RewriteCatalog.safeRules, budget: -1),
     "rewriting.budget: the budget is a count of rewritten graphs, 0 or more; found -1"),
    (RewriteSearch(rules: RewriteCatalog.safeRules, relaxation: -5),
     "rewriting.relaxation: the relaxation is a factor of 1 or more over the best cost (1.05 by default); found -5.0"),
    (RewriteSearch(rules: RewriteCatalog.safeRules, relaxation: .nan),
     "rewriting.relaxation: the relaxation is a factor of 1 or more over the best cost (1.05 by default); found nan"),
]

/// A setting a library caller can give that the search cannot take is an `InputError` naming the setting, thrown
/// before the search starts; none traps inside it.
@Suite("Planner settings: what the search cannot take is refused at plan()")
struct PlannerSettingsTests {
    @Test("PipelinePlanner.plan refuses each setting with the setting's name", arguments: plannerRefusals)
    func pipelinePlannerRefusals(change: @Sendable (inout PipelinePlanner) -> Void, message: String) throws {
        let planner = try specPlanner(change)
        let error = #expect(throws: InputError.self) { try planner.plan() }
        #expect(error?.description == message)
    }

    @Test("Both planners' plan(rewriting:) refuse a negative budget and a relaxation below 1 or NaN", arguments: rewriteRefusals)
    func rewriteSearchRefusals(search: RewriteSearch, message: String) throws {
        let planner = try specPlanner { _ in }
        let pipeline = #expect(throws: InputError.self) { try planner.plan(rewriting: search) }
        #expect(pipeline?.description == message)
        let single = SingleStagePlanner(graph: planner.graph, cluster: planner.cluster, clusterName: planner.clusterName)
        let stage = #expect(throws: InputError.self) { try single.plan(rewriting: search) }
        #expect(stage?.description == message)
    }

    @Test("SingleStagePlanner refuses a cluster, options and recomputation modes it cannot search")
    func singleStageRefusals() throws {
        let graph = try Graph(jsonBytes: GraphFixture.specMLP.bytes)
        var cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        cluster.interNode = nil
        cluster.nodes = 2
        let badCluster = #expect(throws: InputError.self) {
            try SingleStagePlanner(graph: graph, cluster: cluster, clusterName: "two").plan()
        }
        #expect(badCluster?.description == "cluster \"dgx-a100-80g:1\": missing required member \"inter_node\": a cluster of 2 nodes needs the network between them")
        var planner = SingleStagePlanner(graph: graph, cluster: try Cluster.preset(named: "dgx-a100-80g:1"), clusterName: "one",
                                         options: TrainingOptions(zeroStage: 4))
        let zero = #expect(throws: InputError.self) { try planner.plan() }
        #expect(zero?.description == "options.zero_stage: the ZeRO stage must be 0, 1, 2 or 3, found 4")
        planner.options.zeroStage = 0
        planner.recomputeModes = []
        let modes = #expect(throws: InputError.self) { try planner.plan() }
        #expect(modes?.description == "recomputeModes: the search needs at least one recomputation mode to try; found none")
        // Review: what PipelinePlanner refuses, SingleStagePlanner refused not (an empty list of shapes answered "no
        // feasible plan", shard groups were searched as if absent).
        planner.recomputeModes = [.none]
        planner.meshShapes = []
        let shapes = #expect(throws: InputError.self) { try planner.plan() }
        #expect(shapes?.description == "meshShapes: the search needs at least one mesh shape to try; found none (nil tries every shape)")
        planner.meshShapes = [[2, 4], [8, 0]]
        let axis = #expect(throws: InputError.self) { try planner.plan() }
        #expect(axis?.description.hasPrefix("meshShapes[1]: a mesh shape has one axis or more, each of one device or more") == true)
        planner.meshShapes = nil
        planner.options.zeroShardGroup = 4
        let groups = #expect(throws: InputError.self) { try planner.plan() }
        #expect(groups?.description.hasPrefix("options.zero_shard_group: the search shards ZeRO state over every data-parallel device") == true)
        // Review (qa61): a negative or NaN time limit was accepted, as in PipelinePlanner.
        planner.options.zeroShardGroup = nil
        for limit in [-1, Double.nan] {
            planner.timeLimit = limit
            let time = #expect(throws: InputError.self) { try planner.plan() }
            #expect(time?.description == "timeLimit: a time limit is a positive, finite number of seconds (nil for none); found \(limit)")
        }
    }

    @Test("TrainingPlan.megatron refuses a cluster Cluster.validate() refuses, and a ZeRO stage or rerun blocks out of range, as plan() does")
    func megatronRefusals() throws {
        let graph = try Graph(jsonBytes: GraphFixture.specMLP.bytes)
        var cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        let layout = MegatronConfiguration(tensorParallel: 8, pipelineParallel: 1, microBatchSize: 1024)
        var blocks = layout
        blocks.options = TrainingOptions(recompute: .full, recomputedBlocks: 0)
        let blockError = #expect(throws: InputError.self) {
            try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "one", configuration: blocks)
        }
        #expect(blockError?.description == "options.recompute_blocks: the blocks each stage reruns must be between 1 and 1048576, found 0")
        var zero = layout
        zero.options.zeroStage = 7
        let zeroError = #expect(throws: InputError.self) {
            try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "one", configuration: zero)
        }
        #expect(zeroError?.description == "options.zero_stage: the ZeRO stage must be 0, 1, 2 or 3, found 7")
        cluster.intraNode?.latency = -1
        let clusterError = #expect(throws: InputError.self) {
            try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "one", configuration: layout)
        }
        #expect(clusterError?.description == "cluster \"dgx-a100-80g:1\": intra_node.latency_us: expected a number at least 0, found -1000000")
    }

    /// The 14 rules of Docs/rewrites.md's safe set, in the catalog's order.
    @Test("RewriteCatalog.safeRules are the rules of --rewrites safe, in catalog order")
    func safeRules() {
        let names = ["merge-parallel-contractions", "concatenate-parallel-contractions", "split-contraction", "compose-transposes",
                     "compose-reshapes", "fold-transpose-into-contraction", "fold-transpose-of-contraction", "cancel-slice-of-concat",
                     "cancel-concat-of-slices", "merge-shared-id-embeddings", "split-embedding-by-hidden", "remove-identity", "merge-scales",
                     "move-scale-into-contraction"]
        #expect(RewriteCatalog.safeRules.map(\.name) == names)
        #expect(RewriteSelection.safe.rules.map(\.name) == names)
    }
}
