import Foundation

extension Graph {
    /// The format string of graph documents this version reads and writes.
    public static let formatName = "shardplan.graph/1"

    /// Decodes and validates a `shardplan.graph/1` document. Every problem is an `InputError` naming the
    /// op and the JSON path; `document` (a file name) prefixes messages when given.
    public init(jsonBytes bytes: [UInt8], document: String? = nil) throws(InputError) {
        let value = try JSONValue.parseDocument(bytes, document: document)
        do {
            self = try Graph(json: value)
        } catch {
            // Malformed JSON is attributed to `document` the same way, so every message reads alike.
            throw document.map { error.inDocument($0) } ?? error
        }
    }

    /// Decodes and validates a parsed `shardplan.graph/1` document.
    public init(json: JSONValue) throws(InputError) {
        let top = try JSONReader(json, at: .root, what: "a graph object")
        guard top.contains("format") else {
            throw InputError(.unsupportedFormat, at: .root, "missing \"format\"; a graph document starts with \"format\": \"\(Self.formatName)\"")
        }
        let format = try top.string("format")
        guard format == Self.formatName else {
            throw InputError(.unsupportedFormat, at: .root.appending("format"),
                             "unknown format \"\(format)\"; this version reads \"\(Self.formatName)\"")
        }
        var builder = GraphBuilder(name: try top.optionalName("name", of: "a graph") ?? "graph")
        for (index, element) in (top.contains("inputs") ? try top.array("inputs") : []).enumerated() {
            let entry = try JSONReader(element, at: .root.appending("inputs").appending(index: index))
            let name = try entry.string("name")
            let reader = try JSONReader(element, at: entry.path.labelled(name))
            do {
                try builder.input(name, try reader.ints("shape"), try Self.dtype(reader, "dtype"),
                                  batchDimension: try reader.optionalInt("batch_dim") ?? 0)
            } catch where error.path == reader.path.appending("batch_dim") && !reader.contains("batch_dim") {
                // The default batch_dim does not fit the shape: the shape is what the document says.
                throw InputError(error.kind, at: reader.path.appending("shape"), error.message)
            }
        }
        for (index, element) in (top.contains("parameters") ? try top.array("parameters") : []).enumerated() {
            let entry = try JSONReader(element, at: .root.appending("parameters").appending(index: index))
            let name = try entry.string("name")
            let reader = try JSONReader(element, at: entry.path.labelled(name))
            try builder.parameter(name, try reader.ints("shape"), try Self.dtype(reader, "dtype"),
                                  trainable: try reader.optionalBool("trainable") ?? true)
        }
        for (index, element) in try top.array("ops").enumerated() {
            let entry = try JSONReader(element, at: .root.appending("ops").appending(index: index))
            let name = try entry.string("name")
            let reader = try JSONReader(element, at: entry.path.labelled(name))
            let op = try Self.decodeOperator(reader)
            let inputNames = reader.contains("inputs") ? try reader.strings("inputs") : []
            var inputs: [ValueID] = []
            for (position, inputName) in inputNames.enumerated() {
                guard let id = builder.value(named: inputName) else {
                    let later = try Self.laterOpNames(top, after: index).contains(inputName)
                    let hint = inputName == name ? "an op cannot read its own result (a cycle)"
                        : later ? "it is defined by a later op: ops must be listed in a topological order (a forward reference or a cycle)"
                        : "no input, parameter or op has that name"
                    throw InputError(.undefinedName, at: reader.path.appending("inputs").appending(index: position),
                                     "input \"\(inputName)\" is not defined above this op; \(hint)")
                }
                inputs.append(id)
            }
            try builder.add(name, op, inputs, layer: try reader.optionalString("layer"),
                            declaredShape: reader.contains("shape") && !Self.shapeIsAttribute(op) ? try reader.ints("shape") : nil,
                            declaredDType: reader.contains("dtype") && !Self.dtypeIsAttribute(op) ? try Self.dtype(reader, "dtype") : nil)
        }
        let outputNames = try top.strings("outputs")
        for (position, outputName) in outputNames.enumerated() {
            guard let id = builder.value(named: outputName) else {
                throw InputError(.undefinedName, at: .root.appending("outputs").appending(index: position),
                                 "output \"\(outputName)\" is not defined by any input, parameter or op")
            }
            builder.output(id)
        }
        self = try builder.build()
    }

    private static func laterOpNames(_ top: JSONReader, after index: Int) throws(InputError) -> Set<String> {
        var names = Set<String>()
        for element in try top.array("ops").dropFirst(index) {
            if case .object(let object) = element, case .string(let name)? = object["name"] { names.insert(name) }
        }
        return names
    }

    /// For these ops `shape` (and `dtype`) are attributes, not a statement of the result type.
    private static func shapeIsAttribute(_ op: Operator) -> Bool {
        switch op {
        case .reshape, .broadcast, .iota, .constant: true
        default: false
        }
    }

    private static func dtypeIsAttribute(_ op: Operator) -> Bool {
        switch op {
        case .cast, .iota, .constant: true
        default: false
        }
    }

