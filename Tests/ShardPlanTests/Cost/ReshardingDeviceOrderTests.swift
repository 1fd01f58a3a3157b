import Testing
@testable import ShardPlan

/// A [2, 2] mesh (axis 0 "x", axis 1 "y") and a bf16 tensor of 128 elements: 256 bytes whole, 64 bytes on each
/// device when split four ways. Each expectation is what XLA's SPMD partitioner compiled for the same change of
/// layout in the JAX check (Docs/jax.md, "Operand layouts").
@Suite("Resharding: collective-permutes where only the device order changes")
struct ReshardingDeviceOrderTests {
    func collectives(_ source: [[Int]], _ target: [[Int]]) -> [Collective] {
        Resharding.collectives(from: ShardingSpec(dimensionAxes: source), to: ShardingSpec(dimensionAxes: target),
                               elementCount: 128, bytesPerElement: 2, meshShape: [2, 2])
    }

    @Test("swapping the axes of two dimensions keeps every block's shape: one collective-permute of the local block")
    func swap() {
        #expect(collectives([[0], [1]], [[1], [0]]) == [Collective(.sendReceive, axes: [0, 1], bytes: 64)])
    }

    @Test("[S: y, H: x] to [S: (x, y)]: the all-to-all over x leaves S split (y, x), a collective-permute reorders it")
    func reorderAfterAllToAll() {
        #expect(collectives([[1], [0]], [[0, 1], []]) == [
            Collective(.allToAll, axes: [0], bytes: 64), Collective(.sendReceive, axes: [0, 1], bytes: 64),
        ])
    }

    @Test("[-, y, x] to [-, x, -]: x takes y's place by a collective-permute, then y is gathered")
    func tradeWithALeavingAxis() {
        #expect(collectives([[], [1], [0]], [[], [0], []]) == [
            Collective(.sendReceive, axes: [0, 1], bytes: 64), Collective(.allGather, axes: [1], bytes: 128),
        ])
    }

    @Test("[y, -] to [x, y]: the slice over x and the move of y trade places, one collective-permute")
    func tradeWithAnArrivingAxis() {
        #expect(collectives([[1], []], [[0], [1]]) == [Collective(.sendReceive, axes: [0, 1], bytes: 64)])
    }

    @Test("slicing a split dimension further on its minor end and gathering its minor axis need no permute")
    func minorEndChangesAreFree() {
        #expect(collectives([[0], []], [[0, 1], []]).isEmpty)
        #expect(collectives([[0, 1], []], [[0], []]) == [Collective(.allGather, axes: [1], bytes: 128)])
    }

    @Test("slicing in front of an axis that already splits the dimension reorders its blocks: a collective-permute")
    func sliceInFrontOfASplit() {
        #expect(collectives([[1], []], [[0, 1], []]) == [Collective(.sendReceive, axes: [0, 1], bytes: 64)])
    }
}
