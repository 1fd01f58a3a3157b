extension Graph {
    /// The graph a document's rewrites describe: each record re-derived from its rule on the graph the
    /// records before it leave, required to equal the record, then applied. `paths` says where each record
    /// sits in its document (for error messages). A document cannot smuggle an unchecked change in: what
    /// is planned and scored is what the rules give.
    public func replaying(_ records: [GraphRewrite], at paths: [JSONPath]) throws(InputError) -> Graph {
        var graph = self
        var context = RewriteContext(graph)
        var batch: [GraphRewrite] = []
        var defined = Set<String>()
        for (record, path) in zip(records, paths) {
            if !defined.isDisjoint(with: record.referencedNames) {
                graph = try graph.applying(batch)
                context = RewriteContext(graph)
                batch = []
                defined = []
            }
            guard let rule = RewriteCatalog.rule(named: record.rule) else {
                throw InputError(.invalidReference, at: path.appending("rule"),
                                 "unknown rewrite rule \"\(record.rule)\"; known: \(RewriteCatalog.rules.map(\.name).joined(separator: ", "))")
            }
            let site = "ops \(record.anchors.map { "\"\($0)\"" }.joined(separator: ", "))"
            guard let derived = rule.rewrite(anchoredAt: record.anchors, choice: record.choice, in: context) else {
                throw InputError(.invalidValue, at: path,
                                 "rule \(record.rule) does not apply at \(site) (alternative \(record.choice)); a plan's rewrites apply, in order, to the graph it was made from")
            }
            guard derived == record else {
                throw InputError(.invalidValue, at: path,
                                 "the rewrite differs from what rule \(record.rule) gives at \(site); rewrites are re-derived from their rules, so edit the rule's inputs, not the record")
            }
            batch.append(record)
            defined.formUnion(record.definedNames)
            defined.formUnion(record.removedOperations)
        }
        return batch.isEmpty ? graph : try graph.applying(batch)
    }
}
