/// What each op class keeps from its forward pass for its backward pass, following what PyTorch autograd
/// and JAX's VJPs save and the accounting of Korthikanti et al. 2022 (arXiv:2205.05198, section 4.1).
/// Docs/analysis.md lists the rule per class.
extension OperationCost {
    /// Statistics are kept in f32 whatever the activations' type, as in Megatron-LM and Apex's fused norms.
    static let statisticBytes = DType.f32.byteSize

    /// The tensors (parameters included; the caller drops them) and the extra bytes the backward pass of
    /// `operation` reads: nothing when its result carries no gradient.
    static func savedForBackward(_ operation: Operation, in graph: Graph,
                                 gradients: GradientFlow) -> (tensors: [ValueID], auxiliaryBytes: Int) {
        guard gradients[operation.result] else { return ([], 0) }
        let inputs = operation.inputs
        let result = graph[operation.result].type
        /// Rows of a normalisation: the elements that share one statistic.
        func rows(normalizing axes: [Int]) -> Int {
            let x = graph[inputs[0]].type
            return x.elementCount / axes.reduce(1) { $0 * x.shape[$1] }
        }
        switch operation.op {
        case .einsum, .matmul, .conv2d, .binary(.mul):
            // A product's gradient for one operand multiplies the incoming gradient by the others: an
            // operand is kept when another operand needs its gradient.
            let kept = inputs.indices.filter { position in
                inputs.indices.contains { $0 != position && gradients[inputs[$0]] }
            }
            return (unique(kept.map { inputs[$0] }), 0)
        case .attention:
            // FlashAttention keeps q, k, v, the output and the softmax log-sum-exp per query and head
            // (f32), not the score matrix (Dao et al. 2022, Algorithm 2).
            let q = graph[inputs[0]].type.shape
            return (unique(inputs + [operation.result]), q[0] * q[1] * q[2] * statisticBytes)
        case .unary(let function):
            switch function {
            case .identity, .neg, .stopGradient: return ([], 0)
            default: return ([inputs[0]], 0)
            }
        case .cast, .scale, .binary(.add), .binary(.sub):
            // Linear: the gradient does not depend on the operands.
            return ([], 0)
        case .dropout:
            // The keep mask, one byte per element (Korthikanti et al. 2022, section 4.1).
            return ([], result.elementCount)
        case .binary:
            // div, max, min and pow need both operands; comparisons and logic carry no gradient.
            return (unique(inputs), 0)
        case .select:
            // The condition routes the gradient to a or b.
            return ([inputs[0]], 0)
        case .softmax, .logSoftmax:
            // dx = y * (dy - sum(dy * y)) reads the output.
            return ([operation.result], 0)
        case .layerNorm(let axes):
            return ([inputs[0]], rows(normalizing: axes) * 2 * statisticBytes)
        case .rmsNorm(let axes):
            return ([inputs[0]], rows(normalizing: axes) * statisticBytes)
        case .batchNorm(let axis):
            return ([inputs[0]], graph[inputs[0]].type.shape[axis] * 2 * statisticBytes)
        case .crossEntropy:
            // The gradient is softmax(logits) - onehot(labels), divided by the rows: the logits, the labels
            // and each row's log-sum-exp.
            return (unique(inputs), graph[inputs[1]].type.elementCount * statisticBytes)
        case .reduce(.max, _, _), .reduce(.min, _, _), .pool2d(.max, _, _, _):
            // Where the extremum was.
            return ([inputs[0]], 0)
        case .reduce, .pool2d:
            return ([], 0)
        case .embedding:
            // The ids say which rows of the table receive the gradient.
            return ([inputs[0]], 0)
        case .reshape, .transpose, .broadcast, .concat, .slice, .iota, .constant:
            return ([], 0)
        }
    }

    /// The tensor whose memory `id` occupies: a reshape is a view of its operand, not a copy.
    static func storage(of id: ValueID, in graph: Graph) -> ValueID {
        var id = id
        while let producer = graph.producer(of: id), case .reshape = producer.op { id = producer.inputs[0] }
        return id
    }

    /// The share of tensor `id`'s elements that keeping it for `reader`'s backward pass holds in memory. An
    /// elementwise op broadcasts an operand as PyTorch and NumPy do, through a view (`expand`, stride 0 along the
    /// copies, which autograd saves as it is; XLA fuses such a broadcast into its readers), so it keeps a broadcast's
    /// input; through a reshape, that reshape's operand. A contraction reads its operands whole (GShard's combine
    /// tensor, a broadcast in the graph, is a real tensor of that shape): 1, as for any other tensor. A mixture of
    /// experts' combine weights its experts' outputs by the gates broadcast over the hidden dimension: kept, that is
    /// the gates, not the hidden dimension's copies of them. The share is of the whole tensor's elements: where a
    /// reader splits a copied dimension over devices, the input it keeps is counted split too (an undercount of a
    /// tensor the copies made small).
    static func storedShare(of id: ValueID, readBy reader: Operation, in graph: Graph) -> Double {
        guard !reader.op.isContraction else { return 1 }
        var (id, share) = (id, 1.0)
        while let producer = graph.producer(of: id) {
            switch producer.op {
            case .broadcast:
                share *= Double(graph[producer.inputs[0]].type.elementCount) / Double(max(graph[id].type.elementCount, 1))
            case .reshape:
                break
            default:
                return share
            }
            id = producer.inputs[0]
        }
        return share
    }

    static func unique(_ ids: [ValueID]) -> [ValueID] {
        var seen = Set<ValueID>()
        return ids.filter { seen.insert($0).inserted }
    }
}
