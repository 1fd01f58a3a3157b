/// A chain of two contractions evaluated in the other order: `(A B) C` as `A (B C)` (TASO's matmul
/// associativity). The cost differs when one grouping contracts the large (token) dimension once against a
/// small intermediate and the other forms a weight-sized product first (a low-rank adapter `x A B`), and
/// the sharding differs with the indices each GEMM carries.
extension RewriteRule {
    static let reassociateContraction = RewriteRule(
        "reassociate-contraction", family: .reassociation, inverse: "reassociate-contraction",
        summary: "einsum(einsum(A, B), C) becomes einsum(A, einsum(B, C)) (alternative 0) or einsum(einsum(A, C), B) (alternative 1)",
        source: "TASO: matmul associativity, (AB)C = A(BC), generalised to einsums",
        pattern: .custom { context in
            var matches: [RewriteMatch] = []
            for (index, operation) in context.graph.operations.enumerated() where OperatorKind.binaryContraction.accepts(operation) {
                for input in operation.inputs where operation.inputs[0] != operation.inputs[1] {
                    guard let producer = context.graph[input].operationIndex,
                          OperatorKind.binaryContraction.accepts(context.operation(producer)),
                          context.isOnlyReader(index, of: input) else { continue }
                    matches.append(RewriteMatch(operations: ["outer": index, "inner": producer], anchors: [index, producer]))
                }
            }
            return matches
        },
        conditions: [SideCondition("each letter has one size in both equations (no size-1 broadcasting)") { match, context in
            let outer = context.operation(match[operation: "outer"]), inner = context.operation(match[operation: "inner"])
            return outer.terms.sizes(outer.inputs.map(context.type)) != nil && inner.terms.sizes(inner.inputs.map(context.type)) != nil
        }],
        alternatives: { _, _ in 2 },
        replacement: { match, choice, builder throws(RewriteRefusal) in
            let outer = builder.graph.operations[match[operation: "outer"]]
            let inner = builder.graph.operations[match[operation: "inner"]]
            let chain = try ContractionChain(outer: outer, inner: inner)
            // The operand paired with C first: B (alternative 0) or A (alternative 1).
            let (paired, kept) = choice == 0 ? (1, 0) : (0, 1)
            let pairedTerm = chain.innerTerms[paired], keptTerm = chain.innerTerms[kept]
            var intermediate: [Character] = []
            for letter in pairedTerm + chain.thirdTerm where !intermediate.contains(letter)
                && (keptTerm.contains(letter) || chain.result.contains(letter)) {
                intermediate.append(letter)
            }
            let third = builder.value(outer.inputs[chain.thirdPosition])
            let first = try builder.add(inner.name, try EinsumTerms(operands: [pairedTerm, chain.thirdTerm], result: intermediate).einsum,
                                        [builder.value(inner.inputs[paired]), third])
            builder.remove(match[operation: "inner"])
            builder.remove(match[operation: "outer"])
            let operands = kept == 0 ? [keptTerm, intermediate] : [intermediate, keptTerm]
            let values = kept == 0 ? [builder.value(inner.inputs[kept]), first] : [first, builder.value(inner.inputs[kept])]
            try builder.add(outer.name, try EinsumTerms(operands: operands, result: chain.result).einsum, values)
        })
}

/// Two chained einsums `einsum(einsum(A, B), C)` written over one set of letters: the inner result's letters
/// renamed to the outer einsum's letters for it, the inner einsum's summed letters to fresh ones.
struct ContractionChain {
    /// The terms of A and B.
    var innerTerms: [[Character]]
    /// The term of C and its operand position in the outer einsum.
    var thirdTerm: [Character]
    var thirdPosition: Int
    var result: [Character]

    init(outer: Operation, inner: Operation) throws(RewriteRefusal) {
        let outerTerms = outer.terms, innerTerms = inner.terms
        let position = outer.inputs.firstIndex(of: inner.result)!
        thirdPosition = 1 - position
        thirdTerm = outerTerms.operands[thirdPosition]
        result = outerTerms.result
        var renaming: [Character: Character] = [:]
        for (letter, outerLetter) in zip(innerTerms.result, outerTerms.operands[position]) { renaming[letter] = outerLetter }
        var used = outerTerms.letters
        for letter in innerTerms.operands.joined() where renaming[letter] == nil {
            guard let fresh = EinsumTerms.freshLetter(avoiding: used) else { throw RewriteRefusal("no einsum letter left") }
            renaming[letter] = fresh
            used.insert(fresh)
        }
        self.innerTerms = innerTerms.operands.map { $0.map { renaming[$0]! } }
    }
}
