import Testing
@testable import ShardPlan

/// An [8, 32, 64] f32 tensor (65,536 bytes; 16,384 on each device of a [2, 2] mesh when split four ways, axis 0
/// "x", axis 1 "y"). Each row is what XLA's SPMD partitioner compiled for the same change of layout
/// (`jax.jit` with input and output shardings on 4 simulated CPU devices, jax 0.10.2; Docs/cost-model.md,
/// "All-to-alls").
@Suite("Resharding: all-to-alls by pieces per dimension, as XLA does them")
struct ReshardingAllToAllTests {
    static let cases: [(source: [[Int]], target: [[Int]], expected: [Collective], why: String)] = [
        ([[1], [0], []], [[], [1], [0]],
         [Collective(.allToAll, axes: [1], bytes: 16384), Collective(.sendReceive, axes: [0, 1], bytes: 16384)],
         "dimension 1 keeps two pieces: one all-to-all moves y from 0 to 2, a permute swaps x and y"),
        ([[1], [], [0]], [[], [0], [1]],
         [Collective(.allToAll, axes: [1], bytes: 16384), Collective(.sendReceive, axes: [0, 1], bytes: 16384)],
         "y goes from 0 to 1 by an all-to-all, a permute swaps x and y"),
        ([[0, 1], [], []], [[], [], [0, 1]],
         [Collective(.allToAll, axes: [0, 1], bytes: 16384)],
         "four pieces move from dimension 0 to 2 in one all-to-all over both axes"),
        ([[0, 1], [], []], [[0], [1], []],
         [Collective(.allToAll, axes: [1], bytes: 16384)],
         "the minor y leaves dimension 0 for 1, no permute"),
        ([[0, 1], [], []], [[1], [0], []],
         [Collective(.allToAll, axes: [1], bytes: 16384), Collective(.sendReceive, axes: [0, 1], bytes: 16384)],
         "the minor y leaves dimension 0 for 1, a permute puts x and y in place"),
        ([[1], [], []], [[], [0], [1]],
         [Collective(.allToAll, axes: [1], bytes: 16384)],
         "slice x first (32,768 to 16,384 bytes), then y moves from 0 to 2"),
        ([[0], [], []], [[], [], [0, 1]],
         [Collective(.allToAll, axes: [0], bytes: 16384), Collective(.sendReceive, axes: [0, 1], bytes: 16384)],
         "slice y into dimension 2, x follows it by an all-to-all on the minor end, a permute restores (x, y)"),
        ([[1], [0], []], [[], [], [0]],
         [Collective(.allGather, axes: [1], bytes: 32768), Collective(.allToAll, axes: [0], bytes: 32768)],
         "gather y first, then the all-to-all over x moves the 32,768-byte half"),
        ([[0], [1], []], [[], [], [0, 1]],
         [Collective(.allGather, axes: [1], bytes: 32768), Collective(.allGather, axes: [0], bytes: 65536)],
         "two surpluses of 2 for one lack of 4: XLA gathers the whole tensor, last dimension first"),
        ([[1], [0], []], [[], [], []],
         [Collective(.allGather, axes: [0], bytes: 32768), Collective(.allGather, axes: [1], bytes: 65536)],
         "gathers in two dimensions are two all-gathers, the last dimension first (the JAX check's attention gradient)"),
        ([[0, 1], [], []], [[], [1], [0]],
         [Collective(.allGather, axes: [0, 1], bytes: 65536)],
         "a surplus of 4 for two lacks of 2: XLA gathers the whole tensor"),
    ]

    /// A token dispatcher (`dispatch`) sends each device's block to its experts' devices in one all-to-all where
    /// XLA's pieces cannot pair the change, then gathers what the target holds whole: on a `[2, 2, 2, 2]` mesh an
    /// `[8, 32, 64]` f32 tensor (65,536 bytes) split 16 ways is 4,096 bytes a device, split 8 ways 8,192.
    static let dispatches: [(source: [[Int]], target: [[Int]], expected: [Collective], why: String)] = [
        ([[0, 1], [2], []], [[0], [], [1, 2]], [Collective(.allToAll, axes: [1, 2], bytes: 8192)],
         "two surpluses of 2 for one lack of 4: one all-to-all over both axes"),
        ([[0, 1], [2, 3], []], [[0], [], [1, 2]],
         [Collective(.allToAll, axes: [1, 2], bytes: 4096), Collective(.allGather, axes: [3], bytes: 8192)],
         "the all-to-all, then the tensor axis gathered, as Megatron-Core's dispatcher does beside sequence parallelism"),
        ([[], [], [1, 2]], [[0, 1], [2], []], [Collective(.allToAll, axes: [1, 2], bytes: 8192)],
         "the combine: one surplus of 4 for two lacks, slicing x first (16,384 to 8,192 bytes); the all-to-all places every block, no permute"),
    ]

    @Test("a token dispatch is one all-to-all over the axes that move, then the gathers", arguments: dispatches)
    func dispatch(_ change: (source: [[Int]], target: [[Int]], expected: [Collective], why: String)) {
        let result = Resharding.collectives(from: ShardingSpec(dimensionAxes: change.source), to: ShardingSpec(dimensionAxes: change.target),
                                            elementCount: 16384, bytesPerElement: 4, meshShape: [2, 2, 2, 2], dispatch: TokenDispatch(experts: 8, topK: 2))
        #expect(result == change.expected, "\(change.why)")
    }

    @Test("each change of layout costs what XLA compiled", arguments: cases)
    func allToAll(_ change: (source: [[Int]], target: [[Int]], expected: [Collective], why: String)) {
        let result = Resharding.collectives(from: ShardingSpec(dimensionAxes: change.source),
                                            to: ShardingSpec(dimensionAxes: change.target),
                                            elementCount: 16384, bytesPerElement: 4, meshShape: [2, 2])
        #expect(result == change.expected, "\(change.why)")
    }
}
