/// Parallel branches of the same shape run as one batched branch (TASO's and Unity's operator batching):
/// k chains of ops that start from one tensor and match op for op (multi-tower models, Inception paths,
/// per-head projections) become one chain over a new leading axis of size k, their weights stacked. The
/// new axis is an index the sharding search can split: each device group runs whole branches, with no
/// communication inside them, which no sharding of the separate branches can express.
extension RewriteRule {
    static let batchParallelBranches = RewriteRule(
        "batch-parallel-branches", family: .batching,
        summary: "k chains of ops of the same shape that start from one tensor run as one chain over a new leading axis of size k (weights stacked); a concat joining them becomes a transpose and a reshape, other readers read slices",
        source: "TASO (Jia et al. SOSP'19) and Unity (Unger et al. OSDI'22): batching of identical operators on different inputs, extended here along whole branches",
        pattern: .custom(ParallelBranches.matches),
        replacement: { match, _, builder throws(RewriteRefusal) in try ParallelBranches(match).replace(&builder) })
}

/// Branches found by `batch-parallel-branches`: `operations[position][branch]`.
struct ParallelBranches {
    var operations: [[Int]]

    init(_ match: RewriteMatch) {
        let length = match.members[0].anchors.count
        operations = (0..<length).map { position in match.members.map { $0.anchors[position] } }
    }

    var branchCount: Int { operations[0].count }

    /// Every set of branches in the graph: groups of equal ops reading one tensor, extended op by op while
    /// each branch's op is read only by the next, equal, op.
    static func matches(in context: RewriteContext) -> [RewriteMatch] {
        let graph = context.graph
        var found: [RewriteMatch] = []
        var seen = Set<[Int]>()
        for value in graph.values.indices.map(ValueID.init) {
            var groups: [OperationFingerprint: [Int]] = [:]
            var order: [OperationFingerprint] = []
            for reader in context.readers(of: value) where batchable(context.operation(reader)) {
                let fingerprint = OperationFingerprint(context.operation(reader), in: graph)
                if groups[fingerprint] == nil { order.append(fingerprint) }
                groups[fingerprint, default: []].append(reader)
            }
            for fingerprint in order {
                let heads = groups[fingerprint]!
                guard heads.count >= 2, roles(heads, previous: nil, context) != nil else { continue }
                var chain = [heads]
                while let next = nextOperations(after: chain, context) { chain.append(next) }
                let anchors = chain.flatMap { $0 }
                guard seen.insert(anchors).inserted else { continue }
                var match = RewriteMatch()
                match.members = heads.indices.map { branch in RewriteMatch(anchors: chain.map { $0[branch] }) }
                match.anchors = anchors
                found.append(match)
            }
        }
        return found.sorted { $0.anchors[0] < $1.anchors[0] }
    }

    /// The next op of every branch, when each branch's last op is read only by it and they match.
    private static func nextOperations(after chain: [[Int]], _ context: RewriteContext) -> [Int]? {
        let last = chain.last!
        var next: [Int] = []
        for op in last {
            let result = context.operation(op).result
            guard let reader = context.readers(of: result).first, context.isOnlyReader(reader, of: result),
                  batchable(context.operation(reader)), !next.contains(reader) else { return nil }
            next.append(reader)
        }
        let fingerprint = OperationFingerprint(context.operation(next[0]), in: context.graph)
        guard next.allSatisfy({ OperationFingerprint(context.operation($0), in: context.graph) == fingerprint }),
              roles(next, previous: last, context) != nil else { return nil }
        return next
    }

    /// What each operand of a position's ops is: the same tensor for all (shared), each branch's previous op
    /// (carried), or one parameter per branch that only its op reads (stacked).
    enum Role: Equatable { case shared, carried, stacked }

    /// Each operand's role for the ops `operations` of one position, or nil when they fit none.
    static func roles(_ operations: [Int], previous: [Int]?, _ context: RewriteContext) -> [Role]? {
        let first = context.operation(operations[0])
        var result: [Role] = []
        for operand in first.inputs.indices {
            let values = operations.map { context.operation($0).inputs[operand] }
            if Set(values).count == 1 {
                result.append(.shared)
            } else if let previous, values == previous.map({ context.operation($0).result }) {
                result.append(.carried)
            } else if zip(values, operations).allSatisfy({ value, op in context.graph[value].isParameter && context.readers(of: value) == [op] }),
                      Set(values.map(context.type)).count == 1 {
                result.append(.stacked)
            } else {
                return nil
            }
        }
        // Norms normalise over the op's own axes; a per-branch gamma or beta would need another layout.
        switch first.op {
        case .layerNorm, .rmsNorm: if result.dropFirst().contains(where: { $0 != .shared }) { return nil }
        default: break
        }
        return result
    }

    /// Ops with a batched form: a new leading axis changes only their axis attributes.
    static func batchable(_ operation: Operation) -> Bool {
        switch operation.op {
        case .einsum: OperatorKind.contraction.accepts(operation)
        case .unary, .cast, .dropout, .scale, .binary, .select, .softmax, .logSoftmax, .reduce, .layerNorm, .rmsNorm,
             .reshape, .transpose:
            true
        default: false
        }
    }

