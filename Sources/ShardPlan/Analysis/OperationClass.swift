/// The family an op belongs to for counting its work: ops of one class share a FLOP rule, a backward rule
/// and a rule for what they keep for the backward pass (Docs/analysis.md), and run on the same kind of
/// hardware unit (tensor cores for contractions, attention and convolutions; the vector units for the rest).
public enum OperationClass: String, CaseIterable, Sendable, Hashable {
    /// `einsum` and `matmul`.
    case contraction
    /// Fused scaled-dot-product attention (`attention`).
    case attention
    /// `conv2d`.
    case convolution
    /// Unary, binary and ternary pointwise ops, `cast`, `dropout` and `scale`.
    case elementwise
    /// Ops that couple a whole axis through row statistics: `softmax`, `log_softmax`, the norms and
    /// `cross_entropy`.
    case normalization
    /// `reduce`.
    case reduction
    /// `pool2d`.
    case pooling
    /// `embedding`: a table lookup.
    case gather
    /// Ops that only move, copy or create data: `reshape`, `transpose`, `broadcast`, `concat`, `slice`,
    /// `iota`, `constant`.
    case layout
}

extension Operator {
    /// The class whose counting rules apply to this op.
    public var operationClass: OperationClass {
        switch self {
        case .einsum, .matmul: .contraction
        case .attention: .attention
        case .conv2d: .convolution
        case .unary, .cast, .dropout, .scale, .binary, .select: .elementwise
        case .softmax, .logSoftmax, .layerNorm, .rmsNorm, .batchNorm, .crossEntropy: .normalization
        case .reduce: .reduction
        case .pool2d: .pooling
        case .embedding: .gather
        case .reshape, .transpose, .broadcast, .concat, .slice, .iota, .constant: .layout
        }
    }
}
