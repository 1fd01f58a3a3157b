/// Builds a `Graph` one tensor at a time, checking every op's rule as it is added.
///
/// Errors name the op and the JSON path it would have in `shardplan.graph/1` (`ops[17] "h3.qkv"`), so a
/// graph built in code and one decoded from JSON report mistakes the same way.
///
/// Every `ValueID` given to a builder must be one it returned: another builder's id is a programmer's error, which
/// traps where this builder holds fewer values (and reads the wrong tensor where it holds as many).
///
/// ```swift
/// var builder = GraphBuilder(name: "mlp-2")
/// let x = try builder.input("x", [1024, 4096], .bf16)
/// let w1 = try builder.parameter("w1", [4096, 16384])
/// let h = try builder.einsum("h", "bd,df->bf", x, w1)
/// ```
public struct GraphBuilder: Sendable {
    public var name: String
    /// The `layer` hint given to ops added from now on (nil: none).
    public var currentLayer: String?
    private var values: [Value] = []
    private var inputIDs: [ValueID] = []
    private var parameterIDs: [ValueID] = []
    private var operations: [Operation] = []
    private var outputIDs: [ValueID] = []
    private var identifiers: [String: ValueID] = [:]
    /// Bytes of every tensor defined so far.
    private var totalBytes = 0

    /// The most bytes a graph's tensors may hold together: 2^58, 256 PiB, far above any model (Llama 3 405B's
    /// tensors at a global batch of 2,048 sequences of 8,192 tokens hold 1.7 PB), and low enough that sums of
    /// them and their products by small factors never overflow `Int`.
    public static let maximumTotalBytes = 1 << 58

    public init(name: String) { self.name = name }

    /// The type of a tensor defined so far. `id` must come from this builder: another builder's id is a programmer's
    /// error, which traps where this builder holds fewer values.
    public func type(of id: ValueID) -> TensorType { values[id.rawValue].type }

    /// The tensor called `name`, if one is defined so far.
    public func value(named name: String) -> ValueID? { identifiers[name] }

    /// Whether `name` is already taken.
    public func isDefined(_ name: String) -> Bool { identifiers[name] != nil }

    /// Adds a data input; `batchDimension` is the dimension that microbatching and data parallelism split
    /// (negative counts from the end). Every input carries the global batch along it, so all inputs must
    /// agree on its size.
    @discardableResult
    public mutating func input(_ name: String, _ shape: [Int], _ dtype: DType, batchDimension: Int = 0) throws(InputError) -> ValueID {
        let path = JSONPath.root.appending("inputs").appending(index: inputIDs.count, label: name)
        try checkShape(shape, at: path.appending("shape"), of: "input \"\(name)\"")
        guard let batchDimension = normalizedAxis(batchDimension, rank: shape.count) else {
            let reason = shape.isEmpty ? "a scalar has no batch dimension; make it a constant or a parameter"
                : "it must lie in -\(shape.count) ..< \(shape.count)"
            throw InputError(.invalidValue, at: path.appending("batch_dim"),
                             "input \"\(name)\": batch_dim \(batchDimension) is out of range for shape \(shape.shapeText); \(reason)")
        }
        if let first = inputIDs.first, case .input(let firstDimension) = values[first.rawValue].origin {
            let globalBatch = values[first.rawValue].type.shape[firstDimension]
            guard shape[batchDimension] == globalBatch else {
                throw InputError(.shapeMismatch, at: path.appending("shape"),
                                 "input \"\(name)\" has \(shape[batchDimension]) samples along its batch_dim \(batchDimension) (shape \(shape.shapeText)), but the first input \"\(values[first.rawValue].name)\" has \(globalBatch); every input carries the global batch along its batch_dim (data without a batch dimension belongs in a constant or a parameter)")
            }
        }
        let id = try define(Value(name: name, type: TensorType(shape, dtype), origin: .input(batchDimension: batchDimension)), at: path)
        inputIDs.append(id)
        return id
    }

    /// Adds a parameter: a trainable one, or a frozen one (`trainable: false`, `Value.isFrozen`).
    @discardableResult
    public mutating func parameter(_ name: String, _ shape: [Int], _ dtype: DType = .bf16,
                                   trainable: Bool = true) throws(InputError) -> ValueID {
        let path = JSONPath.root.appending("parameters").appending(index: parameterIDs.count, label: name)
        try checkShape(shape, at: path.appending("shape"), of: "parameter \"\(name)\"")
        let id = try define(Value(name: name, type: TensorType(shape, dtype), origin: .parameter, isFrozen: !trainable), at: path)
        parameterIDs.append(id)
        return id
    }