    /// The batched branch replacing the k branches.
    func replace(_ builder: inout RewriteBuilder) throws(RewriteRefusal) {
        let context = builder.context
        let count = branchCount
        var batched: RewriteValue?
        var previous: [Int]?
        for ops in operations {
            let first = context.operation(ops[0])
            guard let roles = Self.roles(ops, previous: previous, context) else { throw RewriteRefusal("the branches diverge") }
            let resultRank = context.type(first.result).rank
            var operands: [RewriteValue] = []
            for (operand, role) in roles.enumerated() {
                switch role {
                case .shared:
                    operands.append(builder.value(first.inputs[operand]))
                case .carried:
                    var value = batched!
                    if first.op.isElementwise && value.type.rank - 1 < resultRank {
                        value = try builder.add(builder.freshName("\(value.name).expanded"),
                                                .reshape(shape: expanded(value.type.shape, rank: resultRank + 1)), [value])
                    }
                    operands.append(value)
                case .stacked:
                    let parameters = ops.map { context.operation($0).inputs[operand] }
                    let padding = first.op.isElementwise ? resultRank - context.type(parameters[0]).rank : 0
                    operands.append(try builder.parameter(mergedName(parameters.map { context.graph[$0].name })) { derivation throws(RewriteRefusal) in
                        var rows: [RewriteValue] = []
                        for parameter in parameters {
                            let value = derivation.parameter(parameter)
                            rows.append(try derivation.add(.reshape(shape: [1] + Array(repeating: 1, count: padding) + value.type.shape), [value]))
                        }
                        _ = try derivation.add(.concat(axis: 0), rows)
                    })
                    for parameter in parameters { builder.removeParameter(parameter) }
                }
            }
            let op = try batchedOperator(first, roles: roles, count: count)
            let value = try builder.add(builder.freshName(mergedName(ops.map { context.operation($0).name })), op, operands, like: ops[0])
            guard value.type == TensorType([count] + context.type(first.result).shape, context.type(first.result).dtype) else {
                throw RewriteRefusal("the batched \(first.op.kindName) gives \(value.type)")
            }
            for op in ops { builder.remove(op) }
            batched = value
            previous = ops
        }
        try join(batched!, &builder)
    }

    /// Each branch's last value from the batched one: a concat of all of them (in order, along axis a)
    /// becomes moving the batch axis next to a and merging the two; other readers read a slice.
    private func join(_ batched: RewriteValue, _ builder: inout RewriteBuilder) throws(RewriteRefusal) {
        let context = builder.context
        let lasts = operations.last!.map { context.operation($0).result }
        if let reader = context.readers(of: lasts[0]).first, lasts.allSatisfy({ context.isOnlyReader(reader, of: $0) }),
           case .concat(let axis) = context.operation(reader).op, context.operation(reader).inputs == lasts {
            let concat = context.operation(reader)
            var moved = batched
            if axis > 0 {
                let rank = batched.type.rank
                let permutation = Array(1...axis) + [0] + Array((axis + 1)..<rank)
                moved = try builder.add(builder.freshName("\(concat.name).interleaved"), .transpose(permutation: permutation), [batched])
            }
            try builder.add(concat.name, .reshape(shape: context.type(concat.result).shape), [moved])
            builder.remove(reader)
            return
        }
        for (branch, last) in lasts.enumerated() {
            let name = context.graph[last].name
            let part = try builder.add(builder.freshName("\(name).part"), .slice(axis: 0, start: branch, end: branch + 1), [batched])
            try builder.add(name, .reshape(shape: context.type(last).shape), [part])
        }
    }

    /// The op of one position over a leading axis of size `count` on its per-branch operands.
    private func batchedOperator(_ operation: Operation, roles: [Role], count: Int) throws(RewriteRefusal) -> Operator {
        switch operation.op {
        case .einsum:
            var terms = operation.terms
            guard let letter = EinsumTerms.freshLetter(avoiding: terms.letters) else { throw RewriteRefusal("no einsum letter left") }
            for (operand, role) in roles.enumerated() where role != .shared { terms.operands[operand].insert(letter, at: 0) }
            terms.result.insert(letter, at: 0)
            return try terms.einsum
        case .softmax(let axis): return .softmax(axis: axis + 1)
        case .logSoftmax(let axis): return .logSoftmax(axis: axis + 1)
        case .reduce(let kind, let axes, let keep): return .reduce(kind, axes: axes.map { $0 + 1 }, keepDimensions: keep)
        case .layerNorm(let axes): return .layerNorm(axes: axes.map { $0 + 1 })
        case .rmsNorm(let axes): return .rmsNorm(axes: axes.map { $0 + 1 })
        case .reshape(let shape): return .reshape(shape: [count] + shape)
        case .transpose(let permutation): return .transpose(permutation: [0] + permutation.map { $0 + 1 })
        default:
            guard operation.op.isElementwise else { throw RewriteRefusal("\(operation.op.kindName) has no batched form") }
            return operation.op
        }
    }

    /// `[k] + shape[1...]` padded with size-1 axes after k to `rank`.
    private func expanded(_ shape: [Int], rank: Int) -> [Int] {
        [shape[0]] + Array(repeating: 1, count: rank - shape.count) + shape.dropFirst()
    }
}
