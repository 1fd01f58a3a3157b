/// The training state one device holds for one parameter tensor under mixed-precision Adam and ZeRO:
/// 16-bit weights, gradients in the buffer's type (`GradientPrecision`, fp32 unless told) and fp32 Adam state
/// (`TrainingOptions`' bytes per parameter), with
/// ZeRO-1 sharding the optimizer state, ZeRO-2 also the gradients and ZeRO-3 also the weights over the
/// `dataParallel` devices along which the parameter's gradient is reduced.
public struct ParameterState: Sendable, Equatable {
    public var weightBytes: Double
    public var gradientBytes: Double
    public var optimizerStateBytes: Double
    /// Bytes the fused Adam step moves on this device.
    public var optimizerStepBytes: Double
    /// Bytes each microbatch's backward pass moves to add this parameter's gradient into the fp32 gradient
    /// buffer: the whole local tensor up to ZeRO-1, which reduce gradients once per iteration; ZeRO-2 and 3
    /// reduce-scatter every microbatch and add only their shard (DeepSpeed ZeRO-2 and 3, PyTorch FSDP).
    public var gradientAccumulationBytes: Double

    /// The state of `elements` parameter elements (this device's share before ZeRO), with gradients of
    /// `gradientPrecision`.
    public init(elements: Double, dataParallel: Double, zeroStage: Int, gradientPrecision: GradientPrecision = .fp32) {
        let shard = max(dataParallel, 1)
        // A 16-bit buffer halves what the gradients take and what touching them moves: the accumulation's read
        // and write, and the optimizer step's three passes over them (norm, Adam, reset).
        let saved = TrainingOptions.gradientBytes - gradientPrecision.bytesPerElement
        weightBytes = elements * TrainingOptions.weightBytes / (zeroStage >= 3 ? shard : 1)
        gradientBytes = elements * gradientPrecision.bytesPerElement / (zeroStage >= 2 ? shard : 1)
        optimizerStateBytes = elements * TrainingOptions.optimizerStateBytes / (zeroStage >= 1 ? shard : 1)
        optimizerStepBytes = elements * (TrainingOptions.optimizerStepBytes - 3 * saved) / (zeroStage >= 1 ? shard : 1)
        gradientAccumulationBytes = elements * (TrainingOptions.gradientAccumulationBytes - 2 * saved) / (zeroStage >= 2 ? shard : 1)
    }

    public var totalBytes: Double { weightBytes + gradientBytes + optimizerStateBytes }
}
