/// A pointwise function of one tensor.
public enum UnaryFunction: String, CaseIterable, Sendable {
    case identity, neg, abs, exp, log, sqrt, rsqrt, square, tanh, sigmoid, relu, gelu, silu, erf
    case stopGradient = "stop_gradient"

    /// Whether the function is only defined for floating-point tensors.
    var needsFloatingPoint: Bool {
        switch self {
        case .identity, .neg, .abs, .square, .relu, .stopGradient: false
        default: true
        }
    }
}

/// A pointwise function of two tensors (with NumPy broadcasting).
public enum BinaryFunction: String, CaseIterable, Sendable {
    case add, sub, mul, div, max, min, pow, eq, ne, lt, le, gt, ge, and, or

    /// Comparisons produce booleans.
    var isComparison: Bool {
        switch self {
        case .eq, .ne, .lt, .le, .gt, .ge: true
        default: false
        }
    }

    /// Logical functions take booleans or integers.
    var isLogical: Bool { self == .and || self == .or }
}

/// How a `reduce` op combines the elements along its axes.
public enum ReductionKind: String, CaseIterable, Sendable {
    case sum, mean, max, min
}

/// How a `pool2d` op combines a window.
public enum PoolKind: String, CaseIterable, Sendable {
    case max, avg
}

/// What an op computes: one case per op of the `shardplan.graph/1` catalog, with its attributes.
///
/// Axes are stored normalised (non-negative); shapes and equations are stored as written.
public enum Operator: Sendable, Equatable {
    case einsum(EinsumEquation)
    case matmul
    case unary(UnaryFunction)
    case cast(DType)
    case dropout(rate: Double)
    case scale(factor: Double)
    case binary(BinaryFunction)
    /// `where(condition, a, b)`.
    case select
    case reduce(ReductionKind, axes: [Int], keepDimensions: Bool)
    case softmax(axis: Int)
    case logSoftmax(axis: Int)
    /// Normalises over `axes` (usually the last); inputs x, gamma, beta.
    case layerNorm(axes: [Int])
    /// Root-mean-square normalisation over `axes`; inputs x, gamma.
    case rmsNorm(axes: [Int])
    /// Normalises every channel `axis` over all other axes; inputs x, gamma, beta.
    case batchNorm(axis: Int)
    case reshape(shape: [Int])
    case transpose(permutation: [Int])
    /// Input dimension i goes to result dimension `dimensions[i]`.
    case broadcast(shape: [Int], dimensions: [Int])
    case concat(axis: Int)
    /// Elements `start ..< end` along `axis`. A slice that stands for a router's top k (the first `end` scores of each
    /// row, as the k highest) may say that the routing is group-limited (`groups`).
    case slice(axis: Int, start: Int, end: Int, groups: ExpertGroups? = nil)
    case iota(shape: [Int], dimension: Int, dtype: DType)
    /// A tensor filled with `value`.
    case constant(shape: [Int], dtype: DType, value: Double)
    /// Inputs ids (integers) and table `[vocab, hidden]`.
    case embedding
    /// Inputs logits `[..., classes]` and integer labels `[...]`; the mean loss as an f32 scalar.
    case crossEntropy
    /// Inputs q, k, v as `[batch, seq, heads, head_dim]`; k and v may have fewer heads (grouped-query).
    /// `window` (causal only) is sliding-window attention: query i reads keys j with i - window < j <= i, the
    /// most recent `window` keys, itself included (Mistral 7B, Gemma 2 and 3, Olmo 3's local layers); nil, or
    /// a window at least the key length, reads every earlier key. `sinks`: each head's softmax also normalises over a
    /// learned logit of its own that no value goes with (gpt-oss's attention sinks, `softmax_type = "learnable"` in
    /// Megatron-Core), which changes no shape and, at one scalar a head, no cost the model counts.
    case attention(causal: Bool, window: Int? = nil, sinks: Bool = false)
    /// Inputs x `[N, C, H, W]` and w `[O, C/groups, kh, kw]`.
    case conv2d(stride: [Int], padding: [Int], groups: Int)
    /// Input x `[N, C, H, W]`.
    case pool2d(PoolKind, window: [Int], stride: [Int], padding: [Int])

    /// The `op` string of this op in `shardplan.graph/1`.
    public var kindName: String {
        switch self {
        case .einsum: "einsum"
        case .matmul: "matmul"
        case .unary(let function): function.rawValue
        case .cast: "cast"
        case .dropout: "dropout"
        case .scale: "scale"
        case .binary(let function): function.rawValue
        case .select: "where"
        case .reduce: "reduce"
        case .softmax: "softmax"
        case .logSoftmax: "log_softmax"
        case .layerNorm: "layer_norm"
        case .rmsNorm: "rms_norm"
        case .batchNorm: "batch_norm"
        case .reshape: "reshape"
        case .transpose: "transpose"
        case .broadcast: "broadcast"
        case .concat: "concat"
        case .slice: "slice"
        case .iota: "iota"
        case .constant: "constant"
        case .embedding: "embedding"
        case .crossEntropy: "cross_entropy"
        case .attention: "attention"
        case .conv2d: "conv2d"
        case .pool2d: "pool2d"
        }
    }

    /// Every `op` string the catalog knows, in a stable order (for "unknown op" messages).
    public static let catalogNames: [String] = {
        var names = ["einsum", "matmul"]
        names += UnaryFunction.allCases.map(\.rawValue)
        names += ["cast", "dropout", "scale"]
        names += BinaryFunction.allCases.map(\.rawValue)
        names += ["where", "reduce", "softmax", "log_softmax", "layer_norm", "rms_norm", "batch_norm",
                  "reshape", "transpose", "broadcast", "concat", "slice", "iota", "constant",
                  "embedding", "cross_entropy", "attention", "conv2d", "pool2d"]
        return names
    }()

    /// Whether the op computes each result element from the elements at the same position of its operands.
    public var isElementwise: Bool {
        switch self {
        case .unary, .cast, .dropout, .scale, .binary, .select: true
        default: false
        }
    }

    /// Whether the op is a contraction (an einsum or a matmul): the ops that run on tensor cores.
    public var isContraction: Bool {
        switch self {
        case .einsum, .matmul: true
        default: false
        }
    }
}
