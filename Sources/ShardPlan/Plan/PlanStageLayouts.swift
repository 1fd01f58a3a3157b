/// What one stage of a `shardplan.plan/1` document says about layouts, read and checked against the graph and
/// the stage: `shardings` (tensor name to one entry per dimension, `null` or the mesh axes splitting it),
/// `partial_sums` (op name to the axes its result is an unreduced sum over), `operand_shardings` (op name to
/// the layout it reads each operand in, `null` where it reads the tensor as the stage holds it) and
/// `zero_stages` (parameter name to the ZeRO stage sharding its training state).
///
/// Each entry's problems go to a `DocumentProblems`; an entry that has one is remembered as unknown, so that
/// the strategy search leaves out what it would have said instead of reporting a second, derived problem.
struct PlanStageLayouts {
    /// One operand's layout as `operand_shardings` states it.
    enum OperandLayout {
        /// `null`: the operand is read as the stage holds it.
        case held
        case stated(ShardingSpec)
        /// The entry has a problem.
        case unknown
    }

    /// Layouts by tensor name, from `shardings` (without partial sums).
    private(set) var shardings: [String: ShardingSpec] = [:]
    /// Partial-sum axes by op name.
    private(set) var partialSums: [String: [Int]] = [:]
    /// Operand layouts by op name.
    private(set) var operandLayouts: [String: [OperandLayout]] = [:]
    /// ZeRO stages by parameter name.
    private(set) var zeroStages: [String: Int] = [:]
    /// Whether the stage has an `operand_shardings` member: then an op reads every operand it has no entry
    /// for in the layout the stage holds it in, and the strategy must read it so.
    let hasOperandLayouts: Bool
    /// The stage's mesh axis names, for messages (empty when they could not be read).
    let axisNames: [String]

    private let stagePath: JSONPath
    private var written: [String: JSONObject] = [:]
    /// Names whose entry has a problem, by member; a member that is not an object spoils every name.
    private var unknown: [String: Set<String>] = [:]
    private var unreadable = Set<String>()

    static let shardingsKey = "shardings", partialSumsKey = "partial_sums", operandsKey = "operand_shardings", zeroKey = "zero_stages"

