/// How activations are rematerialised in the backward pass.
public enum RecomputeMode: String, CaseIterable, Sendable {
    /// Keep every activation the backward pass needs.
    case none
    /// Drop the tensors quadratic in the sequence (the attention core) and recompute them (Korthikanti et al. 2022).
    case selective
    /// Keep only each layer's input and rerun the layer's forward pass in the backward pass.
    case full
}

/// Training-stack choices that change time and memory but not the sharding of ops: mixed-precision Adam's
/// bytes per parameter, ZeRO, recomputation, and which communication overlaps computation.
public struct TrainingOptions: Sendable, Equatable {
    public var recompute: RecomputeMode
    /// ZeRO stage: 1 shards optimizer state over the data-parallel devices, 2 also gradients, 3 also weights.
    public var zeroStage: Int
    /// Whether the data-parallel gradient reduction overlaps the backward pass (Megatron-Core's
    /// `--overlap-grad-reduce`, PyTorch DDP buckets).
    public var overlapGradientReduction: Bool
    /// Whether tensor-parallel collectives overlap the GEMMs around them (`--tp-comm-overlap`).
    public var overlapTensorParallelCommunication: Bool

    public init(recompute: RecomputeMode = .none, zeroStage: Int = 0, overlapGradientReduction: Bool = false,
                overlapTensorParallelCommunication: Bool = false) {
        self.recompute = recompute
        self.zeroStage = zeroStage
        self.overlapGradientReduction = overlapGradientReduction
        self.overlapTensorParallelCommunication = overlapTensorParallelCommunication
    }

    /// Bytes per parameter of the 16-bit weights used in forward and backward.
    public static let weightBytes = 2.0
    /// Bytes per parameter of the gradients, accumulated in fp32 (Megatron's `main_grad`).
    public static let gradientBytes = 4.0
    /// Bytes per parameter of Adam's state: fp32 master weights, first and second moments.
    public static let optimizerStateBytes = 12.0
    /// Bytes a fused Adam step moves per parameter: reads master weight, gradient and both moments (16),
    /// writes master weight and moments (12) and the 16-bit weight (2), plus the gradient-norm read and the
    /// gradient reset (8).
    public static let optimizerStepBytes = 38.0
    /// Memory a training process holds besides tensors: CUDA context, cuBLAS and NCCL workspaces and
    /// allocator fragmentation (Docs/cost-model.md).
    public static let frameworkOverheadBytes = 3.0e9
    /// The fraction of a tensor-parallel collective hidden behind GEMMs when overlap is on
    /// (Docs/cost-model.md).
    public static let tensorParallelOverlapFraction = 0.6
}
