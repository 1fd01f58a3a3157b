/// The training state one device holds for one parameter tensor under mixed-precision Adam and ZeRO:
/// weights (16-bit, or fp32 where they are the master copy), gradients in the buffer's type (`GradientPrecision`, fp32 unless told) and Adam state
/// (`OptimizerStatePrecision`: fp32 master weights and moments unless told), with
/// ZeRO-1 sharding the optimizer state, ZeRO-2 also the gradients and ZeRO-3 also the weights over the
/// `dataParallel` devices along which the parameter's gradient is reduced. Over fp32 weights that are the master
/// copy, ZeRO-2 is PyTorch FSDP's `SHARD_GRAD_OP` (torchtitan's `fsdp_reshard_after_forward = "never"`): the fp32
/// weights are sharded too, and the 16-bit copy gathered before the forward pass stays, whole, until the
/// backward pass has read it (`keepsGatheredCopy`). The weight of a linear layer kept in FP8
/// (`TrainingOptions.fp8Parameters`) is 1 byte a parameter where the 16-bit copy was 2, beside the same master copy
/// (Docs/cost-model.md, "FP8 parameters"). A frozen parameter (`trainable: false`, `Value.isFrozen`) holds its weight
/// alone, laid out and sharded as a trainable one's: no gradient, no optimizer state, no step and no accumulation.
public struct ParameterState: Sendable, Equatable {
    public var weightBytes: Double
    public var gradientBytes: Double
    public var optimizerStateBytes: Double
    /// Bytes the fused Adam step moves on this device.
    public var optimizerStepBytes: Double
    /// This tensor's share of the step's kernel launches (`OptimizerStatePrecision.stepLaunchesPerTensor`).
    public var optimizerStepLaunches: Double
    /// Bytes each microbatch's backward pass moves to add this parameter's gradient into the gradient buffer
    /// (read and write the sum: Megatron's `main_grad`, accumulated in the weight-gradient GEMM's epilogue with
    /// gradient-accumulation fusion, or by a hook after it without): the whole local tensor up to ZeRO-1, which reduce gradients once per iteration; ZeRO-2 and 3
    /// reduce-scatter every microbatch and add only their shard (DeepSpeed ZeRO-2 and 3, PyTorch FSDP), unless ZeRO-3
    /// accumulates its gradients unsharded (`unshardedGradients`, FSDP's `no_sync`), which adds the whole local tensor.
    public var gradientAccumulationBytes: Double

    /// The state of `elements` parameter elements (this device's share before ZeRO), with gradients of
    /// `gradientPrecision` and Adam state of `optimizerState`; `fp8Weight`: the weight of an FP8 linear layer kept in
    /// FP8; `unshardedGradientBytes`: ZeRO-3 keeps the whole local gradient through the microbatches, in elements of
    /// this many bytes (`TrainingOptions.accumulatesUnshardedGradients`), sharded only for the optimizer step;
    /// `trainable`: false for a frozen parameter.
    public init(elements: Double, dataParallel: Double, zeroStage: Int, gradientPrecision: GradientPrecision = .fp32,
                optimizerState: OptimizerStatePrecision = .fp32, fp8Weight: Bool = false, unshardedGradientBytes: Double? = nil,
                trainable: Bool = true) {
        let shard = max(dataParallel, 1)
        // The gradients' bytes set what the accumulation's read and write move, and the optimizer step's passes
        // over them (norm, Adam, and Megatron's reset).
        let gradient = gradientPrecision.bytesPerElement
        // With fp32 master weights (`fp32`) the FP8 weight replaces the 16-bit one; where the fp32 weights are the
        // master (`fp32Weights`) they stay, and only the gathered copy is FP8.
        let storedWeight = fp8Weight && optimizerState == .fp32 ? Self.fp8WeightBytesPerElement : optimizerState.weightBytesPerElement
        weightBytes = elements * storedWeight / (zeroStage >= 3 ? shard : 1)
        if Self.keepsGatheredCopy(zeroStage: zeroStage, dataParallel: dataParallel, optimizerState: optimizerState) {
            weightBytes = elements * (storedWeight / shard + (fp8Weight ? Self.fp8WeightBytesPerElement : 2))
        }
        // Over one device there is nothing to reduce-scatter: the gradients stay in the buffer's type.
        let unsharded = zeroStage >= 3 && shard > 1 ? unshardedGradientBytes : nil
        gradientBytes = unsharded.map { elements * $0 } ?? elements * gradient / (zeroStage >= 2 ? shard : 1)
        optimizerStateBytes = elements * optimizerState.stateBytesPerElement / (zeroStage >= 1 ? shard : 1)
        // TransformerEngine's optimizer step casts the updated master weight straight to FP8: it writes 1 byte an
        // element where the copy to 16 bits wrote 2.
        let step = optimizerState.stepBytesPerElement - (fp8Weight && optimizerState == .fp32 ? 2 - Self.fp8WeightBytesPerElement : 0)
        optimizerStepBytes = elements * (step + optimizerState.gradientPassesOfStep * gradient)
            / (zeroStage >= 1 ? shard : 1)
        optimizerStepLaunches = optimizerState.stepLaunchesPerTensor
        gradientAccumulationBytes = unsharded.map { elements * 2 * $0 } ?? elements * 2 * gradient / (zeroStage >= 2 ? shard : 1)
        if !trainable {
            (gradientBytes, optimizerStateBytes, optimizerStepBytes, optimizerStepLaunches, gradientAccumulationBytes) = (0, 0, 0, 0, 0)
        }
    }