    static func dtype(_ reader: JSONReader, _ key: String) throws(InputError) -> DType {
        let text = try reader.string(key)
        guard let dtype = DType(rawValue: text) else {
            throw reader.invalid(key, "unknown dtype \"\(text)\"; known: \(DType.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return dtype
    }

    /// Reads the `op` member and the attributes that op takes.
    static func decodeOperator(_ reader: JSONReader) throws(InputError) -> Operator {
        let kind = try reader.string("op")
        if let function = UnaryFunction(rawValue: kind) { return .unary(function) }
        if let function = BinaryFunction(rawValue: kind) { return .binary(function) }
        switch kind {
        case "einsum":
            let text = try reader.string("equation")
            do { return .einsum(try EinsumEquation(text)) } catch {
                throw InputError(.invalidEinsum, at: reader.path.appending("equation"), "einsum: bad equation '\(text)': \(error.message)")
            }
        case "matmul": return .matmul
        case "cast": return .cast(try dtype(reader, "dtype"))
        case "dropout": return .dropout(rate: try reader.number("rate"))
        case "scale": return .scale(factor: try reader.number("factor"))
        case "where": return .select
        case "reduce":
            let name = try reader.string("kind")
            guard let reduction = ReductionKind(rawValue: name) else {
                throw reader.invalid("kind", "unknown reduction \"\(name)\"; known: sum, mean, max, min")
            }
            return .reduce(reduction, axes: try reader.ints("axes"), keepDimensions: try reader.optionalBool("keepdims") ?? false)
        // The last axis by default, as in jax.nn.softmax and torch's usual use.
        case "softmax": return .softmax(axis: try reader.optionalInt("axis") ?? -1)
        case "log_softmax": return .logSoftmax(axis: try reader.optionalInt("axis") ?? -1)
        case "layer_norm": return .layerNorm(axes: try axisList(reader))
        case "rms_norm": return .rmsNorm(axes: try axisList(reader))
        case "batch_norm": return .batchNorm(axis: try reader.optionalInt("axis") ?? 1)
        case "reshape": return .reshape(shape: try reader.ints("shape"))
        case "transpose": return .transpose(permutation: try reader.ints("perm"))
        case "broadcast": return .broadcast(shape: try reader.ints("shape"), dimensions: try reader.ints("dims"))
        case "concat": return .concat(axis: try reader.int("axis"))
        case "slice":
            let (axis, start, end) = (try reader.int("axis"), try reader.int("start"), try reader.int("end"))
            guard reader.contains("expert_groups") || reader.contains("group_top_k") else { return .slice(axis: axis, start: start, end: end) }
            // Group-limited routing: both members, a positive group count and a choice of 1 to that many.
            let (count, chosen) = (try reader.int("expert_groups"), try reader.int("group_top_k"))
            guard count >= 1 else { throw reader.invalid("expert_groups", "expert groups are a positive count, found \(count)") }
            guard (1 ... count).contains(chosen) else {
                throw reader.invalid("group_top_k", "a token's experts come from 1 to the \(count) expert groups, found \(chosen)")
            }
            return .slice(axis: axis, start: start, end: end, groups: ExpertGroups(count: count, chosen: chosen))
        case "iota":
            return .iota(shape: try reader.ints("shape"), dimension: try reader.int("dim"),
                         dtype: reader.contains("dtype") ? try dtype(reader, "dtype") : .i32)
        case "constant":
            return .constant(shape: try reader.ints("shape"), dtype: reader.contains("dtype") ? try dtype(reader, "dtype") : .f32,
                             value: try reader.optionalNumber("value") ?? 0)
        case "embedding": return .embedding
        case "cross_entropy": return .crossEntropy
        case "attention":
            let causal = try reader.optionalBool("causal") ?? false
            let sinks = try reader.optionalBool("sinks") ?? false
            guard let window = try reader.optionalInt("window") else { return .attention(causal: causal, sinks: sinks) }
            guard window > 0 else {
                throw reader.invalid("window", "a sliding window is a positive number of keys, found \(window)")
            }
            guard causal else {
                throw reader.invalid("window", "a sliding window reads the \(window) most recent keys, so it needs \"causal\": true")
            }
            return .attention(causal: true, window: window, sinks: sinks)
        case "conv2d":
            return .conv2d(stride: try pair(reader, "stride", default: 1), padding: try pair(reader, "padding", default: 0),
                           groups: try reader.optionalInt("groups") ?? 1)
        case "pool2d":
            let name = try reader.string("kind")
            guard let pool = PoolKind(rawValue: name) else { throw reader.invalid("kind", "unknown pooling \"\(name)\"; known: max, avg") }
            let window = try pair(reader, "window", default: nil)
            return .pool2d(pool, window: window, stride: try pair(reader, "stride", default: nil, fallback: window),
                           padding: try pair(reader, "padding", default: 0))
        default:
            throw InputError(.unknownOperator, at: reader.path.appending("op"),
                             "unknown op \"\(kind)\"; the catalog has: \(Operator.catalogNames.joined(separator: ", "))")
        }
    }

    /// `axis` as one integer or a list (normalisation axes).
    private static func axisList(_ reader: JSONReader) throws(InputError) -> [Int] {
        if case .array? = reader.member("axis") { return try reader.ints("axis") }
        return [try reader.optionalInt("axis") ?? -1]
    }

    /// A 2-D window attribute given as one integer or as `[rows, columns]`.
    private static func pair(_ reader: JSONReader, _ key: String, default defaultValue: Int?, fallback: [Int]? = nil) throws(InputError) -> [Int] {
        guard reader.contains(key) else {
            if let fallback { return fallback }
            if let defaultValue { return [defaultValue, defaultValue] }
            _ = try reader.value(key)
            return []
        }
        if case .array? = reader.member(key) { return try reader.ints(key) }
        let single = try reader.int(key)
        return [single, single]
    }
}
