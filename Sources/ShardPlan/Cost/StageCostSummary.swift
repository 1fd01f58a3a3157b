/// The few figures of a `StageCost` that the pipeline search compares stages by: seconds per microbatch
/// forward and backward, the per-iteration gradient synchronisation and optimizer step, and the memory a
/// device holds (model state, activations per microbatch in flight, and the working set of recomputation).
/// Everything but the working set adds up over the layers of a stage whose layers interact only with their
/// neighbours (`LayerCostProfile`).
public struct StageCostSummary: Sendable, Equatable {
    public var forwardSeconds: Double
    public var backwardSeconds: Double
    /// The whole gradient synchronisation of one iteration, before any overlap.
    public var synchronizationSeconds: Double
    public var optimizerSeconds: Double
    /// Weights, gradients and optimizer state per device.
    public var modelStateBytes: Double
    public var activationBytesPerMicrobatch: Double
    public var recomputeWorkingBytes: Double

    public init(forwardSeconds: Double, backwardSeconds: Double, synchronizationSeconds: Double, optimizerSeconds: Double,
                modelStateBytes: Double, activationBytesPerMicrobatch: Double, recomputeWorkingBytes: Double) {
        self.forwardSeconds = forwardSeconds
        self.backwardSeconds = backwardSeconds
        self.synchronizationSeconds = synchronizationSeconds
        self.optimizerSeconds = optimizerSeconds
        self.modelStateBytes = modelStateBytes
        self.activationBytesPerMicrobatch = activationBytesPerMicrobatch
        self.recomputeWorkingBytes = recomputeWorkingBytes
    }

    /// The summary of `cost`.
    public init(_ cost: StageCost) {
        self.init(forwardSeconds: cost.forwardSeconds, backwardSeconds: cost.backwardSeconds,
                  synchronizationSeconds: cost.gradientSynchronizationSeconds, optimizerSeconds: cost.optimizerSeconds,
                  modelStateBytes: cost.modelStateBytes, activationBytesPerMicrobatch: cost.activationBytesPerMicrobatch,
                  recomputeWorkingBytes: cost.recomputeWorkingBytes)
    }

    /// Seconds of one microbatch's forward and backward pass.
    public var microbatchSeconds: Double { forwardSeconds + backwardSeconds }

    /// Peak bytes per device with `activations` bytes of activations alive.
    public func peakMemoryBytes(activations: Double) -> Double {
        modelStateBytes + activations + recomputeWorkingBytes + TrainingOptions.frameworkOverheadBytes
    }
}
