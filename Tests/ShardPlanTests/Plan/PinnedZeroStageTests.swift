import Testing
@testable import ShardPlan

/// `plan --zero N` pins N: `TrainingOptions.maximumZeroStage` keeps the search from giving a parameter a higher
/// ZeRO stage of its own accord, while `zeroStage` stays the floor.
@Suite("A pinned ZeRO stage bounds the search")
struct PinnedZeroStageTests {
    @Test("an op's ZeRO variants stop at the maximum stage")
    func candidatesStopAtTheMaximum() throws {
        var builder = GraphBuilder(name: "linear")
        let x = try builder.input("x", [64, 32], .bf16)
        let w = try builder.parameter("w", [32, 16])
        builder.output(try builder.einsum("y", "bi,io->bo", x, w))
        let graph = try builder.build()
        let operation = graph.operations[0]
        func stages(_ maximum: Int) -> Set<Int> {
            Set(OpStrategy.candidates(for: operation, operandShapes: [[64, 32], [32, 16]], resultShape: [64, 16], meshShape: [4],
                                      batchIndex: 0, microbatches: 1, storedParameters: [1], maximumZeroStage: maximum).map(\.zeroStage))
        }
        // The batch split reduces w's gradient over the mesh, so its strategy comes in ZeRO variants 0, 1 and 3.
        #expect(stages(3) == [0, 1, 3])
        #expect(stages(2) == [0, 1])
        #expect(stages(0) == [0])
        // torchtitan's search (`TrainingOptions.searchesZeroOne` false) leaves ZeRO-1 out.
        #expect(Set(OpStrategy.candidates(for: operation, operandShapes: [[64, 32], [32, 16]], resultShape: [64, 16], meshShape: [4],
                                          batchIndex: 0, microbatches: 1, storedParameters: [1], zeroOne: false).map(\.zeroStage)) == [0, 3])
    }

    /// The same GPT-3 125M plan, searched without ZeRO-1 (`plan --emit torchtitan`): no parameter gets it.
    @Test("GPT-3 125M on 8 A100s: searched without ZeRO-1, no parameter gets it")
    func singleStagePlanLeavesOutZeroOne() throws {
        let graph = try #require(ModelCatalog.model(id: "gpt3-125m")).build()
        let cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        let free = try SingleStagePlanner(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1", recomputeModes: [.none]).plan(microbatches: 1)
        #expect(free.plan.stages[0].strategies.contains { $0.zeroStage == 1 })
        var options = TrainingOptions()
        options.searchesZeroOne = false
        let plan = try SingleStagePlanner(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1", options: options, recomputeModes: [options.recompute])
            .plan(microbatches: 1).plan
        #expect(!plan.stages[0].strategies.contains { $0.zeroStage == 1 })
        #expect(!(plan.summary ?? "").contains("zero=1"))
    }

    /// GPT-3 125M on a DGX A100: the unbounded search shards some optimizer state (ZeRO-1 on some parameters);
    /// with the maximum at 0 no parameter is sharded, and the plan says so.
    @Test("GPT-3 125M on 8 A100s: with the maximum at 0 no parameter gets ZeRO")
    func singleStagePlanRespectsTheMaximum() throws {
        let graph = try #require(ModelCatalog.model(id: "gpt3-125m")).build()
        let cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        let free = try SingleStagePlanner(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1", recomputeModes: [.none]).plan(microbatches: 1)
        #expect(free.plan.stages[0].strategies.contains { $0.zeroStage > 0 })
        var options = TrainingOptions()
        options.maximumZeroStage = 0
        let pinned = try SingleStagePlanner(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1", options: options, recomputeModes: [options.recompute])
            .plan(microbatches: 1)
        #expect(pinned.plan.stages[0].strategies.allSatisfy { $0.zeroStage == 0 })
        #expect(!(pinned.plan.summary ?? "").contains("zero"))
    }
}