    /// Reads the layout members of `stage`. `operations` are the stage's ops and `axes` its mesh axis names
    /// (nil where they could not be read: the checks that need them are left to the problem that spoiled them).
    init(_ stage: JSONReader, graph: Graph, operations: Range<Int>?, axes: (names: [String], path: JSONPath)?,
         problems: inout DocumentProblems) {
        stagePath = stage.path
        let document = problems.document
        hasOperandLayouts = stage.contains(Self.operandsKey)
        axisNames = axes?.names ?? []
        for key in [Self.shardingsKey, Self.partialSumsKey, Self.operandsKey, Self.zeroKey] where stage.contains(key) {
            if let reader = problems.attempt({ () throws(InputError) in try stage.reader(key) }) {
                written[key] = reader.object
            } else {
                unreadable.insert(key)
            }
        }
        let opsPath = stage.path.appending("ops")
        var used = Set<ValueID>()
        if let operations {
            for op in operations { used.insert(graph.operations[op].result); used.formUnion(graph.operations[op].inputs) }
        }
        /// The stage's op named `name`, or the problem with it (checked against the stage only when its ops are known).
        func stageOperation(_ name: String, at path: JSONPath, what: String) throws(InputError) -> Operation {
            guard let id = graph.value(named: name), let op = graph[id].operationIndex else {
                throw InputError(.undefinedName, at: path, "\(what) names ops, and the graph has no op \"\(name)\"")
            }
            if let operations, !operations.contains(op) {
                throw InputError(.invalidReference, at: JSONPath.latest([path, opsPath], in: document), "op \"\(name)\" is not one of this stage's ops")
            }
            return graph.operations[op]
        }
        for (name, value) in written[Self.shardingsKey]?.members ?? [] {
            let path = stage.path.appending(Self.shardingsKey).appending(name)
            let spec = problems.attempt { () throws(InputError) -> ShardingSpec? in
                guard let id = graph.value(named: name) else { throw InputError(.undefinedName, at: path, "the graph has no tensor named \"\(name)\"") }
                if operations != nil && !used.contains(id) {
                    throw InputError(.invalidReference, at: JSONPath.latest([path, opsPath], in: document),
                                     "tensor \"\(name)\" is neither made nor read by this stage's ops; shardings names the tensors of its stage")
                }
                return try Self.layout(value, rank: graph[id].type.rank, axes: axes, at: path, document: document)
            }
            if let spec = spec ?? nil { shardings[name] = spec } else { unknown[Self.shardingsKey, default: []].insert(name) }
        }
        for (name, value) in written[Self.partialSumsKey]?.members ?? [] {
            let path = stage.path.appending(Self.partialSumsKey).appending(name)
            let sums = problems.attempt { () throws(InputError) -> [Int]? in
                _ = try stageOperation(name, at: path, what: "partial_sums")
                guard case .array(let elements) = value else {
                    throw InputError(.wrongType, at: path, "expected a list of mesh axis names, found \(JSONReader.describe(value))")
                }
                var sums: [Int] = []
                for (position, element) in elements.enumerated() {
                    guard let axis = try Self.axis(element, axes: axes, at: path.appending(index: position), document: document) else { return nil }
                    guard !sums.contains(axis) else {
                        throw InputError(.invalidValue, at: path.appending(index: position), "mesh axis \"\(axes?.names[axis] ?? "")\" is listed twice")
                    }
                    sums.append(axis)
                }
                if written[Self.shardingsKey]?[name] == nil && !unreadable.contains(Self.shardingsKey) {
                    // Where the stage has no shardings at all, the partial sums are what the document says.
                    let shardingsPath = stage.path.appending(Self.shardingsKey)
                    throw InputError(.invalidReference, at: stage.contains(Self.shardingsKey) ? JSONPath.latest([path, shardingsPath], in: document) : path,
                                     "op \"\(name)\" has partial sums but no layout in shardings")
                }
                return sums.sorted()
            }
            if let sums = sums ?? nil { partialSums[name] = sums } else { unknown[Self.partialSumsKey, default: []].insert(name) }
        }
        for (name, value) in written[Self.operandsKey]?.members ?? [] {
            let path = stage.path.appending(Self.operandsKey).appending(name)
            guard let operation = problems.attempt({ () throws(InputError) -> Operation in
                let operation = try stageOperation(name, at: path, what: "operand_shardings")
                guard case .array(let entries) = value, entries.count == operation.inputs.count else {
                    throw InputError(.invalidValue, at: path, "expected a list with one entry per operand (\(operation.inputs.count)): null or a layout")
                }
                return operation
            }), case .array(let entries) = value else {
                unknown[Self.operandsKey, default: []].insert(name)
                continue
            }
            var reads: [OperandLayout] = []
            for (operand, entry) in entries.enumerated() {
                guard entry != .null else { reads.append(.held); continue }
                let rank = graph[operation.inputs[operand]].type.rank
                let spec = problems.attempt { () throws(InputError) in
                    try Self.layout(entry, rank: rank, axes: axes, at: path.appending(index: operand), document: document)
                }
                reads.append((spec ?? nil).map { .stated($0) } ?? .unknown)
            }
            operandLayouts[name] = reads
        }
        for (name, value) in written[Self.zeroKey]?.members ?? [] {
            let path = stage.path.appending(Self.zeroKey).appending(name)
            let stageNumber = problems.attempt { () throws(InputError) -> Int in
                guard let id = graph.value(named: name), graph[id].isParameter else {
                    throw InputError(.undefinedName, at: path, "zero_stages names parameters, and the graph has no parameter \"\(name)\"")
                }
                if operations != nil && !used.contains(id) {
                    throw InputError(.invalidReference, at: JSONPath.latest([path, opsPath], in: document), "parameter \"\(name)\" is not read by this stage's ops")
                }
                guard let number = JSONReader.integer(value), (0 ... 3).contains(number) else {
                    throw InputError(.invalidValue, at: path, "expected a ZeRO stage 0, 1, 2 or 3, found \(JSONReader.describe(value))")
                }
                return number
            }
            if let stageNumber { zeroStages[name] = stageNumber } else { unknown[Self.zeroKey, default: []].insert(name) }
        }
    }

