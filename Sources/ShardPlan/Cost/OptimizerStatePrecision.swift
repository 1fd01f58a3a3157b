/// What Adam keeps per parameter between steps, where the master copy of the weights lives, and so what its step
/// reads and writes (Docs/cost-model.md, "Optimizer state").
public enum OptimizerStatePrecision: String, CaseIterable, Sendable {
    /// fp32 master weights and fp32 moments (12 bytes a parameter) beside the 16-bit weights the passes use:
    /// Megatron-LM's mixed-precision optimizer, Apex's and DeepSpeed's.
    case fp32
    /// No master copy: Adam updates the bf16 weights themselves and keeps its two moments in bf16 (4 bytes a
    /// parameter), as `torch.optim.Adam` does on a model cast to bf16 (NeMo AutoModel's recipes, whose
    /// `initialize_weights` casts the sharded model to bf16 before the optimizer is built).
    case bf16
    /// The weights themselves are fp32 and are Adam's master copy; the passes cast them to 16 bits as they use
    /// them (PyTorch autocast over an fp32 model, FSDP's `MixedPrecision` and FSDP2's `MixedPrecisionPolicy`,
    /// which gather 16-bit copies of fp32 shards: torchtitan, llm-foundry). Adam keeps two fp32 moments
    /// (8 bytes) beside 4-byte weights: 16 bytes a parameter with fp32 gradients, where `fp32` counts 18.
    case fp32Weights = "fp32-weights"

    /// Bytes of the stored weights per parameter (sharded by ZeRO-3).
    public var weightBytesPerElement: Double {
        switch self {
        case .fp32, .bf16: 2
        case .fp32Weights: 4
        }
    }

    /// Bytes of optimizer state per parameter.
    public var stateBytesPerElement: Double {
        switch self {
        case .fp32: 12
        case .bf16: 4
        case .fp32Weights: 8
        }
    }

    /// The passes of the step over the gradients: the norm for clipping and Adam's read, and with Megatron's
    /// mixed-precision optimizer (`fp32`) the reset of its contiguous gradient buffer (`zero_grad_buffer`).
    /// PyTorch's optimizers (`fp32Weights`, `bf16`) free the gradients instead (`zero_grad(set_to_none=True)`, the
    /// default since PyTorch 2.0, as torchtitan, Composer and FSDP call it): no pass.
    public var gradientPassesOfStep: Double {
        switch self {
        case .fp32: 3
        case .bf16, .fp32Weights: 2
        }
    }

    /// Kernel launches of the step per tensor it updates: each pass is a multi-tensor kernel (PyTorch's
    /// `_foreach`/fused Adam and Apex's `FusedAdam` through `multi_tensor_apply`, up to 36 tensors a launch at
    /// Adam's four lists, `depth_to_max_tensors`), so a pass over n tensors launches about n / 36 kernels. Passes:
    /// the norm, Adam, and with `fp32` the copy to 16 bits and the reset (Docs/cost-model.md, "Schedule and
    /// iteration").
    public var stepLaunchesPerTensor: Double {
        switch self {
        case .fp32: 4.0 / 36
        case .bf16, .fp32Weights: 2.0 / 36
        }
    }

    /// Bytes the step moves per parameter besides the gradient's passes (`gradientPassesOfStep`):
    /// with fp32 state, the fused Adam kernel reads the master weight and both moments and writes all three
    /// (24), and the master weight is copied to the 16-bit weight (4 + 2); with fp32 weights, Adam reads and
    /// writes the weight and both moments in place (24, no copy); with bf16 state, Adam reads and writes the
    /// weight and both moments in bf16 (12).
    public var stepBytesPerElement: Double {
        switch self {
        case .fp32: 30
        case .bf16: 12
        case .fp32Weights: 24
        }
    }
}
