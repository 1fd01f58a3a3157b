extension Operator {
    static func reduceSignature(_ kind: ReductionKind, _ axes: [Int], _ keep: Bool,
                                _ operand: TensorType) throws(OperatorRuleViolation) -> OperatorSignature {
        try checkAxes(axes, rank: operand.rank, what: "reduce")
        if kind == .mean { try requireFloatingPoint(operand, "reduce mean") }
        if operand.dtype == .bool { throw .dtype("reduce does not take booleans") }
        let reduced = Set(axes)
        var builder = IndexSpaceBuilder(operandRanks: [operand.rank])
        var shape: [Int] = []
        for (dimension, size) in operand.shape.enumerated() {
            if reduced.contains(dimension) {
                let role: IndexSpace.Role = (kind == .sum || kind == .mean) ? .summed : .extremum
                builder.operandIndices[0][dimension] = builder.index("r\(dimension)", size: size, role: role)
                if keep { shape.append(1); builder.resultIndices.append(nil) }
            } else {
                let index = builder.index("d\(dimension)", size: size, role: .free)
                builder.operandIndices[0][dimension] = index
                shape.append(size)
                builder.resultIndices.append(index)
            }
        }
        return OperatorSignature(result: TensorType(shape, operand.dtype), indexSpace: builder.space)
    }

    static func softmaxSignature(_ axis: Int, _ operand: TensorType, name: String) throws(OperatorRuleViolation) -> OperatorSignature {
        try requireFloatingPoint(operand, name)
        try checkAxes([axis], rank: operand.rank, what: name)
        return coupled(operand, axes: [axis], statistics: 2, extraOperands: [])
    }

    /// layer_norm and rms_norm: x, then optional scale (and shift) shaped like the normalised axes.
    static func normSignature(_ axes: [Int], _ operands: [TensorType], statistics: Int,
                              name: String) throws(OperatorRuleViolation) -> OperatorSignature {
        let x = operands[0]
        try requireFloatingPoint(x, name)
        guard !axes.isEmpty else { throw .attribute("\(name) needs at least one axis to normalise over") }
        try checkAxes(axes, rank: x.rank, what: name)
        let normalized = axes.sorted()
        let expected = normalized.map { x.shape[$0] }
        for (position, parameter) in operands.dropFirst().enumerated() {
            try requireFloatingPoint(parameter, name)
            guard parameter.shape == expected else {
                let role = position == 0 ? "scale (gamma)" : "shift (beta)"
                throw .shape("\(name)'s \(role) must have shape \(expected.shapeText) (the normalised axes of \(x)), found \(parameter)")
            }
        }
        return coupled(x, axes: normalized, statistics: statistics,
                       extraOperands: operands.dropFirst().map { _ in normalized })
    }

    static func batchNormSignature(_ axis: Int, _ operands: [TensorType]) throws(OperatorRuleViolation) -> OperatorSignature {
        let x = operands[0]
        try requireFloatingPoint(x, "batch_norm")
        try checkAxes([axis], rank: x.rank, what: "batch_norm")
        for parameter in operands.dropFirst() where parameter.shape != [x.shape[axis]] {
            throw .shape("batch_norm's scale and shift must have shape [\(x.shape[axis])] (channel axis \(axis) of \(x)), found \(parameter)")
        }
        let statisticAxes = (0..<x.rank).filter { $0 != axis }
        return coupled(x, axes: statisticAxes, statistics: 2, extraOperands: operands.dropFirst().map { _ in [axis] })
    }

    /// An op whose result has the shape of its first operand and couples positions along `axes`;
    /// each extra operand's dimensions carry the indices of the listed axes of the first.
    static func coupled(_ x: TensorType, axes: [Int], statistics: Int, extraOperands: [[Int]]) -> OperatorSignature {
        var builder = IndexSpaceBuilder(operandRanks: [x.rank] + extraOperands.map(\.count))
        let coupledAxes = Set(axes)
        for (dimension, size) in x.shape.enumerated() {
            let role: IndexSpace.Role = coupledAxes.contains(dimension) ? .coupled(statistics: statistics) : .free
            builder.operandIndices[0][dimension] = builder.index("d\(dimension)", size: size, role: role)
        }
        builder.resultIndices = builder.operandIndices[0]
        for (operand, dimensions) in extraOperands.enumerated() {
            builder.operandIndices[operand + 1] = dimensions.map { builder.operandIndices[0][$0] }
        }
        return OperatorSignature(result: x, indexSpace: builder.space)
    }

    static func crossEntropySignature(_ operands: [TensorType]) throws(OperatorRuleViolation) -> OperatorSignature {
        let (logits, labels) = (operands[0], operands[1])
        try requireFloatingPoint(logits, "cross_entropy's logits")
        guard labels.dtype.isInteger else { throw .dtype("cross_entropy's labels must be integers, found \(labels)") }
        guard logits.rank >= 1, labels.shape == Array(logits.shape.dropLast()) else {
            throw .shape("cross_entropy needs logits [..., classes] and labels [...] with the same leading dimensions, found \(logits) and \(labels)")
        }
        var builder = IndexSpaceBuilder(operandRanks: [logits.rank, labels.rank])
        for (dimension, size) in logits.shape.enumerated() {
            let isClass = dimension == logits.rank - 1
            let index = builder.index(isClass ? "class" : "d\(dimension)", size: size,
                                      role: isClass ? .coupled(statistics: 3) : .summed)
            builder.operandIndices[0][dimension] = index
            if !isClass { builder.operandIndices[1][dimension] = index }
        }
        return OperatorSignature(result: TensorType([], .f32), indexSpace: builder.space)
    }

    /// Axes must be in range and distinct.
    static func checkAxes(_ axes: [Int], rank: Int, what: String) throws(OperatorRuleViolation) {
        for axis in axes where !(0..<rank).contains(axis) {
            throw .attribute("\(what) axis \(axis) is out of range for rank \(rank)")
        }
        guard Set(axes).count == axes.count else { throw .attribute("\(what) axes \(axes.shapeText) repeat an axis") }
    }
}
