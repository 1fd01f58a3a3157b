/// What an op is, leaving out where its operands come from: its kind and attributes, its result type, and for each
/// operand whether it is a parameter, a graph input or an op's result, with its type. Where the gradient flow is
/// given, also whether the result carries a gradient and whether each parameter is frozen: a frozen block and a
/// trained one, or a trained block above frozen ones, whose input needs no gradient, have one shape but cost
/// differently.
/// Two ops of structurally identical layers have equal fingerprints; the wiring between ops is compared
/// separately, relative to the layer (`Layer.structureKey`) or to a shifted copy (`RepeatedBlocks`).
struct OperationFingerprint: Hashable {
    /// Where an operand comes from, and its type.
    enum Operand: Hashable {
        case parameter(TensorType, frozen: Bool)
        case input(TensorType)
        case operation(TensorType)
    }

    var kind: String
    /// The op's attributes as compact JSON (equation, axes, shapes...).
    var attributes: String
    var result: TensorType
    /// Whether the result carries a gradient (`GradientFlow`); nil where no gradient flow is given.
    var carriesGradient: Bool?
    var operands: [Operand]

    init(_ operation: Operation, in graph: Graph, gradients: GradientFlow? = nil) {
        kind = operation.op.kindName
        let attributes = operation.op.attributes
        self.attributes = attributes.isEmpty ? "" : JSONWriter.compact(.object(JSONObject(attributes)))
        result = graph[operation.result].type
        carriesGradient = gradients?[operation.result]
        operands = operation.inputs.map { id in
            let value = graph[id]
            switch value.origin {
            case .parameter: return .parameter(value.type, frozen: gradients != nil && value.isFrozen)
            case .input: return .input(value.type)
            case .operation: return .operation(value.type)
            }
        }
    }

    /// A small integer per op, equal for ops with equal fingerprints (numbered in order of first appearance); with
    /// `training`, of the fingerprints that hold the gradient flow and the frozen weights.
    static func classes(of graph: Graph, training: Bool = false) -> [Int] {
        var numbers: [OperationFingerprint: Int] = [:]
        let gradients = training ? GradientFlow(graph) : nil
        return graph.operations.map { operation in
            let fingerprint = OperationFingerprint(operation, in: graph, gradients: gradients)
            if let number = numbers[fingerprint] { return number }
            numbers[fingerprint] = numbers.count
            return numbers.count - 1
        }
    }
}
