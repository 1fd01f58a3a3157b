extension Operator {
    static func einsumSignature(_ equation: EinsumEquation, _ operands: [TensorType]) throws(OperatorRuleViolation) -> OperatorSignature {
        guard equation.operands.count == operands.count else {
            throw OperatorRuleViolation(.invalidEinsum,
                "equation '\(equation)' has \(equation.operands.count) operand term\(equation.operands.count == 1 ? "" : "s") but the op has \(operands.count) input\(operands.count == 1 ? "" : "s")")
        }
        // Expand ellipses into numbered broadcast labels, aligned from the right as in NumPy.
        var ellipsisRank = 0
        for (term, operand) in zip(equation.operands, operands) {
            let letters = term.filter { $0 != .ellipsis }.count
            if term.contains(.ellipsis) {
                guard operand.rank >= letters else {
                    throw OperatorRuleViolation(.invalidEinsum,
                        "term '\(Self.termText(term))' needs at least \(letters) dimensions but its operand is \(operand)")
                }
                ellipsisRank = Swift.max(ellipsisRank, operand.rank - letters)
            } else if operand.rank != letters {
                throw OperatorRuleViolation(.invalidEinsum,
                    "term '\(Self.termText(term))' has \(letters) label\(letters == 1 ? "" : "s") but its operand is \(operand)")
            }
        }
        // As NumPy does: broadcast dimensions are never summed away implicitly.
        if ellipsisRank > 0 && !equation.result.contains(.ellipsis) {
            throw OperatorRuleViolation(.invalidEinsum,
                "equation '\(equation)': the operands' '...' covers \(ellipsisRank) dimension\(ellipsisRank == 1 ? "" : "s") but the result has no '...'; write it in the result (a reduce sums dimensions away)")
        }
        func expand(_ term: [EinsumEquation.Label], rank: Int) -> [String] {
            var names: [String] = []
            let letters = term.filter { $0 != .ellipsis }.count
            for label in term {
                switch label {
                case .letter(let letter): names.append(String(letter))
                case .ellipsis:
                    let count = rank - letters
                    names += (0..<count).map { "…\(count - 1 - $0)" }
                }
            }
            return names
        }
        let operandLabels = zip(equation.operands, operands).map { expand($0, rank: $1.rank) }
        let resultLabels = expand(equation.result, rank: equation.result.filter { $0 != .ellipsis }.count + ellipsisRank)
        for (term, labels) in zip(equation.operands, operandLabels) where Set(labels).count != labels.count {
            throw OperatorRuleViolation(.invalidEinsum,
                "term '\(Self.termText(term))' repeats a label; diagonals are not supported")
        }
        try requireSameDType(operands, "einsum")
        if operands[0].dtype == .bool { throw .dtype("einsum does not take booleans") }
        return try contractionSignature(operandLabels: operandLabels, resultLabels: resultLabels,
                                        operands: operands, what: "einsum '\(equation)'")
    }

    /// NumPy `matmul`: `[..., m, k] x [..., k, n] -> [..., m, n]`, batch dimensions broadcast; a 1-D operand
    /// is a vector.
    static func matmulSignature(_ operands: [TensorType]) throws(OperatorRuleViolation) -> OperatorSignature {
        let (a, b) = (operands[0], operands[1])
        guard a.rank >= 1, b.rank >= 1 else { throw .shape("matmul needs operands of rank 1 or more, found \(a) and \(b)") }
        try requireSameDType(operands, "matmul")
        if a.dtype == .bool { throw .dtype("matmul does not take booleans") }
        let batchA = Swift.max(a.rank - 2, 0), batchB = Swift.max(b.rank - 2, 0)
        let batch = Swift.max(batchA, batchB)
        let batchNames = (0..<batch).map { "…\(batch - 1 - $0)" }
        var labelsA = Array(batchNames.suffix(batchA)), labelsB = Array(batchNames.suffix(batchB))
        var result = batchNames
        if a.rank >= 2 { labelsA.append("m"); result.append("m") }
        labelsA.append("k")
        labelsB.append("k")
        if b.rank >= 2 { labelsB.append("n"); result.append("n") }
        return try contractionSignature(operandLabels: [labelsA, labelsB], resultLabels: result,
                                        operands: operands, what: "matmul")
    }

    /// The shared rule of einsum and matmul: every label is one index; sizes agree or are 1 (broadcast);
    /// labels absent from the result are summed.
    static func contractionSignature(operandLabels: [[String]], resultLabels: [String], operands: [TensorType],
                                     what: String) throws(OperatorRuleViolation) -> OperatorSignature {
        var order: [String] = []
        var sizes: [String: Int] = [:]
        for (labels, operand) in zip(operandLabels, operands) {
            for (label, size) in zip(labels, operand.shape) {
                guard let known = sizes[label] else { sizes[label] = size; order.append(label); continue }
                if known == size || size == 1 { continue }
                if known == 1 { sizes[label] = size; continue }
                let shapes = operands.map(\.description).joined(separator: " and ")
                throw .shape("\(what): index '\(label)' has size \(known) in one operand and \(size) in another (operands \(shapes))")
            }
        }
        // `EinsumEquation`'s parser guarantees this, but its members are public and may be set by hand.
        var shape: [Int] = []
        for label in resultLabels {
            guard let size = sizes[label] else {
                throw OperatorRuleViolation(.invalidEinsum, "\(what): result label '\(label)' appears in no operand")
            }
            shape.append(size)
        }
        var builder = IndexSpaceBuilder(operandRanks: operands.map(\.rank))
        var position: [String: Int] = [:]
        let resultSet = Set(resultLabels)
        for label in order {
            let size = sizes[label, default: 1]
            position[label] = builder.index(label, size: size, role: resultSet.contains(label) ? .free : .summed)
        }
        for (operand, labels) in operandLabels.enumerated() {
            for (dimension, label) in labels.enumerated() {
                let size = operands[operand].shape[dimension]
                builder.operandIndices[operand][dimension] = (size == 1 && sizes[label, default: 1] > 1) ? nil : position[label]
            }
        }
        builder.resultIndices = resultLabels.map { position[$0] }
        return OperatorSignature(result: TensorType(shape, operands[0].dtype), indexSpace: builder.space)
    }

    private static func termText(_ term: [EinsumEquation.Label]) -> String {
        term.map { label in
            switch label {
            case .letter(let letter): String(letter)
            case .ellipsis: "..."
            }
        }.joined()
    }
}
