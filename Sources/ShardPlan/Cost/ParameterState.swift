/// The training state one device holds for one parameter tensor under mixed-precision Adam and ZeRO:
/// 16-bit weights, fp32 gradients and fp32 Adam state (`TrainingOptions`' bytes per parameter), with
/// ZeRO-1 sharding the optimizer state, ZeRO-2 also the gradients and ZeRO-3 also the weights over the
/// `dataParallel` devices along which the parameter's gradient is reduced.
public struct ParameterState: Sendable, Equatable {
    public var weightBytes: Double
    public var gradientBytes: Double
    public var optimizerStateBytes: Double
    /// Bytes the fused Adam step moves on this device.
    public var optimizerStepBytes: Double
    /// Bytes each microbatch's backward pass moves to add this parameter's gradient into the fp32 gradient
    /// buffer: the whole local tensor up to ZeRO-2, which reduce gradients once per iteration; ZeRO-3
    /// reduce-scatters every microbatch and adds only its shard (PyTorch FSDP, DeepSpeed ZeRO-3).
    public var gradientAccumulationBytes: Double

    /// The state of `elements` parameter elements (this device's share before ZeRO).
    public init(elements: Double, dataParallel: Double, zeroStage: Int) {
        let shard = max(dataParallel, 1)
        weightBytes = elements * TrainingOptions.weightBytes / (zeroStage >= 3 ? shard : 1)
        gradientBytes = elements * TrainingOptions.gradientBytes / (zeroStage >= 2 ? shard : 1)
        optimizerStateBytes = elements * TrainingOptions.optimizerStateBytes / (zeroStage >= 1 ? shard : 1)
        optimizerStepBytes = elements * TrainingOptions.optimizerStepBytes / (zeroStage >= 1 ? shard : 1)
        gradientAccumulationBytes = elements * TrainingOptions.gradientAccumulationBytes / (zeroStage >= 3 ? shard : 1)
    }

    public var totalBytes: Double { weightBytes + gradientBytes + optimizerStateBytes }
}
