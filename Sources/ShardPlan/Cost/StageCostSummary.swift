/// The few figures of a `StageCost` that the pipeline search compares stages by: seconds per microbatch
/// forward and backward, the per-iteration gradient synchronisation and optimizer step, and the memory a
/// device holds (model state, activations per microbatch in flight, and the working sets of recomputation and
/// of ZeRO-3's gathered weights and unsharded gradients). Everything but the working sets adds up over the
/// layers of a stage whose layers interact only with their neighbours (`LayerCostProfile`).
public struct StageCostSummary: Sendable, Equatable {
    public var forwardSeconds: Double
    public var backwardSeconds: Double
    /// The whole gradient synchronisation of one iteration, before any overlap.
    public var synchronizationSeconds: Double
    public var optimizerSeconds: Double
    /// Exposed seconds only the last microbatch pays (`StageCost.lastMicrobatchSeconds`).
    public var lastMicrobatchSeconds: Double
    /// Weights, gradients and optimizer state per device.
    public var modelStateBytes: Double
    public var activationBytesPerMicrobatch: Double
    /// The parts of the backward working set (`TransientMemory`), which a stage composed of layers composes
    /// (`StageCost`): the largest
    /// recomputation working set, the loss's buffers, and one microbatch's kept tensors of the loss's layer.
    public var recomputationWorkingBytes: Double
    public var lossBufferBytes: Double
    public var lossLayerKeptBytes: Double
    /// ZeRO-3 weights gathered at once (two layers') and gradients unsharded at once (one layer's).
    public var gatheredWeightBytes: Double
    public var unshardedGradientBytes: Double

    public init(forwardSeconds: Double, backwardSeconds: Double, synchronizationSeconds: Double, optimizerSeconds: Double,
                modelStateBytes: Double, activationBytesPerMicrobatch: Double, lastMicrobatchSeconds: Double = 0,
                recomputationWorkingBytes: Double, lossBufferBytes: Double = 0, lossLayerKeptBytes: Double = 0,
                gatheredWeightBytes: Double = 0, unshardedGradientBytes: Double = 0) {
        self.forwardSeconds = forwardSeconds
        self.backwardSeconds = backwardSeconds
        self.synchronizationSeconds = synchronizationSeconds
        self.optimizerSeconds = optimizerSeconds
        self.lastMicrobatchSeconds = lastMicrobatchSeconds
        self.modelStateBytes = modelStateBytes
        self.activationBytesPerMicrobatch = activationBytesPerMicrobatch
        self.recomputationWorkingBytes = recomputationWorkingBytes
        self.lossBufferBytes = lossBufferBytes
        self.lossLayerKeptBytes = lossLayerKeptBytes
        self.gatheredWeightBytes = gatheredWeightBytes
        self.unshardedGradientBytes = unshardedGradientBytes
    }

    /// The summary of `cost`.
    public init(_ cost: StageCost) {
        self.init(forwardSeconds: cost.forwardSeconds, backwardSeconds: cost.backwardSeconds,
                  synchronizationSeconds: cost.gradientSynchronizationSeconds, optimizerSeconds: cost.optimizerSeconds,
                  modelStateBytes: cost.modelStateBytes, activationBytesPerMicrobatch: cost.activationBytesPerMicrobatch,
                  lastMicrobatchSeconds: cost.lastMicrobatchSeconds, recomputationWorkingBytes: cost.recomputationWorkingBytes, lossBufferBytes: cost.lossBufferBytes,
                  lossLayerKeptBytes: cost.lossLayerKeptBytes, gatheredWeightBytes: cost.gatheredWeightBytes,
                  unshardedGradientBytes: cost.unshardedGradientBytes)
    }

    /// Seconds of one microbatch's forward and backward pass.
    public var microbatchSeconds: Double { forwardSeconds + backwardSeconds }

    /// The parts of the backward pass's transient bytes and when they meet.
    var transientMemory: TransientMemory {
        TransientMemory(lossBuffer: lossBufferBytes, recomputation: recomputationWorkingBytes, lossLayerKept: lossLayerKeptBytes,
                        gathered: gatheredWeightBytes, unsharded: unshardedGradientBytes)
    }
}
