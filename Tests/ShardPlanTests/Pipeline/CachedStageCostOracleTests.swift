import Testing
@testable import ShardPlan

@Suite("stage candidates shared between identical layers")
struct CachedStageCostOracleTests {
    /// A prologue, three identical blocks and an epilogue.
    static let keys = [0, 1, 1, 1, 2]

    /// Answers from the work of the range's layers, equal for the three blocks, so ranges with equal
    /// signatures get equal answers; the payload records the in-flight count asked about.
    struct KeyedOracle: StageCostOracle {
        var deviceMemoryBytes: Double? { .infinity }

        func stageCost(layers: Range<Int>, submesh: SubmeshShape, microbatches: Int, inFlightMicrobatches: Int) -> StageCandidate<Int>? {
            let work = layers.reduce(0.0) { $0 + [0.1, 1, 1, 1, 0.6][$1] }
            return StageCandidate(microbatchSeconds: work / Double(submesh.deviceCount).squareRoot(), iterationSeconds: 0,
                                  peakMemoryBytes: 0, activationBytesPerMicrobatch: 0, payload: inFlightMicrobatches)
        }
    }

    @Test("two ranges of the same blocks are solved once; another in-flight count is a new question")
    func sharing() throws {
        let cache = CachedStageCostOracle(KeyedOracle(), structureKeys: Self.keys)
        let shape = SubmeshShape(nodes: 1, devicesPerNode: 4)
        let first = try #require(cache.stageCost(layers: 1 ..< 3, submesh: shape, microbatches: 8, inFlightMicrobatches: 2))
        let second = try #require(cache.stageCost(layers: 2 ..< 4, submesh: shape, microbatches: 8, inFlightMicrobatches: 2))
        #expect(first == second)
        #expect(cache.statistics == (questions: 2, solves: 1))
        _ = cache.stageCost(layers: 2 ..< 4, submesh: shape, microbatches: 8, inFlightMicrobatches: 1)
        _ = cache.stageCost(layers: 0 ..< 2, submesh: shape, microbatches: 8, inFlightMicrobatches: 2)
        #expect(cache.statistics == (questions: 4, solves: 3))
        _ = cache.stageCost(layers: 1 ..< 3, submesh: shape, microbatches: 16, inFlightMicrobatches: 2)
        #expect(cache.statistics == (questions: 5, solves: 4), "smaller microbatches are another stage")
    }

    @Test("the table asks once per structure signature and finds the same plan")
    func tableSharing() throws {
        let program = StageDynamicProgram(layerCount: 5, nodes: 2, devicesPerNode: 8, microbatches: 8)
        let shared = program.candidateTable(KeyedOracle(), structureKeys: Self.keys)
        let separate = program.candidateTable(KeyedOracle())
        // Signatures: 15 ranges, of which 1..<3 = 2..<4 and 1..<2 = 2..<3 = 3..<4 repeat: 12 distinct.
        #expect(separate.oracleCallCount == 15 * program.submeshes.count)
        #expect(shared.oracleCallCount == 12 * program.submeshes.count)
        #expect(shared.latencies == separate.latencies)
        let plan = try #require(program.solve(shared))
        let cached = try #require(program.solve(CachedStageCostOracle(KeyedOracle(), structureKeys: Self.keys)))
        #expect(plan.stages.map(\.layers) == cached.stages.map(\.layers))
        #expect(plan.pipelineSeconds == cached.pipelineSeconds)
    }
}
