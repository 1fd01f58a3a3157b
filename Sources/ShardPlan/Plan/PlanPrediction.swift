/// What a plan is predicted to cost: iteration time with where it goes, throughput, utilisation, and
/// memory per device for every pipeline rank.
public struct PlanPrediction: Sendable {
    /// One pipeline rank's devices, per-microbatch times and peak memory.
    public struct Rank: Sendable {
        public var rank: Int
        public var devices: [Int]
        /// Seconds per microbatch, summed over the rank's chunks (point-to-point transfers included).
        public var forwardSeconds: Double
        public var backwardSeconds: Double
        /// Forward work rerun in the backward pass (part of `backwardSeconds`).
        public var recomputeSeconds: Double
        public var pointToPointSeconds: Double
        /// Microbatches whose activations are alive at the peak.
        public var microbatchesInFlight: Double
        public var weightBytes: Double
        public var gradientBytes: Double
        public var optimizerStateBytes: Double
        public var activationBytes: Double
        public var peakMemoryBytes: Double
        /// The peak's tensors alone, what PyTorch's `max_memory_allocated` counts: the peak without the CUDA
        /// context, the workspaces outside the caching allocator and its fragmentation
        /// (`TrainingOptions.frameworkOverheadBytes`).
        public var peakTensorBytes: Double { peakMemoryBytes - TrainingOptions.frameworkOverheadBytes }
        /// Gradient synchronisation left exposed after overlap, and the optimizer step, per iteration.
        public var exposedGradientSynchronizationSeconds: Double
        public var optimizerSeconds: Double
        /// Per-microbatch compute seconds by kernel kind and exposed communication by collective.
        public var computeSeconds: [OperatorCost.Category: Double]
        public var communicationSeconds: [CollectiveKind: Double]
    }

    public var iterationSeconds: Double
    public var samplesPerSecond: Double
    /// Model FLOPs of one iteration (3 x the forward FLOPs: forward, and a backward of twice the work).
    public var modelFLOPs: Double
    public var tflopsPerDevice: Double
    /// Model FLOP utilisation against the devices' dense bf16 peak.
    public var modelFLOPsUtilization: Double
    public var peakMemoryBytesPerDevice: Double
    public var deviceMemoryBytes: Double
    public var ranks: [Rank]
    /// Per-chunk costs, in pipeline order.
    public var stageCosts: [StageCost]
    /// Where one iteration's time goes on the slowest rank: compute by kernel kind, exposed communication by
    /// collective, the pipeline bubble, point-to-point, gradient synchronisation and the optimizer. Sums to
    /// `iterationSeconds`.
    public var timeBreakdown: [(name: String, seconds: Double)]
    /// Bytes each device sends per iteration by collective kind (gradient synchronisation included).
    public var communicationBytes: [CollectiveKind: Double]

    /// Whether every rank fits in device memory.
    public var fitsInMemory: Bool { peakMemoryBytesPerDevice <= deviceMemoryBytes }
}
