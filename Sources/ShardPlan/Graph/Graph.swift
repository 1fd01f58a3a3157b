/// A model's forward computation for one global batch: named tensors (inputs, parameters, op results)
/// and the ops that compute them, in a topological order. Shapes and element types are inferred and
/// checked when the graph is built, so every `Graph` value is valid.
///
/// Build one in code with `GraphBuilder`, or decode `shardplan.graph/1` JSON with `Graph(json:)`.
public struct Graph: Sendable, Equatable {
    public var name: String
    /// Every tensor: inputs first, then parameters, then op results in op order.
    public private(set) var values: [Value]
    public private(set) var inputs: [ValueID]
    public private(set) var parameters: [ValueID]
    public private(set) var operations: [Operation]
    public private(set) var outputs: [ValueID]
    private var identifiers: [String: ValueID]

    init(name: String, values: [Value], inputs: [ValueID], parameters: [ValueID], operations: [Operation],
         outputs: [ValueID], identifiers: [String: ValueID]) {
        self.name = name
        self.values = values
        self.inputs = inputs
        self.parameters = parameters
        self.operations = operations
        self.outputs = outputs
        self.identifiers = identifiers
    }

    public subscript(id: ValueID) -> Value { values[id.rawValue] }

    /// The tensor called `name`, if there is one.
    public func value(named name: String) -> ValueID? { identifiers[name] }

    /// The op that computes `id`, if it is an op's result.
    public func producer(of id: ValueID) -> Operation? {
        values[id.rawValue].operationIndex.map { operations[$0] }
    }

    /// For every value, the indices of the ops that read it (in op order).
    public func consumers() -> [[Int]] {
        var result = Array(repeating: [Int](), count: values.count)
        for (index, operation) in operations.enumerated() {
            for input in Set(operation.inputs) { result[input.rawValue].append(index) }
        }
        return result
    }

    /// The global batch size: the size of the batch dimension of the first input, if there is an input.
    public var batchSize: Int? {
        guard let first = inputs.first, case .input(let dimension) = self[first].origin else { return nil }
        return self[first].type.shape[dimension]
    }
}
