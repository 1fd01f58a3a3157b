/// The best way a stage cost oracle found to run a range of layers on a submesh: what the stage DP needs to
/// compare it with others, and an opaque `payload` (the strategies, a handle into the oracle's own tables) that
/// the caller gets back with the chosen plan. Times are seconds, memory bytes per device.
public struct StageCandidate<Payload: Sendable>: Sendable {
    /// Forward plus backward seconds of one microbatch on the stage.
    public var microbatchSeconds: Double
    /// Seconds the stage adds once per iteration after its last backward: the gradient synchronisation left
    /// exposed and the optimizer step.
    public var iterationSeconds: Double
    /// Peak bytes per device with the in-flight microbatches the oracle was asked about.
    public var peakMemoryBytes: Double
    /// Bytes per device the peak grows by for each further microbatch in flight: the activations one
    /// microbatch keeps for the backward pass.
    public var activationBytesPerMicrobatch: Double
    public var payload: Payload
    /// The least time per microbatch, and the least per-iteration tail, of any way to run the stage whose memory
    /// apart from the activations in flight fits: the best a question with fewer bytes in flight (a higher
    /// microbatch count) could get. Equal to the stage's own figures unless memory made the choice.
    public var leastMicrobatchSeconds: Double
    public var leastIterationSeconds: Double

    public init(microbatchSeconds: Double, iterationSeconds: Double, peakMemoryBytes: Double,
                activationBytesPerMicrobatch: Double, payload: Payload,
                leastMicrobatchSeconds: Double? = nil, leastIterationSeconds: Double? = nil) {
        precondition(microbatchSeconds >= 0 && microbatchSeconds.isFinite, "a stage takes a finite time, not \(microbatchSeconds) s")
        precondition(iterationSeconds >= 0 && iterationSeconds.isFinite, "a stage's per-iteration work takes a finite time")
        self.microbatchSeconds = microbatchSeconds
        self.iterationSeconds = iterationSeconds
        self.peakMemoryBytes = peakMemoryBytes
        self.activationBytesPerMicrobatch = activationBytesPerMicrobatch
        self.payload = payload
        self.leastMicrobatchSeconds = min(leastMicrobatchSeconds ?? microbatchSeconds, microbatchSeconds)
        self.leastIterationSeconds = min(leastIterationSeconds ?? iterationSeconds, iterationSeconds)
    }
}

extension StageCandidate: Equatable where Payload: Equatable {}

extension StageCandidate {
    /// Peak bytes per device when `more` further microbatches are in flight than the oracle was asked about.
    public func peakMemoryBytes(withMore more: Int) -> Double {
        peakMemoryBytes + activationBytesPerMicrobatch * Double(more)
    }
}
