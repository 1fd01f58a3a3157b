import Testing
@testable import ShardPlan

/// A [2, 4] mesh and an [8, 16] bf16 tensor: 128 elements, 256 bytes when whole.
@Suite("Resharding collectives")
struct ReshardingCostTests {
    let meshShape = [2, 4]

    func collectives(_ source: ShardingSpec, _ target: ShardingSpec) -> [Collective] {
        Resharding.collectives(from: source, to: target, elementCount: 128, bytesPerElement: 2, meshShape: meshShape)
    }

    @Test("partial sums over axis 0 become replicated with one all-reduce of the 256 local bytes")
    func partialToReplicated() {
        let partial = ShardingSpec(dimensionAxes: [[], []], partialSums: [[0]])
        #expect(collectives(partial, .replicated(rank: 2)) == [Collective(.allReduce, axes: [0], bytes: 256)])
    }

    @Test("partial sums over axis 0 become split along axis 0 with one reduce-scatter of the 256 input bytes")
    func partialToSplitAlongTheSameAxis() {
        let partial = ShardingSpec(dimensionAxes: [[], []], partialSums: [[0]])
        let split = ShardingSpec(dimensionAxes: [[0], []])
        #expect(collectives(partial, split) == [Collective(.reduceScatter, axes: [0], bytes: 256)])
    }

    @Test("dimension 0 split 4 ways on axis 1 is gathered: each device holds 64 bytes, the gathered buffer is 256")
    func splitToReplicated() {
        let split = ShardingSpec(dimensionAxes: [[1], []])
        #expect(collectives(split, .replicated(rank: 2)) == [Collective(.allGather, axes: [1], bytes: 256)])
    }

    @Test("moving axis 1's split from dimension 0 to dimension 1 is one all-to-all of the 64 local bytes")
    func splitMovesToAnotherDimension() {
        let rows = ShardingSpec(dimensionAxes: [[1], []])
        let columns = ShardingSpec(dimensionAxes: [[], [1]])
        #expect(collectives(rows, columns) == [Collective(.allToAll, axes: [1], bytes: 64)])
    }

    @Test("slicing a replicated tensor and keeping a layout cost no collective")
    func freeChanges() {
        let split = ShardingSpec(dimensionAxes: [[0], [1]])
        #expect(collectives(.replicated(rank: 2), split).isEmpty)
        #expect(collectives(split, split).isEmpty)
    }

    @Test("partial sums along an axis of size 1 need no reduction")
    func partialAlongATrivialAxis() {
        let partial = ShardingSpec(dimensionAxes: [[], []], partialSums: [[0]])
        let result = Resharding.collectives(from: partial, to: .replicated(rank: 2), elementCount: 128,
                                            bytesPerElement: 2, meshShape: [1, 4])
        #expect(result.isEmpty)
    }
}
