/// The ops an FP8 recipe converts: linear layers, the two-operand contractions of an activation with one weight
/// (TransformerEngine's `Linear` and grouped expert GEMMs, torchao's `Float8Linear`). A contraction whose result
/// feeds a softmax or the loss (through views) stays in 16 bits: the output layer before the cross-entropy
/// (Megatron-Core's output layer is not a TransformerEngine module; torchtitan filters `output`) and a MoE
/// router (Megatron-Core computes routing scores in higher precision). Attention's own products have no weight.
public struct LinearLayers: Sendable {
    /// For each op, the operand position of its weight when it is a linear layer an FP8 recipe converts.
    public private(set) var weightOperand: [Int?]

    public init(_ graph: Graph) {
        let consumers = graph.consumers()
        /// Whether `value` reaches a softmax, sigmoid, log-softmax or cross-entropy through views only.
        func feedsNormalizer(_ value: ValueID) -> Bool {
            consumers[value.rawValue].contains { reader in
                let operation = graph.operations[reader]
                switch operation.op {
                case .softmax, .logSoftmax, .crossEntropy, .unary(.sigmoid): return true
                default: return operation.op.isView && feedsNormalizer(operation.result)
                }
            }
        }
        weightOperand = graph.operations.map { operation in
            guard let weight = Self.productWeight(operation, in: graph), graph[operation.result].type.dtype.isFloatingPoint,
                  !feedsNormalizer(operation.result) else { return nil }
            return weight
        }
    }

    /// The operand position of the weight when `operation` is a product of an activation with one weight (a
    /// two-operand contraction with exactly one parameter: PyTorch's `aten.mm` of a linear layer or a router).
    static func productWeight(_ operation: Operation, in graph: Graph) -> Int? {
        guard operation.op.isContraction, operation.inputs.count == 2 else { return nil }
        let weights = operation.inputs.indices.filter { graph[operation.inputs[$0]].isParameter }
        return weights.count == 1 ? weights[0] : nil
    }

    public subscript(operationIndex: Int) -> Int? { weightOperand[operationIndex] }
}
