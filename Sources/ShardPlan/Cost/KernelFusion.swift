/// Which tensors never reach memory because a training stack fuses their producer into their consumer.
///
/// The rule (Docs/cost-model.md, "Fusion"): a chain of pointwise ops runs as one kernel, as Megatron's fused
/// bias-GeLU and bias-dropout-add kernels and `torch.compile` do. A pointwise op's result whose only reader is
/// another pointwise op, or a softmax, is kept in registers: Megatron's `FusedScaleMaskSoftmax` scales and
/// masks the attention scores inside the softmax kernel. `reshape` and `broadcast` are views that move no
/// data (a broadcast operand is read at its own, smaller size).
public struct KernelFusion: Sendable {
    /// For each value, whether it stays in registers (its producer is fused into its only consumer).
    public private(set) var isFusedAway: [Bool]

    public init(_ graph: Graph) {
        let consumers = graph.consumers()
        isFusedAway = Array(repeating: false, count: graph.values.count)
        for operation in graph.operations where operation.op.isPointwise {
            let readers = consumers[operation.result.rawValue]
            guard readers.count == 1, graph.operations[readers[0]].op.absorbsPointwiseProducers,
                  !graph.outputs.contains(operation.result) else { continue }
            isFusedAway[operation.result.rawValue] = true
        }
    }

    public subscript(id: ValueID) -> Bool { isFusedAway[id.rawValue] }
}

extension Operator {
    /// Pointwise ops: one result element from the operand elements at the same position.
    public var isPointwise: Bool { isElementwise }

    /// Ops whose kernel computes a pointwise producer of their operands on the fly.
    public var absorbsPointwiseProducers: Bool {
        if isPointwise { return true }
        if case .softmax = self { return true }
        return false
    }

    /// Ops that only reinterpret or broadcast their operand and launch no kernel.
    public var isView: Bool {
        switch self {
        case .reshape, .broadcast, .iota, .constant: true
        default: false
        }
    }
}
