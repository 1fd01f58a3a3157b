/// Linears that share an input merged into one wider GEMM, and the inverse split (TASO's "concatenate two
/// matmuls that share an input", Unity's merged linears).
extension RewriteRule {
    /// The member pattern of the merge rules: an einsum of a shared input and a weight only it reads.
    private static let linear = OpPattern("contraction", .binaryContraction,
                                          [.value("input"), .parameter("weight", exclusive: true)], exclusive: false)

    /// `y_i = x W_i (+ b_i)` for weights of one shape becomes `Y = x W` with `W` the weights stacked along a
    /// new axis t placed just before the weight's output dimensions (a head-aligned layout: splitting the
    /// heads or columns splits every member alike), and each `y_i` a slice of Y along t.
    static let mergeParallelContractions = RewriteRule(
        "merge-parallel-contractions", family: .mergeContractions, inverse: "split-contraction",
        summary: "Einsums reading one input with weights of one shape (Q, K, V; gate and up) become one einsum over the weights stacked on a new axis before their output dimensions; each output is a slice of it",
        source: "TASO (Jia et al. SOSP'19): two matmuls sharing an input are one matmul with concatenated weights; Unity (Unger et al. OSDI'22) merges the linears of attention and MLPs",
        pattern: .siblings(member: linear, sharedOperand: 0) { match, context in
            let contraction = match[operation: "contraction"]
            let terms = context.operation(contraction).terms
            guard terms.sizes(context.operation(contraction).inputs.map(context.type)) != nil else { return nil }
            let bias = context.biasAdd(of: contraction).map { context.type($0.bias).description } ?? "none"
            return "\(terms.text)|\(context.type(match[value: "weight"]))|\(bias)"
        },
        replacement: { match, _, builder throws(RewriteRefusal) in
            let context = builder.context
            let members = match.members.map { $0[operation: "contraction"] }
            let first = context.operation(members[0])
            let terms = first.terms
            let (input, weightTerm, result) = (terms.operands[0], terms.operands[1], terms.result)
            guard let stackLetter = EinsumTerms.freshLetter(avoiding: terms.letters) else { throw RewriteRefusal("no einsum letter left") }
            let outputPosition = result.firstIndex { weightTerm.contains($0) && !input.contains($0) } ?? result.count
            let weightPosition = outputPosition < result.count ? weightTerm.firstIndex(of: result[outputPosition])! : weightTerm.count
            var stackedWeight = weightTerm, stackedResult = result
            stackedWeight.insert(stackLetter, at: weightPosition)
            stackedResult.insert(stackLetter, at: outputPosition)
            let weights = members.map { context.operation($0).inputs[1] }
            let weight = try builder.parameter(mergedName(weights.map { context.graph[$0].name })) { derivation throws(RewriteRefusal) in
                _ = try derivation.stack(weights.map(derivation.parameter), axis: weightPosition)
            }
            let equation = try EinsumTerms(operands: [input, stackedWeight], result: stackedResult).einsum
            var merged = try builder.add(builder.freshName(mergedName(members.map { context.operation($0).name })),
                                         equation, [builder.value(match[value: "shared"]), weight])
            let biases = members.compactMap { context.biasAdd(of: $0) }
            if biases.count == members.count {
                let (rank, biasRank) = (result.count, context.type(biases[0].bias).rank)
                let bias = try builder.parameter(mergedName(biases.map { context.graph[$0.bias].name })) { derivation throws(RewriteRefusal) in
                    let values = biases.map { derivation.parameter($0.bias) }
                    if outputPosition >= rank - biasRank {
                        _ = try derivation.stack(values, axis: outputPosition - (rank - biasRank))
                    } else {
                        // The new axis lies left of the bias: the bias gets it, and size-1 axes up to its own.
                        let padding = Array(repeating: 1, count: rank - biasRank - outputPosition)
                        var expanded: [RewriteValue] = []
                        for value in values { expanded.append(try derivation.add(.reshape(shape: [1] + padding + value.type.shape), [value])) }
                        _ = try derivation.add(.concat(axis: 0), expanded)
                    }
                }
                merged = try builder.add(builder.freshName(mergedName(biases.map { context.operation($0.add).name })), .binary(.add),
                                         biases[0].operands(merged, bias))
                for bias in biases { bias.remove(from: &builder) }
            }
            for (position, member) in members.enumerated() {
                let output = context.linearOutput(of: member)
                let name = context.graph[output].name
                let part = try builder.add(builder.freshName(name + ".part"), .slice(axis: outputPosition, start: position, end: position + 1), [merged])
                try builder.add(name, .reshape(shape: context.type(output).shape), [part])
                builder.remove(member)
                builder.removeParameter(context.operation(member).inputs[1])
            }
        })

