/// The heads of an attention op: its query heads and its key/value heads (fewer under grouped-query attention).
/// Frameworks split attention over tensor-parallel ranks by whole heads of both
/// (`MegatronConfiguration.unrunnableHeadSplit`).
public struct AttentionHeads: Hashable, Sendable {
    public var query: Int
    public var keyValue: Int

    public init(query: Int, keyValue: Int) {
        self.query = query
        self.keyValue = keyValue
    }

    /// The heads of attention op `operation` of `graph`: its q's heads, and the key/value heads its k holds before a
    /// repetition (`KeyValueRepetition`) copied each to its group of query heads, else its k's heads.
    public init(of operation: Operation, in graph: Graph) {
        let key = operation.inputs[1]
        let heads = graph[key].type.shape[2]
        self.init(query: graph[operation.inputs[0]].type.shape[2],
                  keyValue: heads / (KeyValueRepetition.copies(ofAxis: 2, of: key, in: graph) ?? 1))
    }

    /// The distinct head counts of `graph`'s attention ops, fewest query heads first.
    public static func all(in graph: Graph) -> [AttentionHeads] {
        var found = Set<AttentionHeads>()
        for operation in graph.operations {
            guard case .attention = operation.op else { continue }
            found.insert(AttentionHeads(of: operation, in: graph))
        }
        return found.sorted { ($0.query, $0.keyValue) < ($1.query, $1.keyValue) }
    }

    /// The counts of `heads` that `ranks` ranks (tensor-parallel, or tensor- times context-parallel under the
    /// all-to-all exchange) do not split whole, each once, in order, as a phrase: "4 query heads or 2 key/value heads";
    /// nil where they split every one.
    public static func undivided(_ heads: [AttentionHeads], over ranks: Int) -> String? {
        var counts: [String] = []
        for count in heads.flatMap({ $0.undivided(over: ranks) }) where !counts.contains(count) { counts.append(count) }
        guard let last = counts.last else { return nil }
        return counts.count == 1 ? last : counts.dropLast().joined(separator: ", ") + " or " + last
    }

    /// Whether `ranks` ranks (at least 1) each take whole query heads and whole key/value heads.
    public func divide(over ranks: Int) -> Bool {
        undivided(over: ranks).isEmpty
    }

    /// The counts `ranks` ranks (at least 1) do not split whole: "4 query heads", "2 key/value heads",
    /// or "6 heads" where every query head has its own key and value.
    public func undivided(over ranks: Int) -> [String] {
        guard ranks > 1 else { return [] }
        if query == keyValue { return query % ranks == 0 ? [] : ["\(query) heads"] }
        return [(query, "query"), (keyValue, "key/value")].filter { $0.0 % ranks != 0 }.map { "\($0.0) \($0.1) heads" }
    }
}
