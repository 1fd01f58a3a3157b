/// Transposes and reshapes composed, folded into einsums, or moved across elementwise ops so that two ops
/// agree on a layout (TASO's transpose and reshape substitutions; Unity's layout rewrites).
extension RewriteRule {
    static let composeTransposes = RewriteRule(
        "compose-transposes", family: .layout,
        summary: "A transpose of a transpose becomes one transpose, or nothing when the two cancel",
        source: "TASO: the composition of two transposes is one transpose; inverse permutations cancel",
        pattern: .tree(OpPattern("outer", .transpose, [.operation(OpPattern("inner", .transpose, [.value("input")]))])),
        replacement: { match, _, builder throws(RewriteRefusal) in
            let (outer, inner) = (match[operation: "outer"], match[operation: "inner"])
            guard case .transpose(let first) = builder.graph.operations[inner].op,
                  case .transpose(let second) = builder.graph.operations[outer].op else { return }
            let composed = second.map { first[$0] }
            builder.remove(inner)
            builder.remove(outer)
            if composed == Array(composed.indices) {
                builder.rename(builder.graph.operations[outer].result, to: builder.value(match[value: "input"]))
            } else {
                try builder.add(builder.graph.operations[outer].name, .transpose(permutation: composed), [builder.value(match[value: "input"])])
            }
        })

    static let composeReshapes = RewriteRule(
        "compose-reshapes", family: .layout,
        summary: "A reshape of a reshape becomes one reshape, or nothing when it restores the shape",
        source: "TASO: consecutive reshapes merge",
        pattern: .tree(OpPattern("outer", .reshape, [.operation(OpPattern("inner", .reshape, [.value("input")]))])),
        replacement: { match, _, builder throws(RewriteRefusal) in
            let outer = builder.graph.operations[match[operation: "outer"]]
            let input = builder.value(match[value: "input"])
            builder.remove(match[operation: "inner"])
            builder.remove(match[operation: "outer"])
            if builder.graph[outer.result].type == input.type {
                builder.rename(outer.result, to: input)
            } else {
                try builder.add(outer.name, outer.op, [input])
            }
        })

    /// An einsum reading a transpose reads the transpose's input with its term permuted instead.
    static let foldTransposeIntoContraction = RewriteRule(
        "fold-transpose-into-contraction", family: .layout,
        summary: "An einsum reading a transpose that nothing else reads reads the untransposed tensor with its letters permuted",
        source: "TASO: a transpose feeding a matmul is absorbed into the matmul's operand layout",
        pattern: .custom { context in
            var matches: [RewriteMatch] = []
            for (index, operation) in context.graph.operations.enumerated() where OperatorKind.contraction.accepts(operation) {
                for input in operation.inputs where operation.inputs.filter({ $0 == input }).count == 1 {
                    guard let producer = context.graph[input].operationIndex, case .transpose = context.operation(producer).op,
                          context.isOnlyReader(index, of: input) else { continue }
                    matches.append(RewriteMatch(operations: ["contraction": index, "transpose": producer], anchors: [index, producer]))
                }
            }
            return matches
        },
        replacement: { match, _, builder throws(RewriteRefusal) in
            let contraction = builder.graph.operations[match[operation: "contraction"]]
            let transpose = builder.graph.operations[match[operation: "transpose"]]
            guard case .transpose(let permutation) = transpose.op else { return }
            var terms = contraction.terms
            let position = contraction.inputs.firstIndex(of: transpose.result)!
            var term = terms.operands[position]
            for (axis, letter) in terms.operands[position].enumerated() { term[permutation[axis]] = letter }
            terms.operands[position] = term
            var inputs = contraction.inputs.map(builder.value)
            inputs[position] = builder.value(transpose.inputs[0])
            builder.remove(match[operation: "transpose"])
            builder.remove(match[operation: "contraction"])
            try builder.add(contraction.name, try terms.einsum, inputs)
        })

    /// A transpose of an einsum's result is the einsum with its result letters permuted.
    static let foldTransposeOfContraction = RewriteRule(
        "fold-transpose-of-contraction", family: .layout,
        summary: "A transpose of an einsum's result that nothing else reads becomes the einsum with its result letters permuted",
        source: "TASO: a transpose of a matmul's output is absorbed into the matmul's output layout",
        pattern: .tree(OpPattern("transpose", .transpose, [.operation(OpPattern("contraction", .contraction))])),
        replacement: { match, _, builder throws(RewriteRefusal) in
            let contraction = builder.graph.operations[match[operation: "contraction"]]
            let transpose = builder.graph.operations[match[operation: "transpose"]]
            guard case .transpose(let permutation) = transpose.op else { return }
            var terms = contraction.terms
            terms.result = permutation.map { terms.result[$0] }
            builder.remove(match[operation: "contraction"])
            builder.remove(match[operation: "transpose"])
            try builder.add(transpose.name, try terms.einsum, contraction.inputs.map(builder.value))
        })