    /// `y_i = x W_i (+ b_i)` for weights that differ along one output dimension only (grouped-query Q next
    /// to K and V) becomes `Y = x W` with the weights concatenated along it; each `y_i` is a slice of Y.
    static let concatenateParallelContractions = RewriteRule(
        "concatenate-parallel-contractions", family: .mergeContractions, inverse: "split-contraction",
        summary: "Einsums reading one input with weights that differ along their first output dimension only (grouped-query Q next to K and V) become one einsum over the weights concatenated along it; each output is a slice",
        source: "TASO: concatenation of matmuls sharing an input, for operands of unequal width",
        pattern: .siblings(member: linear, sharedOperand: 0) { match, context in
            let contraction = match[operation: "contraction"]
            let terms = context.operation(contraction).terms
            guard terms.sizes(context.operation(contraction).inputs.map(context.type)) != nil,
                  let (weightAxis, resultAxis) = concatenationAxes(terms) else { return nil }
            let weight = context.type(match[value: "weight"])
            var key = "\(terms.text)|\(weight.dtype)|" + weight.shape.enumerated().map { $0.offset == weightAxis ? "*" : "\($0.element)" }.joined(separator: ",")
            if let bias = context.biasAdd(of: contraction) {
                let shape = context.type(bias.bias).shape
                let biasAxis = resultAxis - (terms.result.count - shape.count)
                // A bias that does not cover the concatenated axis cannot be concatenated with the others.
                guard biasAxis >= 0 else { return nil }
                key += "|bias " + shape.enumerated().map { $0.offset == biasAxis ? "*" : "\($0.element)" }.joined(separator: ",")
            }
            return key
        },
        conditions: [SideCondition("the weights differ in width (equal widths are merge-parallel-contractions)") { match, context in
            let widths = match.members.map { member in
                let weightAxis = concatenationAxes(context.operation(member[operation: "contraction"]).terms)!.weight
                return context.type(member[value: "weight"]).shape[weightAxis]
            }
            return Set(widths).count > 1
        }],
        replacement: { match, _, builder throws(RewriteRefusal) in
            let context = builder.context
            let members = match.members.map { $0[operation: "contraction"] }
            let first = context.operation(members[0])
            let terms = first.terms
            let (weightAxis, resultAxis) = concatenationAxes(terms)!
            let weights = members.map { context.operation($0).inputs[1] }
            let weight = try builder.parameter(mergedName(weights.map { context.graph[$0].name })) { derivation throws(RewriteRefusal) in
                _ = try derivation.add(.concat(axis: weightAxis), weights.map(derivation.parameter))
            }
            var merged = try builder.add(builder.freshName(mergedName(members.map { context.operation($0).name })),
                                         first.op, [builder.value(match[value: "shared"]), weight])
            let biases = members.compactMap { context.biasAdd(of: $0) }
            if biases.count == members.count {
                let biasAxis = resultAxis - (terms.result.count - context.type(biases[0].bias).rank)
                let bias = try builder.parameter(mergedName(biases.map { context.graph[$0.bias].name })) { derivation throws(RewriteRefusal) in
                    _ = try derivation.add(.concat(axis: biasAxis), biases.map { derivation.parameter($0.bias) })
                }
                merged = try builder.add(builder.freshName(mergedName(biases.map { context.operation($0.add).name })), .binary(.add),
                                         biases[0].operands(merged, bias))
                for bias in biases { bias.remove(from: &builder) }
            }
            var offset = 0
            for member in members {
                let output = context.linearOutput(of: member)
                let width = context.type(output).shape[resultAxis]
                try builder.add(context.graph[output].name, .slice(axis: resultAxis, start: offset, end: offset + width), [merged])
                offset += width
                builder.remove(member)
                builder.removeParameter(context.operation(member).inputs[1])
            }
        })

