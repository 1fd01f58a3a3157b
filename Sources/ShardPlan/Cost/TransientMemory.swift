/// The bytes a device holds for part of the backward pass only, beside its weights, gradients, optimizer state and
/// the activations of the microbatches in flight, and when they meet.
///
/// - The loss's gradient buffers (with its layer's activations where that layer reruns) live at the start of the
///   backward pass, and are freed with one microbatch's kept tensors of the loss's layer before any block reruns.
/// - A rerunning block's working set (full or op-level recomputation) lives while that block reruns and runs
///   backward.
/// - ZeRO-3's gathered weights (two layers': one computing, the next prefetched) live throughout.
/// - One layer's unsharded gradients await their reduce-scatter in an input buffer of their own (FSDP2's
///   `foreach_reduce` copies them in) after that layer's backward pass, while the next layer reruns: they meet a
///   rerunning block's working set but not the loss's buffers, which the first layer's reduce-scatter comes after.
///   (The output layer sharing the loss's layer writes its weight's gradient while the logits' gradient is alive;
///   the loss's buffers are the larger, and that overlap is not counted.)
///
/// A rank's chunks run one at a time, so a rank holds the largest of each part over its chunks (`include`).
struct TransientMemory: Sendable, Equatable {
    var lossBuffer = 0.0
    /// The largest rerun working set, less one microbatch's kept tensors of the loss's layer (freed before any block
    /// reruns): negative where the loss's layer frees more than a block reruns.
    var rerun = -Double.infinity
    var gathered = 0.0
    var unsharded = 0.0

    /// A rank of no chunks yet: any chunk's parts replace these.
    init() {}

    /// The parts of a stage whose largest recomputation working set is `recomputation`, whose loss's buffers are
    /// `lossBuffer` and whose loss's layer keeps `lossLayerKept` a microbatch (without a loss both are 0).
    init(lossBuffer: Double, recomputation: Double, lossLayerKept: Double, gathered: Double = 0, unsharded: Double = 0) {
        self.lossBuffer = lossBuffer
        rerun = recomputation - lossLayerKept
        self.gathered = gathered
        self.unsharded = unsharded
    }

    /// Another chunk of the same rank, run at another time.
    mutating func include(_ other: TransientMemory) {
        lossBuffer = max(lossBuffer, other.lossBuffer)
        rerun = max(rerun, other.rerun)
        gathered = max(gathered, other.gathered)
        unsharded = max(unsharded, other.unsharded)
    }

    /// The working set of the backward pass without ZeRO-3's buffers: the loss's buffers or a rerunning block's,
    /// whichever is larger (`StageCost.backwardWorkingBytes`).
    var backwardWorkingBytes: Double { max(lossBuffer, rerun) }

    /// The most bytes held at once: the gathered weights, and the larger of the loss's buffers and a rerunning
    /// block's working set beside one layer's gradients awaiting their reduce-scatter.
    var bytes: Double { gathered + max(lossBuffer, rerun + unsharded) }

    /// What the unsharded gradients add to the backward working set (the reports count it with the gradients).
    var addedByUnshardedGradients: Double { bytes - gathered - backwardWorkingBytes }
}
