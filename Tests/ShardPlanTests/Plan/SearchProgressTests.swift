import Testing
@testable import ShardPlan

@Suite("Search progress: the planners say what they search and how far they are")
struct SearchProgressTests {
    @Test("the pipeline planner reports each microbatch count and then the Megatron grid, steps counting up")
    func pipelinePlanner() throws {
        let graph = try ModelCatalog.model(id: "gpt-tiny")!.build()
        let cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        var heard: [SearchProgress] = []
        _ = try PipelinePlanner(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1", maximumStageCount: 2, meshShape: [2, 2])
            .plan { heard.append($0) }
        // gpt-tiny's batch of 8 allows 1, 2, 4 or 8 microbatches; the grid is the last step.
        #expect(heard.first == SearchProgress(phase: "searching with 1 microbatch", completedSteps: 0, totalSteps: 5))
        #expect(heard.last?.phase == "pricing Megatron-LM configurations")
        #expect(heard.map(\.completedSteps) == Array(0 ..< heard.count))
        #expect(heard.allSatisfy { $0.completedSteps < $0.totalSteps })
    }

    @Test("the single-stage planner reports each mesh shape and microbatch count")
    func singleStagePlanner() throws {
        let graph = try ModelCatalog.model(id: "gpt-tiny")!.build()
        let cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        var heard: [SearchProgress] = []
        _ = try SingleStagePlanner(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1", meshShapes: [[2, 4], [4, 2]], recomputeModes: [.none])
            .plan(microbatches: 2) { heard.append($0) }
        #expect(heard.map(\.phase) == ["mesh 2x4 with 2 microbatches", "mesh 4x2 with 2 microbatches"])
        #expect(heard.map(\.totalSteps) == [2, 2])
    }
}