    /// The state under `options`' gradient buffer and optimizer state; `fp8Weight`: the weight of a linear layer
    /// that runs in FP8 while `options` keep such weights in FP8; `microbatches`: how many an iteration runs, which
    /// decides whether `options.accumulatesUnshardedGradients` keeps gradients unsharded (with one there is nothing
    /// to accumulate; nil: a bound that assumes they are sharded). FSDP2 accumulates them in its `reduce_dtype`: fp32
    /// with `reduceGradientsInFP32`, else the 16-bit weights' type. `trainable`: false for a frozen parameter.
    public init(elements: Double, dataParallel: Double, zeroStage: Int, options: TrainingOptions, fp8Weight: Bool = false,
                microbatches: Int? = nil, trainable: Bool = true) {
        self.init(elements: elements, dataParallel: dataParallel, zeroStage: zeroStage,
                  gradientPrecision: options.gradientPrecision, optimizerState: options.optimizerState,
                  fp8Weight: fp8Weight && options.fp8Parameters,
                  unshardedGradientBytes: options.accumulatesUnshardedGradients(over: microbatches ?? 1)
                    ? (options.reduceGradientsInFP32 ? 4 : 2) : nil,
                  trainable: trainable)
    }

    /// The least bytes a device can hold of `elements` parameter elements, `frozenElements` of them frozen, spread
    /// over `devices` devices: every weight sharded by ZeRO-3 and counted as an FP8 one where `options` keep FP8
    /// weights (a bound the searches prune with).
    public static func leastBytes(elements: Double, frozenElements: Double, devices: Int, options: TrainingOptions) -> Double {
        let trainable = ParameterState(elements: elements - frozenElements, dataParallel: Double(devices), zeroStage: 3,
                                       options: options, fp8Weight: true)
        let frozen = ParameterState(elements: frozenElements, dataParallel: Double(devices), zeroStage: 3,
                                    options: options, fp8Weight: true, trainable: false)
        return trainable.totalBytes + frozen.totalBytes
    }

    /// Bytes of a weight kept in FP8, per element (E4M3; its per-tensor scale is not counted).
    public static let fp8WeightBytesPerElement = 1.0

    public var totalBytes: Double { weightBytes + gradientBytes + optimizerStateBytes }

    /// Seconds of this tensor's part of the optimizer step on `kernels`: its bytes streamed and its share of the
    /// multi-tensor launches.
    public func optimizerStepSeconds(on kernels: KernelModel) -> Double {
        kernels.streamSeconds(bytes: optimizerStepBytes) + optimizerStepLaunches * kernels.launchSeconds
    }

    /// Whether the weights are fp32 shards gathered into a 16-bit copy kept through the step (FSDP's
    /// `SHARD_GRAD_OP` under ZeRO-2), which is then the copy every product reads: autocast casts nothing more.
    public static func keepsGatheredCopy(zeroStage: Int, dataParallel: Double, optimizerState: OptimizerStatePrecision) -> Bool {
        zeroStage == 2 && dataParallel > 1 && optimizerState == .fp32Weights
    }
}