    /// Adds an op; `declared` is the result type the op states, which must agree with the inferred one.
    @discardableResult
    public mutating func add(_ name: String, _ op: Operator, _ inputs: [ValueID], layer: String? = nil,
                             declaredShape: [Int]? = nil, declaredDType: DType? = nil) throws(InputError) -> ValueID {
        let path = operationPath(name)
        for (position, input) in inputs.enumerated() where !values.indices.contains(input.rawValue) {
            throw InputError(.undefinedName, at: path.appending("inputs").appending(index: position),
                             "op \"\(name)\": input \(input) is not a tensor of this graph")
        }
        let operandTypes = inputs.map { values[$0.rawValue].type }
        let op = op.normalized(for: operandTypes)
        let signature: OperatorSignature
        do {
            signature = try op.signature(operands: operandTypes)
        } catch {
            let operands = inputs.map { "\"\(values[$0.rawValue].name)\" \(values[$0.rawValue].type)" }
            let context = operands.isEmpty ? "" : " (inputs: \(operands.joined(separator: ", ")))"
            // Most rule messages already start with the op kind ("dropout rate must be ..."); the rest get it.
            let message = error.message.hasPrefix(op.kindName) ? error.message : "\(op.kindName): \(error.message)"
            throw InputError(error.kind, at: path, message + context)
        }
        guard TensorType.checkedElementCount(signature.result.shape) != nil else {
            throw InputError(.invalidValue, at: path,
                             "\(op.kindName): the result \(signature.result) has more than 2^53 elements")
        }
        if let declaredShape, declaredShape != signature.result.shape {
            throw InputError(.shapeMismatch, at: path.appending("shape"),
                             "the op states shape \(declaredShape.shapeText) but \(op.kindName) of its inputs gives \(signature.result.shape.shapeText)")
        }
        if let declaredDType, declaredDType != signature.result.dtype {
            throw InputError(.dtypeMismatch, at: path.appending("dtype"),
                             "the op states dtype \(declaredDType.rawValue) but \(op.kindName) of its inputs gives \(signature.result.dtype.rawValue)")
        }
        let id = try define(Value(name: name, type: signature.result, origin: .operation(operations.count)), at: path)
        operations.append(Operation(name: name, op: op, inputs: inputs, result: id, layer: layer ?? currentLayer,
                                    indexSpace: signature.indexSpace))
        return id
    }

    /// The JSON path the next op, called `name`, has in `shardplan.graph/1`.
    func operationPath(_ name: String) -> JSONPath {
        JSONPath.root.appending("ops").appending(index: operations.count, label: name)
    }

    /// Marks a tensor as a graph output; marking one twice keeps the first place.
    public mutating func output(_ id: ValueID) {
        if !outputIDs.contains(id) { outputIDs.append(id) }
    }

    /// The finished graph. A graph needs at least one op and one output.
    public func build() throws(InputError) -> Graph {
        guard !operations.isEmpty else { throw InputError(.missingField, at: .root.appending("ops"), "the graph has no ops") }
        guard !outputIDs.isEmpty else { throw InputError(.missingField, at: .root.appending("outputs"), "the graph names no outputs") }
        for (position, id) in outputIDs.enumerated() where !values.indices.contains(id.rawValue) {
            throw InputError(.undefinedName, at: .root.appending("outputs").appending(index: position),
                             "output \(id) is not a tensor of this graph")
        }
        return Graph(name: name, values: values, inputs: inputIDs, parameters: parameterIDs, operations: operations,
                     outputs: outputIDs, identifiers: identifiers)
    }

    private mutating func define(_ value: Value, at path: JSONPath) throws(InputError) -> ValueID {
        guard !value.name.isEmpty else { throw InputError(.invalidValue, at: path.appending("name"), "a name must not be empty") }
        if let existing = identifiers[value.name] {
            throw InputError(.duplicateName, at: path.appending("name"),
                             "the name \"\(value.name)\" is already used by \(describe(values[existing.rawValue]))")
        }
        let (total, overflow) = totalBytes.addingReportingOverflow(value.type.byteCount)
        guard !overflow, total <= Self.maximumTotalBytes else {
            throw InputError(.invalidValue, at: path,
                             "\"\(value.name)\" \(value.type) takes the graph's tensors past 2^58 bytes in all (256 PiB), more than any model holds")
        }
        totalBytes = total
        let id = ValueID(values.count)
        values.append(value)
        identifiers[value.name] = id
        return id
    }

    private func describe(_ value: Value) -> String {
        switch value.origin {
        case .input: "an input"
        case .parameter: "a parameter"
        case .operation(let index): "op \(index)"
        }
    }

    private func checkShape(_ shape: [Int], at path: JSONPath, of what: String) throws(InputError) {
        for (dimension, size) in shape.enumerated() where size <= 0 {
            throw InputError(.invalidValue, at: path.appending(index: dimension),
                             "\(what) has dimension \(dimension) of size \(size); sizes must be positive")
        }
        guard TensorType.checkedElementCount(shape) != nil else {
            throw InputError(.invalidValue, at: path, "\(what) has shape \(shape.shapeText), more than 2^53 elements")
        }
    }
}
