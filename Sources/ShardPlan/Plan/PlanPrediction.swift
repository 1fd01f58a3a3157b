/// What a plan is predicted to cost: iteration time with where it goes, throughput, utilisation, and
/// memory per device for every pipeline rank.
public struct PlanPrediction: Sendable, Equatable {
    /// One pipeline rank's devices, per-microbatch times and peak memory.
    public struct Rank: Sendable, Equatable {
        /// The rank's place in the pipeline, from 0.
        public var rank: Int
        /// The ids of the devices that run the rank's chunks.
        public var devices: [Int]
        /// Seconds per microbatch, summed over the rank's chunks (point-to-point transfers included).
        public var forwardSeconds: Double
        /// Seconds per microbatch of the backward pass, recomputation included.
        public var backwardSeconds: Double
        /// Forward work rerun in the backward pass (part of `backwardSeconds`).
        public var recomputeSeconds: Double
        /// Seconds per microbatch sending activations to the next rank and gradients back.
        public var pointToPointSeconds: Double
        /// Microbatches whose activations are alive at the peak.
        public var microbatchesInFlight: Double
        /// Bytes per device of weights, the weights ZeRO-3 gathers included.
        public var weightBytes: Double
        /// Bytes per device of gradients.
        public var gradientBytes: Double
        /// Bytes per device of optimizer state.
        public var optimizerStateBytes: Double
        /// Bytes per device of activations alive at the peak, the backward pass's working set included.
        public var activationBytes: Double
        /// Bytes per device at the peak: the above and `TrainingOptions.frameworkOverheadBytes`.
        public var peakMemoryBytes: Double
        /// The peak's tensors alone, what PyTorch's `max_memory_allocated` counts: the peak without the CUDA
        /// context, the workspaces outside the caching allocator and its fragmentation
        /// (`TrainingOptions.frameworkOverheadBytes`).
        public var peakTensorBytes: Double { peakMemoryBytes - TrainingOptions.frameworkOverheadBytes }
        /// Gradient synchronisation left exposed after overlap, and the optimizer step, per iteration.
        public var exposedGradientSynchronizationSeconds: Double
        /// Seconds of the optimizer step, per iteration.
        public var optimizerSeconds: Double
        /// Per-microbatch compute seconds by kernel kind and exposed communication by collective.
        public var computeSeconds: [OperatorCost.Category: Double]
        /// Per-microbatch exposed communication seconds by collective.
        public var communicationSeconds: [CollectiveKind: Double]
    }

    /// Seconds of one training iteration: the pipeline over every microbatch of the global batch, then the
    /// longest of the ranks' exposed gradient synchronisation and optimizer step.
    public var iterationSeconds: Double
    /// Samples of the global batch trained per second: the batch over `iterationSeconds`.
    public var samplesPerSecond: Double
    /// Model FLOPs of one iteration (3 x the forward FLOPs: forward, and a backward of twice the work).
    public var modelFLOPs: Double
    /// Model TFLOP/s each device reaches: `modelFLOPs` over the iteration and the plan's devices.
    public var tflopsPerDevice: Double
    /// Model FLOP utilisation against the devices' dense bf16 peak.
    public var modelFLOPsUtilization: Double
    /// The utilisation with causal attention counted as the half a causal kernel computes (a sliding window as its
    /// band: `GraphAnalysis.causalHalvedTrainingFLOPs`), where that takes 5% or more off the model FLOPs, as at long
    /// sequences; nil otherwise.
    public var causalHalvedUtilization: Double?
    /// The highest of the ranks' peak memory, bytes per device.
    public var peakMemoryBytesPerDevice: Double
    /// The memory a device has, bytes.
    public var deviceMemoryBytes: Double
    /// One entry per pipeline rank, in pipeline order.
    public var ranks: [Rank]
    /// Per-chunk costs, in pipeline order.
    public var stageCosts: [StageCost]
    /// One part of `timeBreakdown`: what the time goes to ("compute: matmul", "pipeline bubble") and its seconds.
    public struct TimeShare: Sendable, Equatable {
        /// What the time goes to, as the report prints it.
        public var name: String
        /// Seconds of one iteration.
        public var seconds: Double

        public init(name: String, seconds: Double) {
            self.name = name
            self.seconds = seconds
        }
    }

    /// Where one iteration's time goes on the slowest rank: compute by kernel kind, exposed communication by
    /// collective, the pipeline bubble, point-to-point, gradient synchronisation and the optimizer. Sums to
    /// `iterationSeconds`.
    public var timeBreakdown: [TimeShare]
    /// Bytes each device sends per iteration by collective kind (gradient synchronisation included).
    public var communicationBytes: [CollectiveKind: Double]

    /// Whether every rank fits in device memory.
    public var fitsInMemory: Bool { peakMemoryBytesPerDevice <= deviceMemoryBytes }
}
