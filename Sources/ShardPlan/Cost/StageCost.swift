/// What one pipeline stage costs on each of its devices: times per microbatch (forward and backward,
/// split into compute by kernel kind and exposed communication by collective), per-iteration work
/// (gradient synchronisation, optimizer step), and memory.
public struct StageCost: Sendable, Equatable {
    /// Compute seconds per microbatch by kernel kind, forward and backward (recomputation included).
    public var computeSeconds: [OperatorCost.Category: Double] = [:]
    public var forwardComputeSeconds = 0.0
    public var backwardComputeSeconds = 0.0
    /// Forward work rerun in the backward pass, per microbatch (part of `backwardComputeSeconds`).
    public var recomputeSeconds = 0.0
    /// Exposed communication seconds per microbatch by collective kind (forward plus backward).
    public var communicationSeconds: [CollectiveKind: Double] = [:]
    public var forwardCommunicationSeconds = 0.0
    public var backwardCommunicationSeconds = 0.0
    /// Bytes each device moves per microbatch, by collective kind (buffer sizes, as `Collective.bytes`).
    public var communicationBytes: [CollectiveKind: Double] = [:]
    /// The same bytes per microbatch, by the mesh axes each collective runs along (sorted axis indices).
    public var communicationBytesByAxes: [[Int]: [CollectiveKind: Double]] = [:]
    /// Per iteration: the data-parallel gradient synchronisation (full, before overlap) and its collectives.
    public var gradientSynchronizationSeconds = 0.0
    /// Exposed seconds only the last microbatch pays, once an iteration: the reduce-scatters of gradients ZeRO-3
    /// accumulated unsharded (`TrainingOptions.accumulatesUnshardedGradients`), beyond what that microbatch's
    /// compute hides.
    public var lastMicrobatchSeconds = 0.0
    public var gradientSynchronizationBytes: [CollectiveKind: Double] = [:]
    public var gradientSynchronizationBytesByAxes: [[Int]: [CollectiveKind: Double]] = [:]
    /// Per iteration: the optimizer step.
    public var optimizerSeconds = 0.0
    /// Model FLOPs per microbatch on one device (forward; the backward is twice that for contractions).
    public var forwardFLOPs = 0.0
    /// Memory per device, in bytes.
    public var weightBytes = 0.0
    public var gradientBytes = 0.0
    public var optimizerStateBytes = 0.0
    /// Activations one microbatch keeps for the backward pass.
    public var activationBytesPerMicrobatch = 0.0
    /// Extra bytes alive for part of a pass only: the activations of one layer while it is recomputed (full or op-level
    /// recomputation) or the inputs and result of an op no gradient passes through while it runs (a frozen stage's
    /// forward working set), or the loss's gradient buffers (`CrossEntropyMemory`), whichever is larger.
    /// With a loss: `max(lossBufferBytes, recomputationWorkingBytes - lossLayerKeptBytes)`, since the loss's layer
    /// frees what one microbatch kept before any layer is recomputed (`TransientMemory.backwardWorkingBytes`).
    public var backwardWorkingBytes = 0.0
    /// Its parts, which a stage composed of layers composes (`LayerCostProfile`): the largest layer's recomputation
    /// working set (or forward working set of ops no gradient passes through); the loss's gradient buffers (with its layer's activations where that layer is recomputed); and
    /// what the loss's layer keeps of one microbatch (0 without a loss).
    public var recomputationWorkingBytes = 0.0
    public var lossBufferBytes = 0.0
    public var lossLayerKeptBytes = 0.0
    /// ZeRO-3 weights gathered at once: two layers' (one computing, the next prefetched).
    public var gatheredWeightBytes = 0.0
    /// ZeRO-3 gradients unsharded at once: one layer's, awaiting their reduce-scatter (`TransientMemory` says what
    /// they meet).
    public var unshardedGradientBytes = 0.0

    /// Seconds of one microbatch's forward pass on this stage.
    public var forwardSeconds: Double { forwardComputeSeconds + forwardCommunicationSeconds }
    /// Seconds of one microbatch's backward pass on this stage.
    public var backwardSeconds: Double { backwardComputeSeconds + backwardCommunicationSeconds }

    /// Weights, gradients and optimizer state.
    public var modelStateBytes: Double { weightBytes + gradientBytes + optimizerStateBytes }

    /// The parts of the backward pass's transient bytes and when they meet.
    var transientMemory: TransientMemory {
        TransientMemory(lossBuffer: lossBufferBytes, recomputation: recomputationWorkingBytes, lossLayerKept: lossLayerKeptBytes,
                        gathered: gatheredWeightBytes, unsharded: unshardedGradientBytes)
    }

    /// Peak bytes per device with `inFlight` microbatches' activations alive.
    public func peakMemoryBytes(inFlight: Double) -> Double {
        modelStateBytes + activationBytesPerMicrobatch * inFlight + transientMemory.bytes + TrainingOptions.frameworkOverheadBytes
    }
}
