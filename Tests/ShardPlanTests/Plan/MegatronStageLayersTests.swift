import Testing
@testable import ShardPlan

@Suite("Megatron layouts with lighter first and last pipeline ranks")
struct MegatronStageLayersTests {
    /// A GPT of 10 blocks with layer hints: embedding, h0 ... h9, head.
    static func graph() throws -> Graph {
        try TinyGPT(layers: 10, hinted: true).graph()
    }

    /// The blocks each chunk of a plan runs (by the names of the layers its ops carry).
    static func blocks(_ plan: TrainingPlan) -> [Int] {
        plan.stages.map { stage in Set(stage.operations.compactMap { plan.graph.operations[$0].layer }.filter { $0.hasPrefix("h") }).count }
    }

    @Test("4 ranks, 2 blocks on the first and the last: the middle ranks take 3 each")
    func lighterEnds() throws {
        let graph = try Self.graph()
        let cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1", configuration: MegatronConfiguration(
            tensorParallel: 2, pipelineParallel: 4, dataParallel: 1, firstStageLayers: 2, lastStageLayers: 2))
        #expect(Self.blocks(plan) == [2, 3, 3, 2])
        #expect(plan.summary?.contains("first=2 last=2") == true)
        #expect(PlanValidator.violation(in: plan) == nil)
    }

    @Test("interleaved: 3 ranks of 4, 2 and 4 blocks over 2 chunks run in pipeline order, the first rank's chunk 0 holding the embedding")
    func interleavedLighterMiddle() throws {
        let graph = try Self.graph()
        let cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        // 10 blocks: first 4, last 4, the one middle rank 2; each rank's blocks split over its 2 chunks.
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1", configuration: MegatronConfiguration(
            tensorParallel: 1, pipelineParallel: 2, dataParallel: 4, virtualStages: 2, firstStageLayers: 4, lastStageLayers: 6))
        // Chunks in pipeline order: rank 0 chunk 0, rank 1 chunk 0, rank 0 chunk 1, rank 1 chunk 1.
        #expect(Self.blocks(plan) == [2, 3, 2, 3])
        #expect(plan.stages[0].operations.lowerBound == 0)
        #expect(PlanValidator.violation(in: plan) == nil)
    }

    @Test("a split that leaves the middle ranks unequal, or a rank fewer layers than chunks, is an error naming the option",
          arguments: [(4, 3, 1, 2), (3, 2, 3, 3), (2, 1, 2, 9)])
    func invalidSplits(ranks: Int, first: Int, chunks: Int, last: Int) throws {
        let graph = try Self.graph()
        let cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        #expect(throws: InputError.self) {
            try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1", configuration: MegatronConfiguration(
                tensorParallel: 1, pipelineParallel: ranks, dataParallel: 1, virtualStages: chunks,
                firstStageLayers: first, lastStageLayers: last))
        }
    }
}
