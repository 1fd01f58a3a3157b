/// The FLOP rules, one per op class. A fused multiply-add is 2 FLOPs (the convention of the Megatron-LM
/// papers); an exponential, logarithm, square root, hyperbolic tangent or error function is 1, as the
/// usual counters (fvcore, DeepSpeed's profiler) take them. Docs/analysis.md justifies each constant.
extension OperationCost {
    /// FLOPs per element of a pointwise function (`gelu` is the tanh approximation used by GPT-2 and
    /// Megatron-LM: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), 9 operations; `sigmoid` is
    /// 1 / (1 + exp(-x)), 4; `silu` is x sigmoid(x), 5). Copies and conversions do no arithmetic.
    static func flopsPerElement(_ function: UnaryFunction) -> Double {
        switch function {
        case .identity, .stopGradient: 0
        case .neg, .abs, .exp, .log, .sqrt, .rsqrt, .square, .tanh, .relu, .erf: 1
        case .sigmoid: 4
        case .silu: 5
        case .gelu: 9
        }
    }

    /// The model FLOPs of one training iteration of `graph`, as MFU and TFLOP/s per device count them: three
    /// forward passes (`modelForwardFLOPs`: the backward pass as twice the forward, the convention of Narayanan et
    /// al. 2021 and PaLM's MFU), less, op by op, the share of that backward pass frozen parameters save: an op's
    /// backward FLOPs with the graph's frozen parameters against those with every parameter trained, as the analysis
    /// counts them (a frozen product's weight gradient is half its backward pass; an op only frozen weights feed
    /// saves it all). Exactly three forward passes where nothing is frozen.
    static func modelTrainingFLOPs(of graph: Graph) -> Double {
        let forward = 3 * modelForwardFLOPs(of: graph)
        guard !graph.frozenParameters.isEmpty else { return forward }
        let (trained, all) = (GradientFlow(graph), GradientFlow(graph, trainingFrozen: true))
        let saved = graph.operations.reduce(0.0) { total, operation in
            let ownForward = forwardFLOPs(operation, in: graph)
            func backward(_ gradients: GradientFlow) -> Double {
                gradients[operation.result] ? backwardFLOPs(operation, forward: ownForward, in: graph, gradients: gradients) : 0
            }
            let untrained = backward(all)
            guard untrained > 0 else { return total }
            let model = modelFLOPs(forward: ownForward, bandForward: ownForward * bandShare(operation, in: graph))
            return total + 2 * model * (1 - backward(trained) / untrained)
        }
        return forward - saved
    }

    /// The model FLOPs of one forward pass of `graph`, as MFU counts them: `GraphAnalysis.modelForwardFLOPs`
    /// without the rest of the analysis.
    static func modelForwardFLOPs(of graph: Graph) -> Double {
        graph.operations.reduce(0) { total, operation in
            let forward = forwardFLOPs(operation, in: graph)
            return total + modelFLOPs(forward: forward, bandForward: forward * bandShare(operation, in: graph))
        }
    }

    /// The forward FLOPs that counting causal attention as the half a causal kernel computes, and a sliding window as
    /// its band, takes off `modelForwardFLOPs`: each causal attention op's model count less what its kernel computes.
    static func causalAttentionSavingFLOPs(of graph: Graph) -> Double {
        graph.operations.reduce(0) { total, operation in
            guard case .attention(causal: true, _, _) = operation.op else { return total }
            let forward = forwardFLOPs(operation, in: graph)
            let band = forward * bandShare(operation, in: graph)
            let computed = window(operation, in: graph) != nil ? band : forward / 2
            return total + modelFLOPs(forward: forward, bandForward: band) - computed
        }
    }

    /// The window that narrows `operation` when it is attention whose sliding window is shorter than its keys.
    static func window(_ operation: Operation, in graph: Graph) -> Int? {
        guard case .attention(_, let window, _) = operation.op else { return nil }
        return SlidingWindow.narrowing(window, keys: graph[operation.inputs[1]].type.shape[1])
    }

    /// The share of the dense score matrix a sliding-window attention op's band covers; 1 for any other op.
    static func bandShare(_ operation: Operation, in graph: Graph) -> Double {
        guard let window = window(operation, in: graph) else { return 1 }
        return SlidingWindow.share(tokens: Double(graph[operation.inputs[1]].type.shape[1]), window: Double(window))
    }

    /// An op's model FLOPs from its dense forward count and its band's (the dense count itself for any op but
    /// sliding-window attention): twice the band, as causal attention counts the dense square, twice the causal
    /// triangle, and never more than dense.
    static func modelFLOPs(forward: Double, bandForward: Double) -> Double {
        min(forward, 2 * bandForward)
    }

