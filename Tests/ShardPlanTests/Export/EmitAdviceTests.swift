import Testing
@testable import ShardPlan

/// Where no framework settings fit and run, `plan --emit`'s error names the obstacle and what would help
/// (`FrameworkExport.advice`): QA's moe-tiny (global batch 8) on a GB200 NVL72 rack of 72 GPUs was told to "try more
/// devices", though no layout of 72 devices splits 8 samples over its data-parallel ranks.
@Suite("plan --emit: the advice where no settings fit and run names the real obstacle")
struct EmitAdviceTests {
    /// moe-tiny: 4 query and 2 key/value heads (tp 1 or 2), 2 blocks (pp 1 or 2), 32 tokens (no context parallelism,
    /// which needs 4,096 a rank). On 72 devices tp x pp is 1, 2 or 4, so dp is 72, 36 or 18: none divides 8, and 18
    /// is the fewest. Below 72, the most devices a layout splits 8 samples over is tp 2 x pp 2 x dp 8 = 32.
    @Test("moe-tiny on 72 devices: at least 18 data-parallel ranks, none dividing its batch of 8; 32 devices would")
    func batchObstacle() throws {
        let graph = try ModelCatalog.model(id: "moe-tiny")!.build()
        let rack = try Cluster.preset(named: "gb200-nvl72")
        let obstacle = try #require(MegatronGrid.batchObstacle(of: graph, on: rack))
        #expect(obstacle.leastDataParallel == 18 && obstacle.fewerDevices == 32)
        // 8 devices split 8 samples (dp 8, or fewer ranks with tp and pp): no obstacle.
        #expect(MegatronGrid.batchObstacle(of: graph, on: try Cluster.preset(named: "dgx-h100")) == nil)
    }

    /// A plan replicated over the rack's 72 devices, with nothing else to weigh: every framework's error names the
    /// batch, a larger --batch and fewer devices, not more devices.
    @Test("the error names the batch that splits over no layout, a larger --batch and fewer devices, in every framework",
          arguments: [TrainingFramework.megatron, .nemo, .megatronBridge, .torchtitan])
    func errorNamesTheBatch(framework: TrainingFramework) throws {
        let graph = try ModelCatalog.model(id: "moe-tiny")!.build()
        let rack = try Cluster.preset(named: "gb200-nvl72")
        let mesh = try DeviceMesh(devices: Array(0 ..< 72), shape: [1, 72], in: rack)
        let operations = 0 ..< graph.operations.count
        let stage = StageLayout(operations: operations, mesh: mesh,
                                strategies: operations.map { _ in OpStrategy(indexOfAxis: [nil, nil]) })
        let plan = TrainingPlan(graph: graph, cluster: rack, clusterName: "gb200-nvl72", stages: [stage], pipelineRanks: 1,
                                virtualStages: 1, schedule: .oneForwardOneBackward, microbatches: 1, options: TrainingOptions())
        let prediction = PlanEvaluator(cluster: rack).evaluate(plan)
        let error = #expect(throws: InputError.self) {
            try FrameworkExport.choosing(plan, prediction: prediction, alternatives: [], moreAlternatives: { [] },
                                         requiresFit: true, framework: framework)
        }
        let message = error?.description ?? ""
        #expect(message.contains("the global batch of 8 samples splits over no layout's data-parallel ranks: every tp x pp x cp x dp layout "
                                 + "of the 72 devices (tp splitting whole heads, pp whole blocks) has at least 18 data-parallel ranks"), "\(message)")
        #expect(message.contains("try a larger --batch (a multiple of 18) or fewer devices (32 split the batch"), "\(message)")
        #expect(!message.contains("more devices"), "\(message)")
    }

    /// Where every layout was refused for memory alone, more memory is the advice.
    @Test("advice: memory alone is more devices, recomputation or ZeRO; a framework's limits are other degrees")
    func adviceWithoutBatchObstacle() throws {
        let graph = try ModelCatalog.model(id: "moe-tiny")!.build()
        let node = try Cluster.preset(named: "dgx-h100")
        #expect(FrameworkExport.advice(graph: graph, cluster: node, framework: .megatron, refusedForMemoryOnly: true)
                == "none fits in memory: try more devices, recomputation (--recompute) or ZeRO (--zero)")
        #expect(FrameworkExport.advice(graph: graph, cluster: node, framework: .torchtitan, refusedForMemoryOnly: false)
                == "torchtitan refuses the layouts that would fit; try another device count or --batch, whose degrees it may run")
    }
}
