/// What the backward pass of one op needs kept from the forward pass.
///
/// One rule per op class (Docs/cost-model.md, "Activation memory"): contractions keep their non-parameter
/// operands, nonlinearities their input, softmax its output, dropout a one-byte mask, fused attention its
/// inputs, output and per-row log-sum-exp, cross-entropy its fp32 probabilities. Linear ops (adds, casts,
/// reshapes, reductions by sum) keep nothing.
public struct SavedActivations: Sendable, Equatable {
    /// Tensors kept whole (in their own dtype): operands or the result of the op.
    public var tensors: [ValueID]
    /// Extra bytes kept, as a multiple of the result's (or for masks, the first operand's) element count.
    public var bytesPerElement: Double
    /// Which tensor `bytesPerElement` is counted against.
    public var extraFollows: ValueID?

    public init(_ operation: Operation, in graph: Graph) {
        let activations = operation.inputs.filter { !graph[$0].isParameter }
        tensors = []
        bytesPerElement = 0
        extraFollows = nil
        switch operation.op {
        case .einsum, .matmul, .conv2d:
            tensors = activations
        case .unary(let function):
            switch function {
            case .identity, .neg, .stopGradient: break
            case .relu: bytesPerElement = 1; extraFollows = operation.result
            case .exp, .sigmoid, .tanh: tensors = [operation.result]
            default: tensors = activations
            }
        case .cast, .scale: break
        case .dropout:
            bytesPerElement = 1
            extraFollows = operation.result
        case .binary(let function):
            switch function {
            case .add, .sub, .eq, .ne, .lt, .le, .gt, .ge, .and, .or: break
            case .mul, .div, .pow, .max, .min: tensors = activations
            }
        case .select: tensors = [operation.inputs[0]]
        case .reduce(let kind, _, _): if kind == .max || kind == .min { tensors = activations }
        case .softmax, .logSoftmax: tensors = [operation.result]
        case .layerNorm, .rmsNorm, .batchNorm:
            tensors = [operation.inputs[0]]
        case .embedding: tensors = [operation.inputs[0]]
        case .crossEntropy:
            // Megatron's vocabulary-parallel cross-entropy keeps the fp32 softmax of the logits.
            bytesPerElement = 4
            extraFollows = operation.inputs[0]
        case .attention:
            tensors = activations + [operation.result]
        case .pool2d(let kind, _, _, _): if kind == .max { tensors = activations }
        case .reshape, .transpose, .broadcast, .concat, .slice, .iota, .constant: break
        }
    }
}
