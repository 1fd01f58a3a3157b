/// Embedding tables merged or split (Unity's embedding substitutions, for DLRM-style models with many
/// tables).
extension RewriteRule {
    /// The member pattern of the embedding rules: a lookup in a table only it reads.
    private static let lookup = OpPattern("lookup", .embedding, [.value("ids"), .parameter("table", exclusive: true)], exclusive: false)

    /// Lookups of the same ids in tables with as many rows become one lookup in the tables concatenated
    /// along the hidden dimension; each result is a slice of it.
    static let mergeSharedIdEmbeddings = RewriteRule(
        "merge-shared-id-embeddings", family: .embedding, inverse: "split-embedding-by-hidden",
        summary: "Lookups of the same ids in tables of equal vocabulary become one lookup in the tables joined along the hidden dimension; each result is a slice",
        source: "Unity: embedding tables merged into one operator; an embedding is a matmul of one-hot ids, so this is TASO's shared-input matmul concatenation",
        pattern: .siblings(member: lookup, sharedOperand: 0) { match, context in
            let table = context.type(match[value: "table"])
            return "\(table.shape[0])|\(table.dtype)"
        },
        replacement: { match, _, builder throws(RewriteRefusal) in
            let context = builder.context
            let lookups = match.members.map { $0[operation: "lookup"] }
            let tables = match.members.map { $0[value: "table"] }
            let table = try builder.parameter(mergedName(tables.map { context.graph[$0].name })) { derivation throws(RewriteRefusal) in
                _ = try derivation.add(.concat(axis: 1), tables.map(derivation.parameter))
            }
            let merged = try builder.add(builder.freshName(mergedName(lookups.map { context.operation($0).name })), .embedding,
                                         [builder.value(match[value: "shared"]), table])
            let axis = merged.type.rank - 1
            var offset = 0
            for (lookup, table) in zip(lookups, tables) {
                let width = context.type(table).shape[1]
                try builder.add(context.operation(lookup).name, .slice(axis: axis, start: offset, end: offset + width), [merged])
                offset += width
                builder.remove(lookup)
                builder.removeParameter(table)
            }
        })

    /// A lookup whose result only slices along the hidden dimension read becomes one lookup per slice in
    /// that slice of the table.
    static let splitEmbeddingByHidden = RewriteRule(
        "split-embedding-by-hidden", family: .embedding,
        summary: "A lookup read only by slices that cut the hidden dimension into pieces becomes one lookup per piece in that slice of the table",
        source: "Unity: embedding tables split; the inverse of merge-shared-id-embeddings",
        pattern: .tree(lookup),
        conditions: [SideCondition("the result is read only by slices cutting its last (hidden) dimension into consecutive pieces") { match, context in
            let result = context.operation(match[operation: "lookup"]).result
            return context.partition(of: result)?.axis == context.type(result).rank - 1
        }],
        replacement: { match, _, builder throws(RewriteRefusal) in
            let context = builder.context
            let lookup = context.operation(match[operation: "lookup"])
            guard let (_, slices) = context.partition(of: lookup.result) else { return }
            let tableName = context.graph[match[value: "table"]].name
            for (position, slice) in slices.enumerated() {
                guard case .slice(_, let start, let end, nil) = context.operation(slice).op else { continue }
                let table = try builder.parameter("\(tableName).part\(position)") { derivation throws(RewriteRefusal) in
                    _ = try derivation.add(.slice(axis: 1, start: start, end: end), [derivation.parameter(match[value: "table"])])
                }
                try builder.add(context.operation(slice).name, .embedding, [builder.value(match[value: "ids"]), table])
                builder.remove(slice)
            }
            builder.remove(match[operation: "lookup"])
            builder.removeParameter(match[value: "table"])
        })

    /// Lookups of ids of one shape in tables of one hidden size (BERT's word and token-type embeddings)
    /// become one lookup in the tables stacked by rows, each table's ids offset by the rows before it.
    static let mergeEmbeddingTables = RewriteRule(
        "merge-embedding-tables", family: .embedding,
        summary: "Lookups of different ids of one shape in tables of one hidden size become one lookup in the tables joined by rows (each table's ids offset by the rows before it)",
        source: "Unity: embedding tables merged into one (DLRM's many tables)",
        pattern: .custom { context in
            var groups: [String: [Int]] = [:]
            var order: [String] = []
            for (index, operation) in context.graph.operations.enumerated() where operation.op == .embedding {
                let (ids, table) = (operation.inputs[0], operation.inputs[1])
                guard context.graph[table].isParameter, context.readers(of: table) == [index] else { continue }
                let key = "\(context.type(ids))|\(context.type(table).shape[1])|\(context.type(table).dtype)"
                if groups[key] == nil { order.append(key) }
                groups[key, default: []].append(index)
            }
            return order.compactMap { key in
                let lookups = groups[key]!
                guard lookups.count >= 2, Set(lookups.map { context.operation($0).inputs[0] }).count == lookups.count else { return nil }
                return RewriteMatch(anchors: lookups)
            }
        },
        conditions: [SideCondition("the row counts fit the ids' integer type") { match, context in
            let ids = context.type(context.operation(match.anchors[0]).inputs[0]).dtype
            let rows = match.anchors.reduce(0) { $0 + context.type(context.operation($1).inputs[1]).shape[0] }
            return ids == .i64 || (ids == .i32 && rows < Int(Int32.max)) || (ids == .i8 && rows < Int(Int8.max))
        }],
        replacement: { match, _, builder throws(RewriteRefusal) in
            let context = builder.context
            let lookups = match.anchors
            let tables = lookups.map { context.operation($0).inputs[1] }
            let name = mergedName(lookups.map { context.operation($0).name })
            var stacked: [RewriteValue] = []
            var offset = 0
            for (position, lookup) in lookups.enumerated() {
                var ids = builder.value(context.operation(lookup).inputs[0])
                if offset > 0 {
                    let shift = try builder.add(builder.freshName("\(name).offset\(position)"),
                                                .constant(shape: [], dtype: ids.type.dtype, value: Double(offset)), [])
                    ids = try builder.add(builder.freshName("\(name).ids\(position)"), .binary(.add), [ids, shift])
                }
                stacked.append(try builder.add(builder.freshName("\(name).ids\(position).row"), .reshape(shape: [1] + ids.type.shape), [ids]))
                offset += context.type(tables[position]).shape[0]
            }
            let ids = try builder.add(builder.freshName("\(name).ids"), .concat(axis: 0), stacked)
            let table = try builder.parameter(mergedName(tables.map { context.graph[$0].name })) { derivation throws(RewriteRefusal) in
                _ = try derivation.add(.concat(axis: 0), tables.map(derivation.parameter))
            }
            let merged = try builder.add(builder.freshName(name), .embedding, [ids, table])
            for (position, lookup) in lookups.enumerated() {
                let result = context.type(context.operation(lookup).result)
                let part = try builder.add(builder.freshName("\(context.operation(lookup).name).part"),
                                           .slice(axis: 0, start: position, end: position + 1), [merged])
                try builder.add(context.operation(lookup).name, .reshape(shape: result.shape), [part])
                builder.remove(lookup)
                builder.removeParameter(tables[position])
            }
        })
}
