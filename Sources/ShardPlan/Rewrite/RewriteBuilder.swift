/// Builds the diff of one rewrite: a rule's replacement removes the ops it matched, adds new ops and
/// parameters by name, and renames values; `finish` checks that the result fits the graph (every removed
/// value still read is defined anew with its type or renamed, the new ops have a place in the op order)
/// and chooses where the new ops go.
struct RewriteBuilder {
    let context: RewriteContext
    var graph: Graph { context.graph }
    var consumers: [[Int]] { context.consumers }
    private(set) var removed: [Int] = []
    private(set) var added: [RewriteOperation] = []
    private var addedTypes: [String: TensorType] = [:]
    private(set) var removedParameters: [ValueID] = []
    private(set) var parameters: [DerivedParameter] = []
    private(set) var renamed: [(old: ValueID, new: String)] = []

    init(_ context: RewriteContext) { self.context = context }

    /// A value of the graph, as the replacement reads it.
    func value(_ id: ValueID) -> RewriteValue { RewriteValue(name: graph[id].name, type: graph[id].type) }

    /// The result of op `operation`, as the replacement reads it.
    func result(_ operation: Int) -> RewriteValue { value(graph.operations[operation].result) }

    /// Removes op `operation` (its place may take the new ops).
    mutating func remove(_ operation: Int) {
        if !removed.contains(operation) { removed.append(operation) }
    }

    /// A name no value of the graph or of this rewrite has: `base`, else `base~2`, `base~3`, ...
    func freshName(_ base: String) -> String {
        func taken(_ name: String) -> Bool {
            graph.value(named: name) != nil || addedTypes[name] != nil || parameters.contains { $0.name == name }
        }
        if !taken(base) { return base }
        var suffix = 2
        while taken("\(base)~\(suffix)") { suffix += 1 }
        return "\(base)~\(suffix)"
    }

    /// Adds an op named `name` (a removed op's name, defining its value anew, or a fresh one). `like` is the
    /// op whose unread attributes it keeps (`RewriteOperation.attributesFrom`).
    @discardableResult
    mutating func add(_ name: String, _ op: Operator, _ inputs: [RewriteValue], like: Int? = nil) throws(RewriteRefusal) -> RewriteValue {
        let (normalized, result) = try Operator.checked(op, inputs.map(\.type))
        guard addedTypes[name] == nil else { throw RewriteRefusal("the rewrite defines \"\(name)\" twice") }
        added.append(RewriteOperation(name: name, op: normalized, inputs: inputs.map(\.name),
                                      attributesFrom: like.map { graph.operations[$0].name }))
        addedTypes[name] = result
        return RewriteValue(name: name, type: result)
    }

    /// Stops reading parameter `id` (every op that reads it must be removed).
    mutating func removeParameter(_ id: ValueID) {
        if !removedParameters.contains(id) { removedParameters.append(id) }
    }

    /// A new parameter named from `base`, computed from the graph's parameters by `derive`.
    mutating func parameter(_ base: String, _ derive: (inout ParameterDerivation) throws(RewriteRefusal) -> Void) throws(RewriteRefusal) -> RewriteValue {
        let name = freshName(base)
        var derivation = ParameterDerivation(graph: graph, target: name)
        try derive(&derivation)
        let parameter = try derivation.finish()
        parameters.append(parameter)
        return RewriteValue(name: name, type: parameter.type)
    }

    /// The readers of removed op result `old` read `new` instead.
    mutating func rename(_ old: ValueID, to new: RewriteValue) {
        renamed.append((old, new.name))
    }

    /// The rewrite: `anchors` are the matched ops (by index) and `choice` the alternative taken.
    func finish(rule: String, anchors: [Int], choice: Int) throws(RewriteRefusal) -> GraphRewrite {
        let removedSet = Set(removed)
        let removedNames = Set(removed.map { graph.operations[$0].name })
        let addedNames = Set(added.map(\.name))
        for operation in added where graph.value(named: operation.name) != nil && !removedNames.contains(operation.name) {
            throw RewriteRefusal("the new op \"\(operation.name)\" would take the name of a value the graph keeps")
        }
        let renamedNames = Dictionary(renamed.map { (graph[$0.old].name, $0.new) }, uniquingKeysWith: { first, _ in first })
        // Every removed value something still reads keeps a definition: a new op of the same name and type,
        // or a rename to a value defined before each reader.
        var earliestReader: [String: Int] = [:]
        for index in removed {
            let result = graph.operations[index].result
            let readers = consumers[result.rawValue].filter { !removedSet.contains($0) }
            let isOutput = graph.outputs.contains(result)
            guard !readers.isEmpty || isOutput else { continue }
            let name = graph[result].name
            if addedNames.contains(name) {
                guard addedTypes[name] == graph[result].type else {
                    throw RewriteRefusal("the new \"\(name)\" is \(addedTypes[name]!), the value it replaces \(graph[result].type)")
                }
                if let first = readers.min() { earliestReader[name] = first }
            } else if let target = renamedNames[name] {
                guard !isOutput else { throw RewriteRefusal("\"\(name)\" is a graph output and cannot be renamed away") }
                if let existing = graph.value(named: target), let producer = graph[existing].operationIndex {
                    guard !removedSet.contains(producer), readers.allSatisfy({ $0 > producer }) else {
                        throw RewriteRefusal("\"\(target)\" is not defined before every reader of \"\(name)\"")
                    }
                } else if addedNames.contains(target), let first = readers.min() {
                    earliestReader[target] = min(earliestReader[target] ?? first, first)
                }
            } else {
                throw RewriteRefusal("\"\(name)\" is still read but the rewrite leaves it undefined")
            }
        }
        for id in removedParameters where consumers[id.rawValue].contains(where: { !removedSet.contains($0) }) {
            throw RewriteRefusal("parameter \"\(graph[id].name)\" is still read by an op the rewrite keeps")
        }
        // New ops read values of the graph that are defined, and not removed, before the place they take.
        var latestInput = -1
        var available = Set(parameters.map(\.name))
        for operation in added {
            for input in operation.inputs where !available.contains(input) {
                guard let id = graph.value(named: input) else { throw RewriteRefusal("\"\(input)\" is not defined") }
                if let producer = graph[id].operationIndex {
                    guard !removedSet.contains(producer) else { throw RewriteRefusal("\"\(input)\" is removed by the rewrite") }
                    latestInput = max(latestInput, producer)
                } else if graph[id].isParameter && removedParameters.contains(id) {
                    throw RewriteRefusal("parameter \"\(input)\" is removed by the rewrite")
                }
            }
            available.insert(operation.name)
        }
        var insertion: Int?
        if !added.isEmpty {
            let firstReader = earliestReader.values.min() ?? Int.max
            insertion = removed.sorted().first { $0 > latestInput && $0 < firstReader }
            guard insertion != nil else { throw RewriteRefusal("no place in the op order fits the new ops") }
        }
        let layer = insertion.flatMap { graph.operations[$0].layer }
        return GraphRewrite(
            rule: rule, anchors: anchors.map { graph.operations[$0].name }, choice: choice,
            removedOperations: removed.sorted().map { graph.operations[$0].name },
            insertionPoint: insertion.map { graph.operations[$0].name },
            addedOperations: added.map { operation in
                var placed = operation
                placed.layer = layer
                return placed
            },
            removedParameters: removedParameters.map { graph[$0].name },
            addedParameters: parameters,
            renamedValues: renamedNames)
    }
}
