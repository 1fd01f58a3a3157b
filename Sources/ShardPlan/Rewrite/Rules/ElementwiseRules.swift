/// Elementwise ops removed, combined, or moved onto the smaller operand of an einsum (TASO's scalar
/// multiplication substitutions).
extension RewriteRule {
    static let removeIdentity = RewriteRule(
        "remove-identity", family: .elementwise,
        summary: "An identity, a dropout of rate 0 or a scale by 1 disappears; its readers read its operand",
        source: "TASO: identity elimination",
        pattern: .tree(OpPattern("identity", .identity, [.value("input")])),
        conditions: [SideCondition("the result is not a graph output") { match, context in
            !context.graph.outputs.contains(context.operation(match[operation: "identity"]).result)
        }],
        replacement: { match, _, builder throws(RewriteRefusal) in
            let identity = match[operation: "identity"]
            builder.remove(identity)
            builder.rename(builder.graph.operations[identity].result, to: builder.value(match[value: "input"]))
        })

    static let mergeScales = RewriteRule(
        "merge-scales", family: .elementwise,
        summary: "A scale of a scale becomes one scale by the product of the factors",
        source: "TASO: consecutive scalar multiplications merge",
        pattern: .tree(OpPattern("outer", .scale, [.operation(OpPattern("inner", .scale, [.value("input")]))])),
        replacement: { match, _, builder throws(RewriteRefusal) in
            let outer = builder.graph.operations[match[operation: "outer"]]
            guard case .scale(let second) = outer.op, case .scale(let first) = builder.graph.operations[match[operation: "inner"]].op,
                  (first * second).isFinite else { throw RewriteRefusal("the product of the factors is not finite") }
            builder.remove(match[operation: "inner"])
            builder.remove(match[operation: "outer"])
            try builder.add(outer.name, .scale(factor: first * second), [builder.value(match[value: "input"])])
        })

    /// `scale(einsum(a, b), f)` becomes `einsum(scale(a, f), b)` for an operand smaller than the result: the
    /// attention scores' 1/sqrt(d) moves from the `[b, h, s, s]` scores onto the `[b, s, h, d]` queries.
    static let moveScaleIntoContraction = RewriteRule(
        "move-scale-into-contraction", family: .elementwise, inverse: "hoist-scale-out-of-contraction",
        summary: "A scale of an einsum's result moves onto an operand with fewer elements than the result (alternative k: the k-th such operand)",
        source: "TASO: scalar multiplication commutes with matmul",
        pattern: .tree(OpPattern("scale", .scale, [.operation(OpPattern("contraction", .binaryContraction))])),
        conditions: [SideCondition("an operand has fewer elements than the result") { match, context in
            !smallerOperands(match, context).isEmpty
        }],
        alternatives: { match, context in smallerOperands(match, context).count },
        replacement: { match, choice, builder throws(RewriteRefusal) in
            let scale = builder.graph.operations[match[operation: "scale"]]
            let contraction = builder.graph.operations[match[operation: "contraction"]]
            let position = smallerOperands(match, builder.context)[choice]
            var inputs = contraction.inputs.map(builder.value)
            inputs[position] = try builder.add(builder.freshName("\(contraction.name).in\(position).scaled"), scale.op, [inputs[position]])
            builder.remove(match[operation: "contraction"])
            builder.remove(match[operation: "scale"])
            try builder.add(scale.name, contraction.op, inputs)
        })

    /// The operand positions of a matched einsum with fewer elements than its result.
    private static func smallerOperands(_ match: RewriteMatch, _ context: RewriteContext) -> [Int] {
        let contraction = context.operation(match[operation: "contraction"])
        let size = context.type(contraction.result).elementCount
        return contraction.inputs.indices.filter { context.type(contraction.inputs[$0]).elementCount < size }
    }

    /// `einsum(scale(a, f), b)` becomes `scale(einsum(a, b), f)`: the scale moves to the result (and from
    /// there, by `move-scale-into-contraction`, to the other operand).
    static let hoistScaleOutOfContraction = RewriteRule(
        "hoist-scale-out-of-contraction", family: .elementwise,
        summary: "An einsum reading a scale that nothing else reads scales its result instead",
        source: "TASO: scalar multiplication commutes with matmul",
        pattern: .custom { context in
            var matches: [RewriteMatch] = []
            for (index, operation) in context.graph.operations.enumerated() where OperatorKind.binaryContraction.accepts(operation) {
                for input in operation.inputs where operation.inputs.filter({ $0 == input }).count == 1 {
                    guard let producer = context.graph[input].operationIndex, case .scale = context.operation(producer).op,
                          context.isOnlyReader(index, of: input) else { continue }
                    matches.append(RewriteMatch(operations: ["contraction": index, "scale": producer], anchors: [index, producer]))
                }
            }
            return matches
        },
        replacement: { match, _, builder throws(RewriteRefusal) in
            let contraction = builder.graph.operations[match[operation: "contraction"]]
            let scale = builder.graph.operations[match[operation: "scale"]]
            let inputs = contraction.inputs.map { $0 == scale.result ? builder.value(scale.inputs[0]) : builder.value($0) }
            builder.remove(match[operation: "scale"])
            builder.remove(match[operation: "contraction"])
            let product = try builder.add(scale.name, contraction.op, inputs)
            try builder.add(contraction.name, scale.op, [product])
        })
}
