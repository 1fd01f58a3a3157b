extension GraphRewrite {
    /// The rewrite as a JSON object: `rule`, `at` (the matched ops), `choice`, then the diff: `remove` (ops),
    /// `insert_at` (the removed op whose place the new ops take), `ops` (new ops, written as a graph's ops
    /// are, with `like` naming the op whose unread attributes they keep), `remove_parameters`, `parameters`
    /// (each with `name`, `shape`, `dtype` and `from`: the ops computing it from the parameters before it)
    /// and `rename` (old value name to the name its readers now read). Docs/rewrites.md describes replaying it.
    public var json: JSONValue {
        var object = JSONObject([("rule", .string(rule)), ("at", .strings(anchors)), ("choice", .int(choice)),
                                 ("remove", .strings(removedOperations))])
        if let insertionPoint { object["insert_at"] = .string(insertionPoint) }
        object["ops"] = .array(addedOperations.map(\.json))
        if !removedParameters.isEmpty { object["remove_parameters"] = .strings(removedParameters) }
        if !addedParameters.isEmpty {
            object["parameters"] = .array(addedParameters.map { parameter in
                .object(JSONObject([("name", .string(parameter.name)), ("shape", .ints(parameter.type.shape)),
                                    ("dtype", .string(parameter.type.dtype.rawValue)),
                                    ("from", .array(parameter.derivation.map(\.json)))]))
            })
        }
        if !renamedValues.isEmpty {
            object["rename"] = .object(JSONObject(renamedValues.keys.sorted().map { ($0, .string(renamedValues[$0]!)) }))
        }
        return .object(object)
    }

    /// Reads a rewrite written by `json`; `path` is where it sits in its document.
    public init(json: JSONValue, at path: JSONPath) throws(InputError) {
        let reader = try JSONReader(json, at: path, what: "a rewrite object")
        let choice = try reader.optionalInt("choice") ?? 0
        guard choice >= 0 else { throw reader.invalid("choice", "a rewrite's choice is 0 or more") }
        var parameters: [DerivedParameter] = []
        for (index, element) in (reader.contains("parameters") ? try reader.array("parameters") : []).enumerated() {
            let entry = try JSONReader(element, at: path.appending("parameters").appending(index: index))
            let name = try entry.string("name")
            var derivation: [RewriteOperation] = []
            for (position, op) in try entry.array("from").enumerated() {
                derivation.append(try RewriteOperation(json: op, at: entry.path.appending("from").appending(index: position)))
            }
            parameters.append(DerivedParameter(name: name, type: TensorType(try entry.ints("shape"), try Graph.dtype(entry, "dtype")),
                                               derivation: derivation))
        }
        var operations: [RewriteOperation] = []
        for (index, op) in (reader.contains("ops") ? try reader.array("ops") : []).enumerated() {
            operations.append(try RewriteOperation(json: op, at: path.appending("ops").appending(index: index)))
        }
        var renamed: [String: String] = [:]
        if reader.contains("rename") {
            let renames = try reader.reader("rename")
            for key in renames.object.keys { renamed[key] = try renames.string(key) }
        }
        self.init(rule: try reader.string("rule"), anchors: try reader.strings("at"), choice: choice,
                  removedOperations: reader.contains("remove") ? try reader.strings("remove") : [],
                  insertionPoint: try reader.optionalString("insert_at"), addedOperations: operations,
                  removedParameters: reader.contains("remove_parameters") ? try reader.strings("remove_parameters") : [],
                  addedParameters: parameters, renamedValues: renamed)
    }
}

extension RewriteOperation {
    /// The op as a graph writes its ops (`name`, `op`, attributes, `inputs`, `layer`), plus `like`.
    var json: JSONValue {
        var object = JSONObject([("name", .string(name)), ("op", .string(op.kindName))])
        for (key, value) in op.attributes { object[key] = value }
        object["inputs"] = .strings(inputs)
        if let layer { object["layer"] = .string(layer) }
        if let attributesFrom { object["like"] = .string(attributesFrom) }
        return .object(object)
    }

    init(json: JSONValue, at path: JSONPath) throws(InputError) {
        let entry = try JSONReader(json, at: path, what: "an op object")
        let name = try entry.string("name")
        let reader = try JSONReader(json, at: path.labelled(name), what: "an op object")
        self.init(name: name, op: try Graph.decodeOperator(reader),
                  inputs: reader.contains("inputs") ? try reader.strings("inputs") : [],
                  layer: try reader.optionalString("layer"), attributesFrom: try reader.optionalString("like"))
    }
}
