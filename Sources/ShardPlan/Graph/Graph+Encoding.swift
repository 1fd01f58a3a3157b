extension Graph {
    /// The graph as a `shardplan.graph/1` document. Decoding it gives back an equal graph.
    public var json: JSONValue {
        var top = JSONObject()
        top["format"] = .string(Self.formatName)
        top["name"] = .string(name)
        top["inputs"] = .array(inputs.map { id in
            let value = self[id]
            var entry = JSONObject([("name", .string(value.name)), ("shape", .ints(value.type.shape)),
                                    ("dtype", .string(value.type.dtype.rawValue))])
            if case .input(let dimension) = value.origin { entry["batch_dim"] = .int(dimension) }
            return .object(entry)
        })
        top["parameters"] = .array(parameters.map { id in
            let value = self[id]
            var entry = JSONObject([("name", .string(value.name)), ("shape", .ints(value.type.shape)),
                                    ("dtype", .string(value.type.dtype.rawValue))])
            if value.isFrozen { entry["trainable"] = .bool(false) }
            return .object(entry)
        })
        top["ops"] = .array(operations.map { operation in
            var entry = JSONObject([("name", .string(operation.name)), ("op", .string(operation.op.kindName))])
            for (key, value) in operation.op.attributes { entry[key] = value }
            entry["inputs"] = .strings(operation.inputs.map { self[$0].name })
            if let layer = operation.layer { entry["layer"] = .string(layer) }
            return .object(entry)
        })
        top["outputs"] = .strings(outputs.map { self[$0].name })
        return .object(top)
    }

    /// The graph as JSON text, one tensor or op per line.
    public var jsonText: String { JSONWriter(inlineDepth: 2, lineWidth: 100).render(json) }
}

extension Operator {
    /// The op's attributes as `shardplan.graph/1` members (besides `name`, `op`, `inputs` and `layer`).
    var attributes: [(String, JSONValue)] {
        switch self {
        case .einsum(let equation): [("equation", .string(equation.text))]
        case .matmul, .unary, .binary, .select, .embedding, .crossEntropy: []
        case .cast(let dtype): [("dtype", .string(dtype.rawValue))]
        case .dropout(let rate): [("rate", .number(rate))]
        case .scale(let factor): [("factor", .number(factor))]
        case .reduce(let kind, let axes, let keep):
            [("kind", .string(kind.rawValue)), ("axes", .ints(axes))] + (keep ? [("keepdims", .bool(true))] : [])
        case .softmax(let axis), .logSoftmax(let axis), .concat(let axis), .batchNorm(let axis): [("axis", .int(axis))]
        case .layerNorm(let axes), .rmsNorm(let axes): [("axis", axes.count == 1 ? .int(axes[0]) : .ints(axes))]
        case .reshape(let shape): [("shape", .ints(shape))]
        case .transpose(let permutation): [("perm", .ints(permutation))]
        case .broadcast(let shape, let dimensions): [("shape", .ints(shape)), ("dims", .ints(dimensions))]
        case .slice(let axis, let start, let end, let groups):
            [("axis", .int(axis)), ("start", .int(start)), ("end", .int(end))]
                + (groups.map { [("expert_groups", .int($0.count)), ("group_top_k", .int($0.chosen))] } ?? [])
        case .iota(let shape, let dimension, let dtype):
            [("shape", .ints(shape)), ("dim", .int(dimension)), ("dtype", .string(dtype.rawValue))]
        case .constant(let shape, let dtype, let value):
            [("shape", .ints(shape)), ("dtype", .string(dtype.rawValue)), ("value", .number(value))]
        case .attention(let causal, let window, let sinks):
            [("causal", .bool(causal))] + (window.map { [("window", .int($0))] } ?? []) + (sinks ? [("sinks", .bool(true))] : [])
        case .conv2d(let stride, let padding, let groups):
            [("stride", .ints(stride)), ("padding", .ints(padding)), ("groups", .int(groups))]
        case .pool2d(let kind, let window, let stride, let padding):
            [("kind", .string(kind.rawValue)), ("window", .ints(window)), ("stride", .ints(stride)), ("padding", .ints(padding))]
        }
    }
}
