import Testing
@testable import ShardPlan

/// When the backward pass's transient sets meet (`TransientMemory`): a layer's reduce-scatter input meets a
/// rerunning block's working set, not the loss's buffers, which are freed (with one microbatch's kept tensors of the
/// loss's layer) before the first layer reduce-scatters.
@Suite("The backward pass's transient memory")
struct TransientMemoryTests {
    @Test("without a loss the parts add up: 3 gathered + 5 rerun + 2 unsharded = 10")
    func withoutLoss() {
        let memory = TransientMemory(lossBuffer: 0, recomputation: 5, lossLayerKept: 0, gathered: 3, unsharded: 2)
        #expect(memory.bytes == 10 && memory.backwardWorkingBytes == 5 && memory.addedByUnshardedGradients == 2)
    }

    /// Loss buffers of 8 beside a rerun block's 4, of which the loss's layer frees 6 first: the reduce-scatter's 3
    /// fit in what was freed, so the peak is the loss's (1 + 8 = 9, where adding every part gave 12).
    @Test("with a loss the reduce-scatter's input fits beside the rerun, not the loss's buffers: 1 + max(8, 4 - 6 + 3) = 9")
    func withLoss() {
        let memory = TransientMemory(lossBuffer: 8, recomputation: 4, lossLayerKept: 6, gathered: 1, unsharded: 3)
        #expect(memory.backwardWorkingBytes == 8 && memory.bytes == 9 && memory.addedByUnshardedGradients == 0)
        // A large rerun block: the reduce-scatter adds all of itself beside it (1 + 9 + 3).
        let rerunning = TransientMemory(lossBuffer: 2, recomputation: 10, lossLayerKept: 1, gathered: 1, unsharded: 3)
        #expect(rerunning.bytes == 13 && rerunning.addedByUnshardedGradients == 3)
    }

    /// A rank's chunks run one at a time: the largest of each part, then composed.
    @Test("a rank of a loss chunk (8 buffers, 6 kept) and a block chunk (4 rerun, 3 unsharded): max(8, 4 + 3) = 8")
    func chunks() {
        var rank = TransientMemory(lossBuffer: 8, recomputation: 0, lossLayerKept: 6)
        rank.include(TransientMemory(lossBuffer: 0, recomputation: 4, lossLayerKept: 0, gathered: 0, unsharded: 3))
        #expect(rank.lossBuffer == 8 && rank.rerun == 4 && rank.unsharded == 3)
        #expect(rank.bytes == 8 && rank.backwardWorkingBytes == 8)
    }
}