    static let sinkTranspose = sinking(.transpose, "sink-transpose", inverse: "hoist-transpose",
        summary: "An elementwise op whose tensor operands are all the same transpose runs before the transpose instead (toward an einsum that can absorb it)",
        source: "TASO: transposes commute with elementwise ops")

    static let hoistTranspose = hoisting(.transpose, "hoist-transpose",
        summary: "A transpose of an elementwise op's result moves onto the op's operands (toward the einsum that produced them)",
        source: "TASO: transposes commute with elementwise ops")

    static let sinkReshape = sinking(.reshape, "sink-reshape", inverse: "hoist-reshape",
        summary: "An elementwise op whose tensor operands are all the same reshape runs on the unreshaped tensors, which changes the indices its sharding can split",
        source: "TASO: reshapes commute with elementwise ops")

    static let hoistReshape = hoisting(.reshape, "hoist-reshape",
        summary: "A reshape of an elementwise op's result moves onto the op's operands, which changes the indices its sharding can split",
        source: "TASO: reshapes commute with elementwise ops")

    /// `f(L(x), L(y), s)` for one layout change L (all of `kind`, equal, each read by f alone) and scalars s
    /// becomes `L(f(x, y, s))`.
    private static func sinking(_ kind: OperatorKind, _ name: String, inverse: String, summary: String, source: String) -> RewriteRule {
        RewriteRule(
            name, family: .layout, inverse: inverse, summary: summary, source: source,
            pattern: .custom { context in
                var matches: [RewriteMatch] = []
                for (index, operation) in context.graph.operations.enumerated() where operation.op.isElementwise {
                    var layouts: [Int] = []
                    var agree = true
                    for input in operation.inputs where context.type(input).rank > 0 {
                        guard let producer = context.graph[input].operationIndex, kind.accepts(context.operation(producer)),
                              context.isOnlyReader(index, of: input),
                              context.operation(producer).op == context.operation(layouts.first ?? producer).op,
                              context.type(context.operation(producer).inputs[0]).shape
                                == context.type(context.operation(layouts.first ?? producer).inputs[0]).shape,
                              !layouts.contains(producer) else { agree = false; break }
                        layouts.append(producer)
                    }
                    guard agree, !layouts.isEmpty else { continue }
                    matches.append(RewriteMatch(operations: ["elementwise": index], anchors: [index] + layouts))
                }
                return matches
            },
            replacement: { match, _, builder throws(RewriteRefusal) in
                let index = match[operation: "elementwise"]
                let operation = builder.graph.operations[index]
                let layouts = Array(match.anchors.dropFirst())
                let layout = builder.graph.operations[layouts[0]]
                var inputs: [RewriteValue] = []
                for input in operation.inputs {
                    if let producer = builder.graph[input].operationIndex, layouts.contains(producer) {
                        inputs.append(builder.value(builder.graph.operations[producer].inputs[0]))
                    } else {
                        inputs.append(builder.value(input))
                    }
                }
                for producer in layouts { builder.remove(producer) }
                builder.remove(index)
                let inner = try builder.add(layout.name, operation.op, inputs, like: index)
                try builder.add(operation.name, layout.op, [inner])
            })
    }

    /// `L(f(x, y, s))` for a layout change L of `kind` and an elementwise f read by L alone, whose tensor
    /// operands all have its result's shape, becomes `f(L(x), L(y), s)`.
    private static func hoisting(_ kind: OperatorKind, _ name: String, summary: String, source: String) -> RewriteRule {
        RewriteRule(
            name, family: .layout, summary: summary, source: source,
            pattern: .tree(OpPattern("layout", kind, [.operation(OpPattern("elementwise", .elementwise))])),
            conditions: [SideCondition("the elementwise op's tensor operands all have its result's shape (no broadcasting)") { match, context in
                let operation = context.operation(match[operation: "elementwise"])
                let shape = context.type(operation.result).shape
                return operation.inputs.allSatisfy { context.type($0).rank == 0 || context.type($0).shape == shape }
            }],
            replacement: { match, _, builder throws(RewriteRefusal) in
                let layout = builder.graph.operations[match[operation: "layout"]]
                let elementwise = builder.graph.operations[match[operation: "elementwise"]]
                var inputs: [RewriteValue] = []
                for (position, input) in elementwise.inputs.enumerated() {
                    let value = builder.value(input)
                    guard value.type.rank > 0 else { inputs.append(value); continue }
                    inputs.append(try builder.add(builder.freshName("\(layout.name).in\(position)"), layout.op, [value]))
                }
                builder.remove(match[operation: "elementwise"])
                builder.remove(match[operation: "layout"])
                try builder.add(layout.name, elementwise.op, inputs, like: match[operation: "elementwise"])
            })
    }
}
