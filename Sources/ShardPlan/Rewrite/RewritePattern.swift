/// A class of operators a pattern accepts, with a name for the rules table ("einsum of two operands").
struct OperatorKind: Sendable {
    var name: String
    var accepts: @Sendable (Operation) -> Bool
}

/// One operand of a pattern op.
indirect enum OperandPattern: Sendable {
    /// Any tensor, bound to the name (a name used twice must be the same tensor).
    case value(String)
    /// A parameter, bound to the name; `exclusive`: the op is its only reader, so the rewrite may replace it.
    case parameter(String, exclusive: Bool)
    /// The result of an op matching the pattern.
    case operation(OpPattern)
}

/// An op of a pattern: its kind and operands (nil: any operands, unbound), bound to `name`. A non-root op
/// marked `exclusive` is read only by the op above it in the pattern and is not a graph output, so the
/// rewrite may remove it.
struct OpPattern: Sendable {
    var name: String
    var kind: OperatorKind
    var operands: [OperandPattern]?
    var exclusive: Bool

    init(_ name: String, _ kind: OperatorKind, _ operands: [OperandPattern]? = nil, exclusive: Bool = true) {
        self.name = name
        self.kind = kind
        self.operands = operands
        self.exclusive = exclusive
    }
}

/// What a rule looks for in a graph.
enum RewritePattern: Sendable {
    /// A tree of ops hanging from one root op (the root is the op whose result the rewrite replaces).
    case tree(OpPattern)
    /// Two or more ops matching `member` that all read one tensor at operand `sharedOperand` (bound as
    /// `shared`), grouped by `key` (nil: the op takes part in no group): each group is one match.
    case siblings(member: OpPattern, sharedOperand: Int, key: @Sendable (RewriteMatch, RewriteContext) -> String?)
    /// A search of its own, for patterns of a variable shape (isomorphic branches).
    case custom(@Sendable (RewriteContext) -> [RewriteMatch])
}

/// A graph being matched against, with each value's readers.
struct RewriteContext: Sendable {
    let graph: Graph
    let consumers: [[Int]]

    init(_ graph: Graph) {
        self.graph = graph
        consumers = graph.consumers()
    }

    /// The ops that read `id`.
    func readers(of id: ValueID) -> [Int] { consumers[id.rawValue] }

    /// Whether op `reader` is the only reader of `id` and `id` is not a graph output.
    func isOnlyReader(_ reader: Int, of id: ValueID) -> Bool {
        consumers[id.rawValue] == [reader] && !graph.outputs.contains(id)
    }

    func operation(_ index: Int) -> Operation { graph.operations[index] }
    func type(_ id: ValueID) -> TensorType { graph[id].type }
}

/// Where a pattern matched: the ops and values its names are bound to.
struct RewriteMatch: Sendable {
    var operations: [String: Int] = [:]
    var values: [String: ValueID] = [:]
    /// For a sibling pattern, each member's own binding, in op order.
    var members: [RewriteMatch] = []
    /// The matched ops in pattern order (siblings: member after member).
    var anchors: [Int] = []

    subscript(operation name: String) -> Int { operations[name]! }
    subscript(value name: String) -> ValueID { values[name]! }
}

extension RewritePattern {
    /// Every match in `context`'s graph, in the order of the first anchor; with `root`, only matches whose
    /// first anchor is that op.
    func matches(in context: RewriteContext, rootedAt root: Int? = nil) -> [RewriteMatch] {
        switch self {
        case .tree(let pattern):
            let roots = root.map { [$0] } ?? Array(context.graph.operations.indices)
            return roots.compactMap { index in
                var match = RewriteMatch()
                return Self.bind(pattern, at: index, parent: nil, in: context, into: &match) ? match : nil
            }
        case .siblings(let member, let position, let key):
            var groups: [(shared: ValueID, key: String, members: [RewriteMatch])] = []
            var seen = Set<[Int]>()
            let operations = root.map { [$0] } ?? Array(context.graph.operations.indices)
            for index in operations {
                let operation = context.operation(index)
                guard operation.inputs.indices.contains(position) else { continue }
                let shared = operation.inputs[position]
                var byKey: [String: [RewriteMatch]] = [:]
                var order: [String] = []
                for reader in context.readers(of: shared) where context.operation(reader).inputs.indices.contains(position)
                    && context.operation(reader).inputs[position] == shared {
                    var match = RewriteMatch()
                    guard Self.bind(member, at: reader, parent: nil, in: context, into: &match),
                          let memberKey = key(match, context) else { continue }
                    if byKey[memberKey] == nil { order.append(memberKey) }
                    byKey[memberKey, default: []].append(match)
                }
                for memberKey in order {
                    let members = byKey[memberKey]!
                    guard members.count >= 2, root.map({ root in members[0].anchors[0] == root }) ?? true else { continue }
                    let roots = members.map { $0.anchors[0] }
                    if seen.insert(roots).inserted { groups.append((shared, memberKey, members)) }
                }
            }
            return groups.map { group in
                var match = RewriteMatch()
                match.values["shared"] = group.shared
                match.members = group.members
                match.anchors = group.members.flatMap(\.anchors)
                return match
            }.sorted { $0.anchors[0] < $1.anchors[0] }
        case .custom(let search):
            let found = search(context)
            return root.map { root in found.filter { $0.anchors.first == root } } ?? found
        }
    }

    /// Binds `pattern` at op `index` (whose result `parent` reads, if any) into `match`.
    private static func bind(_ pattern: OpPattern, at index: Int, parent: Int?, in context: RewriteContext,
                             into match: inout RewriteMatch) -> Bool {
        let operation = context.operation(index)
        guard pattern.kind.accepts(operation) else { return false }
        if let parent, pattern.exclusive, !context.isOnlyReader(parent, of: operation.result) { return false }
        if let bound = match.operations[pattern.name], bound != index { return false }
        match.operations[pattern.name] = index
        match.anchors.append(index)
        guard let operands = pattern.operands else { return true }
        guard operands.count == operation.inputs.count else { return false }
        for (operand, input) in zip(operands, operation.inputs) {
            switch operand {
            case .value(let name):
                if let bound = match.values[name], bound != input { return false }
                match.values[name] = input
            case .parameter(let name, let exclusive):
                guard context.graph[input].isParameter, !exclusive || context.readers(of: input) == [index] else { return false }
                if let bound = match.values[name], bound != input { return false }
                match.values[name] = input
            case .operation(let inner):
                guard let producer = context.graph[input].operationIndex,
                      bind(inner, at: producer, parent: index, in: context, into: &match) else { return false }
                match.values[inner.name] = input
            }
        }
        return true
    }
}