    static func forwardFLOPs(_ operation: Operation, in graph: Graph) -> Double {
        let operands = operation.inputs.map { graph[$0].type }
        let result = Double(graph[operation.result].type.elementCount)
        switch operation.op {
        case .einsum, .matmul:
            return contractionFLOPs(operation.indexSpace)
        case .attention:
            // QK^T and AV, each a multiply-add over batch x query x key x heads x head_dim.
            let (q, v) = (operands[0].shape, operands[2].shape)
            let keys = Double(operands[1].shape[1])
            return 2 * Double(q[0] * q[1] * q[2]) * keys * Double(q[3] + v[3])
        case .conv2d:
            // 2 x N x O x H' x W' x (C / groups) x kh x kw: the weight's last three dimensions are C/groups, kh, kw.
            let weight = operands[1].shape
            return 2 * result * Double(weight[1] * weight[2] * weight[3])
        case .unary(let function):
            return result * flopsPerElement(function)
        case .cast:
            return 0
        case .dropout:
            // Multiply by the keep mask and by 1 / (1 - rate).
            return 2 * result
        case .scale, .binary, .select:
            return result
        case .softmax, .logSoftmax:
            // Row maximum, subtract it, exponentiate, row sum, divide (or subtract the log of the sum).
            return 5 * result
        case .layerNorm, .batchNorm:
            // Mean, subtract it, square, sum for the variance, multiply by the reciprocal deviation;
            // then 1 per element for each of scale and shift.
            return Double(5 + operands.count - 1) * result
        case .rmsNorm:
            // Square, sum, multiply by the reciprocal root; then 1 per element for the scale.
            return Double(3 + operands.count - 1) * result
        case .crossEntropy:
            // Log-sum-exp over the classes (maximum, subtract, exponentiate, sum: 4 per logit), then per row
            // the logarithm, the picked logit's subtraction and the accumulation into the mean.
            let logits = Double(operands[0].elementCount)
            let rows = Double(operands[1].elementCount)
            return 4 * logits + 3 * rows
        case .reduce:
            return Double(operands[0].elementCount)
        case .pool2d(_, let window, _, _):
            return result * Double(window[0] * window[1])
        case .embedding, .reshape, .transpose, .broadcast, .concat, .slice, .iota, .constant:
            return 0
        }
    }

    /// An einsum of two operands costs a multiply-add per point of its index space. Three or more
    /// operands contract pairwise from the left, each step over the indices of the pair, keeping the
    /// indices a later operand or the result still needs. One operand costs an add per point when it
    /// sums an index, and nothing when it only permutes.
    static func contractionFLOPs(_ space: IndexSpace) -> Double {
        let operandSets = space.operandIndices.map { Set($0.compactMap { $0 }) }
        guard operandSets.count >= 2 else {
            let sums = space.indices.contains { $0.role == .summed }
            return sums ? space.pointCount : 0
        }
        let resultSet = Set(space.resultIndices.compactMap { $0 })
        var flops = 0.0
        var carried = operandSets[0]
        for position in 1..<operandSets.count {
            let pair = carried.union(operandSets[position])
            flops += 2 * pair.reduce(1.0) { $0 * Double(space.indices[$1].size) }
            let later = operandSets[(position + 1)...].reduce(resultSet) { $0.union($1) }
            carried = pair.intersection(later)
        }
        return flops
    }

    /// Backward FLOPs of an op whose result carries a gradient.
    static func backwardFLOPs(_ operation: Operation, forward: Double, in graph: Graph, gradients: GradientFlow) -> Double {
        let trainedOperands = operation.inputs.filter { gradients[$0] }.count
        switch operation.op.operationClass {
        case .contraction, .convolution:
            // The gradient of each operand that carries one is a contraction over the same index space
            // (dX = dY W^T, dW = X^T dY), so a weight times an activation costs 2x the forward pass.
            return operation.inputs.count >= 2 ? forward * Double(trainedOperands) : 0
        case .attention:
            // FlashAttention's backward pass recomputes QK^T and computes dV, dP, dQ and dK: 5 matmuls of
            // the forward pass's 2 (Dao et al. 2022, arXiv:2205.14135, Algorithm 4; FlashAttention-2,
            // Dao 2023, arXiv:2307.08691, section 4.1, counts the backward pass as 2.5x the forward).
            return 2.5 * forward
        case .elementwise, .normalization:
            // The local derivative, then its product with the incoming gradient (and for norms, the
            // row reductions of the chain rule and the scale and shift gradients): about twice the forward.
            return 2 * forward
        case .reduction, .pooling:
            // The incoming gradient is spread back over the reduced elements or window: one operation
            // (a copy with a scale, or a masked select) per element the forward pass read.
            return forward
        case .gather:
            // Scatter-add of the result's gradient into the table's rows.
            return Double(graph[operation.result].type.elementCount)
        case .layout:
            // Moving data back costs no arithmetic, except undoing a broadcast, which sums the copies.
            if case .broadcast = operation.op { return Double(graph[operation.result].type.elementCount) }
            return 0
        }
    }
}
