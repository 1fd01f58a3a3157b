extension Operator {
    static func unarySignature(_ function: UnaryFunction, _ operand: TensorType) throws(OperatorRuleViolation) -> OperatorSignature {
        if function.needsFloatingPoint { try requireFloatingPoint(operand, function.rawValue) }
        if operand.dtype == .bool && function != .identity && function != .stopGradient {
            throw .dtype("\(function.rawValue) does not take booleans, found \(operand)")
        }
        return elementwise([operand], resultDType: operand.dtype)
    }

    static func binarySignature(_ function: BinaryFunction, _ operands: [TensorType]) throws(OperatorRuleViolation) -> OperatorSignature {
        try requireSameDType(operands, function.rawValue)
        let dtype = operands[0].dtype
        if function.isLogical {
            guard dtype == .bool || dtype.isInteger else { throw .dtype("\(function.rawValue) takes booleans or integers, found \(operands[0])") }
        } else if dtype == .bool && !(function == .eq || function == .ne) {
            throw .dtype("\(function.rawValue) does not take booleans")
        }
        _ = try broadcastShape(operands, function.rawValue)
        return elementwise(operands, resultDType: function.isComparison ? .bool : dtype)
    }

    static func selectSignature(_ operands: [TensorType]) throws(OperatorRuleViolation) -> OperatorSignature {
        guard operands[0].dtype == .bool else { throw .dtype("where's condition must be bool, found \(operands[0])") }
        try requireSameDType(Array(operands[1...]), "where")
        _ = try broadcastShape(operands, "where")
        return elementwise(operands, resultDType: operands[1].dtype)
    }

    /// NumPy broadcasting of several shapes (aligned from the right; sizes agree or are 1).
    static func broadcastShape(_ operands: [TensorType], _ what: String) throws(OperatorRuleViolation) -> [Int] {
        let rank = operands.map(\.rank).max() ?? 0
        var shape = Array(repeating: 1, count: rank)
        for operand in operands {
            let offset = rank - operand.rank
            for (dimension, size) in operand.shape.enumerated() {
                let target = offset + dimension
                if shape[target] == size || size == 1 { continue }
                if shape[target] == 1 { shape[target] = size; continue }
                throw .shape("\(what) cannot broadcast \(operands.map(\.description).joined(separator: " with ")): dimension \(target) of the result would be both \(shape[target]) and \(size)")
            }
        }
        return shape
    }

    /// The signature of a pointwise op over already-compatible operands: one free index per result dimension.
    static func elementwise(_ operands: [TensorType], resultDType: DType) -> OperatorSignature {
        let rank = operands.map(\.rank).max() ?? 0
        var shape = Array(repeating: 1, count: rank)
        for operand in operands {
            for (dimension, size) in operand.shape.enumerated() where size != 1 {
                shape[rank - operand.rank + dimension] = size
            }
        }
        var builder = IndexSpaceBuilder(operandRanks: operands.map(\.rank))
        builder.resultIndices = shape.enumerated().map { dimension, size in
            builder.index("d\(dimension)", size: size, role: .free)
        }
        for (operand, type) in operands.enumerated() {
            for (dimension, size) in type.shape.enumerated() {
                let target = rank - type.rank + dimension
                builder.operandIndices[operand][dimension] = (size == shape[target]) ? builder.resultIndices[target] : nil
            }
        }
        return OperatorSignature(result: TensorType(shape, resultDType), indexSpace: builder.space)
    }
}