    /// The weight axis and result axis of a linear's first output dimension that only the weight carries.
    static func concatenationAxes(_ terms: EinsumTerms) -> (weight: Int, result: Int)? {
        let (input, weight) = (terms.operands[0], terms.operands[1])
        guard let resultAxis = terms.result.firstIndex(where: { weight.contains($0) && !input.contains($0) }) else { return nil }
        return (weight.firstIndex(of: terms.result[resultAxis])!, resultAxis)
    }

    /// `Y = x W (+ b)` read only by slices cutting an output dimension of W into pieces becomes one einsum
    /// per piece with the matching slice of W (and of b): the inverse of the two merges, which saves the
    /// slices' copies.
    static let splitContraction = RewriteRule(
        "split-contraction", family: .mergeContractions,
        summary: "An einsum whose output (after an optional bias add) is read only by slices cutting one output dimension of its weight becomes one einsum per slice with that slice of the weight",
        source: "TASO: the inverse of concatenating matmuls (splitting a matmul along the weight's columns)",
        pattern: .tree(linear),
        conditions: [SideCondition("the output (after an optional bias add) is read only by slices that cut one dimension only the weight carries into consecutive pieces") { match, context in
            splitPieces(match[operation: "contraction"], context) != nil
        }],
        replacement: { match, _, builder throws(RewriteRefusal) in
            let context = builder.context
            let contraction = match[operation: "contraction"]
            let operation = context.operation(contraction)
            guard let (resultAxis, weightAxis, slices) = splitPieces(contraction, context) else { throw RewriteRefusal("no partition") }
            let biasAdd = context.biasAdd(of: contraction)
            let resultRank = context.type(operation.result).rank
            let biasAxis = biasAdd.map { resultAxis - (resultRank - context.type($0.bias).rank) }
            let weightName = context.graph[operation.inputs[1]].name
            for (position, slice) in slices.enumerated() {
                guard case .slice(_, let start, let end, nil) = context.operation(slice).op else { continue }
                let name = context.operation(slice).name
                let weight = try builder.parameter("\(weightName).part\(position)") { derivation throws(RewriteRefusal) in
                    _ = try derivation.add(.slice(axis: weightAxis, start: start, end: end), [derivation.parameter(operation.inputs[1])])
                }
                guard let biasAdd, let biasAxis else {
                    try builder.add(name, operation.op, [builder.value(operation.inputs[0]), weight])
                    builder.remove(slice)
                    continue
                }
                let product = try builder.add(builder.freshName("\(operation.name).part\(position)"), operation.op,
                                              [builder.value(operation.inputs[0]), weight])
                let bias: RewriteValue
                if biasAxis >= 0 {
                    bias = try builder.parameter("\(context.graph[biasAdd.bias].name).part\(position)") { derivation throws(RewriteRefusal) in
                        _ = try derivation.add(.slice(axis: biasAxis, start: start, end: end), [derivation.parameter(biasAdd.bias)])
                    }
                } else {
                    bias = builder.value(biasAdd.bias)
                }
                try builder.add(name, .binary(.add), biasAdd.operands(product, bias))
                builder.remove(slice)
            }
            builder.remove(contraction)
            builder.removeParameter(operation.inputs[1])
            biasAdd?.remove(from: &builder, parameter: (biasAxis ?? -1) >= 0)
        })

    /// The result axis, weight axis and slices of a contraction whose output the slices partition along a
    /// dimension only its weight carries.
    static func splitPieces(_ contraction: Int, _ context: RewriteContext) -> (resultAxis: Int, weightAxis: Int, slices: [Int])? {
        let terms = context.operation(contraction).terms
        guard terms.sizes(context.operation(contraction).inputs.map(context.type)) != nil,
              let (axis, slices) = context.partition(of: context.linearOutput(of: contraction)) else { return nil }
        let letter = terms.result[axis]
        guard terms.operands[1].contains(letter), !terms.operands[0].contains(letter) else { return nil }
        return (axis, terms.operands[1].firstIndex(of: letter)!, slices)
    }
}