    /// Whether `member`'s entry for `name` is unknown (it, or the whole member, has a problem).
    func isUnknown(_ member: String, _ name: String) -> Bool {
        unreadable.contains(member) || unknown[member]?.contains(name) == true
    }

    /// The path of `member`'s entry for `name`, when the document has one.
    func path(_ member: String, _ name: String) -> JSONPath? {
        written[member]?[name] == nil ? nil : stagePath.appending(member).appending(name)
    }

    /// The layout the stage states for op `name`'s result, partial sums included; nil when it states none.
    func resultSpec(of name: String) -> ShardingSpec? {
        guard var spec = shardings[name] else { return nil }
        spec.partialAxes = partialSums[name] ?? []
        return spec
    }

    /// A layout: one entry per dimension, `null` or the list of mesh axes splitting it, each axis used once.
    /// Nil when `axes` is unknown (the layout's shape is still checked).
    static func layout(_ value: JSONValue, rank: Int, axes: (names: [String], path: JSONPath)?, at path: JSONPath,
                       document: JSONValue) throws(InputError) -> ShardingSpec? {
        guard case .array(let entries) = value else {
            throw InputError(.wrongType, at: path, "expected a layout, a list with one entry per dimension (null or a list of mesh axis names), found \(JSONReader.describe(value))")
        }
        guard entries.count == rank else {
            throw InputError(.invalidValue, at: path, "\(entries.count) entr\(entries.count == 1 ? "y" : "ies") for a tensor of rank \(rank); a layout has one entry per dimension")
        }
        var dimensions: [[Int]] = []
        var known = true
        for (dimension, entry) in entries.enumerated() {
            let here = path.appending(index: dimension)
            switch entry {
            case .null:
                dimensions.append([])
            case .array(let names):
                var list: [Int] = []
                for (position, name) in names.enumerated() {
                    guard let axis = try Self.axis(name, axes: axes, at: here.appending(index: position), document: document) else {
                        known = false
                        continue
                    }
                    guard !dimensions.contains(where: { $0.contains(axis) }) && !list.contains(axis) else {
                        throw InputError(.invalidValue, at: here.appending(index: position),
                                         "mesh axis \"\(axes?.names[axis] ?? "")\" already splits a dimension; a layout uses each axis once")
                    }
                    list.append(axis)
                }
                dimensions.append(list)
            default:
                throw InputError(.wrongType, at: here, "expected null or a list of mesh axis names, found \(JSONReader.describe(entry))")
            }
        }
        return known ? ShardingSpec(dimensionAxes: dimensions) : nil
    }

    /// The index of the mesh axis `value` names; nil when the stage's axes are unknown.
    private static func axis(_ value: JSONValue, axes: (names: [String], path: JSONPath)?, at path: JSONPath,
                             document: JSONValue) throws(InputError) -> Int? {
        guard case .string(let name) = value else {
            throw InputError(.wrongType, at: path, "expected a mesh axis name, found \(JSONReader.describe(value))")
        }
        guard let axes else { return nil }
        guard let axis = axes.names.firstIndex(of: name) else {
            throw InputError(.invalidReference, at: JSONPath.latest([path, axes.path], in: document),
                             "unknown mesh axis \"\(name)\"; the stage's axes are \(axes.names.map { "\"\($0)\"" }.joined(separator: ", "))")
        }
        return axis
    }
}
