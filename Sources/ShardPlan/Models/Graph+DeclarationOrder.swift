extension Graph {
    /// The same graph with its tensors in the order `shardplan.graph/1` lists them (inputs, then parameters,
    /// then ops), which is the order decoding its JSON gives. Model builders declare each parameter next to
    /// the op that uses it, which reads like the model; this makes the result equal to its own round trip. A parameter
    /// `trainable` refuses (by name) is frozen.
    func inDeclarationOrder(trainable: (String) -> Bool = { _ in true }) throws(InputError) -> Graph {
        var builder = GraphBuilder(name: name)
        var renamed = Array(repeating: ValueID(0), count: values.count)
        for id in inputs {
            let value = self[id]
            guard case .input(let batchDimension) = value.origin else { continue }
            renamed[id.rawValue] = try builder.input(value.name, value.type.shape, value.type.dtype, batchDimension: batchDimension)
        }
        for id in parameters {
            renamed[id.rawValue] = try builder.parameter(self[id].name, self[id].type.shape, self[id].type.dtype,
                                                         trainable: !self[id].isFrozen && trainable(self[id].name))
        }
        for operation in operations {
            renamed[operation.result.rawValue] = try builder.add(operation.name, operation.op,
                                                                 operation.inputs.map { renamed[$0.rawValue] },
                                                                 layer: operation.layer)
        }
        for id in outputs { builder.output(renamed[id.rawValue]) }
        return try builder.build()
    }
}
