/// A trained parameter that ops in several groups read (a tied embedding table, read by the lookup in the first
/// clustered layer or pipeline rank and by the output layer in the last), with its first reader in each group, in
/// the order the ops come. The stage DP's oracle groups ops by clustered layer (`SharedParameterReaders`), the
/// evaluator and the Megatron grid's estimate by pipeline rank (`PlanEvaluator.sharedParameterSynchronization`).
struct ParameterReaders: Sendable {
    /// A parameter's first reading op in one group, and which of its operands the parameter is.
    struct Reader: Sendable {
        var group: Int
        var operation: Int
        var operand: Int
    }

    var value: ValueID
    var readers: [Reader]

    /// The trained (not frozen) parameters of `graph` that ops of more than one group read, in the order of their
    /// first readers, for `operations` in order, each with its group.
    static func shared(in graph: Graph, operations: some Sequence<(operation: Int, group: Int)>) -> [ParameterReaders] {
        var readers: [ValueID: [Reader]] = [:]
        var groups: [ValueID: Set<Int>] = [:]
        var order: [ValueID] = []
        for (op, group) in operations {
            for (operand, input) in graph.operations[op].inputs.enumerated()
            where graph[input].isParameter && !graph[input].isFrozen && groups[input, default: []].insert(group).inserted {
                if readers[input] == nil { order.append(input) }
                readers[input, default: []].append(Reader(group: group, operation: op, operand: operand))
            }
        }
        return order.compactMap { value in readers[value]!.count > 1 ? ParameterReaders(value: value, readers: readers[value]!) : nil }
    }
}
