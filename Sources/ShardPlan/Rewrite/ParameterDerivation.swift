/// Builds how a new parameter is computed from the graph's parameters (stacked, concatenated, sliced), as a
/// short list of catalog ops, so the same weights can be laid out for the rewritten graph.
struct ParameterDerivation {
    let graph: Graph
    /// The new parameter's name; the last op takes it.
    let target: String
    private(set) var operations: [RewriteOperation] = []

    init(graph: Graph, target: String) {
        self.graph = graph
        self.target = target
    }

    /// A parameter of the graph, to derive from.
    func parameter(_ id: ValueID) -> RewriteValue { RewriteValue(name: graph[id].name, type: graph[id].type) }

    /// Adds one op of the derivation; intermediate results are named `target/k`.
    mutating func add(_ op: Operator, _ inputs: [RewriteValue]) throws(RewriteRefusal) -> RewriteValue {
        let (normalized, result) = try Operator.checked(op, inputs.map(\.type))
        let name = "\(target)/\(operations.count)"
        guard graph.value(named: name) == nil else { throw RewriteRefusal("the name \"\(name)\" is taken") }
        operations.append(RewriteOperation(name: name, op: normalized, inputs: inputs.map(\.name)))
        return RewriteValue(name: name, type: result)
    }

    /// `values` stacked along a new axis `axis` (each gets a size-1 dimension there, then they are joined).
    mutating func stack(_ values: [RewriteValue], axis: Int) throws(RewriteRefusal) -> RewriteValue {
        let expanded = try values.map { value throws(RewriteRefusal) in
            var shape = value.type.shape
            shape.insert(1, at: axis)
            return try add(.reshape(shape: shape), [value])
        }
        return try add(.concat(axis: axis), expanded)
    }

    /// The finished parameter: its last op renamed to `target`.
    func finish() throws(RewriteRefusal) -> DerivedParameter {
        guard var last = operations.last else { throw RewriteRefusal("a derived parameter needs at least one op") }
        var operations = self.operations
        let old = last.name
        last.name = target
        operations[operations.count - 1] = last
        // Nothing reads the last op inside the derivation, so renaming it touches no input.
        precondition(!operations.dropLast().contains { $0.inputs.contains(old) }, "the last op of a derivation is its result")
        var types: [String: TensorType] = [:]
        for id in graph.parameters { types[graph[id].name] = graph[id].type }
        var result: TensorType?
        for operation in operations {
            let operands = operation.inputs.map { types[$0]! }
            result = try Operator.checked(operation.op, operands).result
            types[operation.name] = result
        }
        let parameter = DerivedParameter(name: target, type: result!, derivation: operations)
        let frozen = Set(parameter.sources(in: graph).map { graph[$0].isFrozen })
        guard frozen.count <= 1 else {
            throw RewriteRefusal("\(target) would join frozen and trainable parameters, which train differently")
        }
        return parameter
    }
}
