import Testing
@testable import ShardPlan

@Suite("clustered layers through the stage DP")
struct ClusteredPipelineTests {
    /// Prices a stage by its FLOPs at 1 TFLOP/s per device, plus 1 ms per microbatch when it spans nodes: it
    /// reads only the clustered layers' FLOPs, so layers with equal structure keys cost the same.
    struct FLOPsOracle: StageCostOracle {
        var flops: [Double]
        var deviceMemoryBytes: Double? { .infinity }

        func stageCost(layers: Range<Int>, submesh: SubmeshShape, microbatches: Int,
                       inFlightMicrobatches: Int) -> StageCandidate<Int>? {
            let work = flops[layers].reduce(0, +) / Double(microbatches)
            let seconds = work / (1e12 * Double(submesh.deviceCount)) + (submesh.nodes > 1 ? 1e-3 : 0)
            return StageCandidate(microbatchSeconds: seconds, iterationSeconds: 0, peakMemoryBytes: 0,
                                  activationBytesPerMicrobatch: 0, payload: layers.count)
        }
    }

    @Test("a 12-block GPT in 6 clustered layers on 2 nodes: stages cover every op in order, and sharing by structure changes nothing but the number of questions")
    func endToEnd() throws {
        let graph = try TinyGPT(layers: 12).graph()
        let clustering = LayerClustering(GraphAnalysis(graph), maximumLayerCount: 6)
        #expect(clustering.structureKeys == [0, 1, 1, 1, 1, 2])
        let oracle = FLOPsOracle(flops: clustering.layers.map(\.trainingFLOPs))
        let program = StageDynamicProgram(layerCount: clustering.layers.count, nodes: 2, devicesPerNode: 8, microbatches: 16)
        let shared = program.candidateTable(oracle, structureKeys: clustering.structureKeys)
        let separate = program.candidateTable(oracle)
        #expect(shared.oracleCallCount < separate.oracleCallCount)
        let partition = try #require(program.solve(shared))
        let reference = try #require(program.solve(separate))
        #expect(partition.stages.map(\.layers) == reference.stages.map(\.layers))
        #expect(partition.pipelineSeconds == reference.pipelineSeconds)
        let operations = partition.stages.map { clustering.operations(of: $0.layers) }
        #expect(operations.first?.lowerBound == 0 && operations.last?.upperBound == graph.operations.count)
        #expect(zip(operations, operations.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound })
        try PartitionValidator(program: program, oracle: oracle).check(partition)
    }
}
