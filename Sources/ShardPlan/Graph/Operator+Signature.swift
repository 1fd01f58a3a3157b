extension Operator {
    /// The number of operands the op takes, as a closed range.
    public var operandCountRange: ClosedRange<Int> {
        switch self {
        case .einsum: 1...26
        case .matmul, .binary, .embedding, .crossEntropy, .conv2d: 2...2
        case .unary, .cast, .dropout, .scale, .reduce, .softmax, .logSoftmax, .reshape, .transpose, .broadcast,
             .slice, .pool2d:
            1...1
        case .select, .attention: 3...3
        case .layerNorm: 1...3
        case .rmsNorm: 1...2
        case .batchNorm: 1...3
        case .concat: 1...1024
        case .iota, .constant: 0...0
        }
    }

    /// Checks the op's rule against its operand types and returns its result type and index space.
    public func signature(operands: [TensorType]) throws(OperatorRuleViolation) -> OperatorSignature {
        let range = operandCountRange
        guard range.contains(operands.count) else {
            let expected = range.lowerBound == range.upperBound
                ? "\(range.lowerBound)" : "\(range.lowerBound) to \(range.upperBound)"
            throw OperatorRuleViolation(.invalidValue,
                "\(kindName) takes \(expected) input\(range.upperBound == 1 ? "" : "s"), found \(operands.count)")
        }
        switch self {
        case .einsum(let equation): return try Self.einsumSignature(equation, operands)
        case .matmul: return try Self.matmulSignature(operands)
        case .unary(let function): return try Self.unarySignature(function, operands[0])
        case .cast(let dtype): return Self.elementwise([operands[0]], resultDType: dtype)
        case .dropout(let rate):
            guard (0..<1).contains(rate) else { throw .attribute("dropout rate must be in [0, 1), found \(rate)") }
            try Self.requireFloatingPoint(operands[0], "dropout")
            return Self.elementwise(operands, resultDType: operands[0].dtype)
        case .scale(let factor):
            guard factor.isFinite else { throw .attribute("scale factor must be finite") }
            try Self.requireFloatingPoint(operands[0], "scale")
            return Self.elementwise(operands, resultDType: operands[0].dtype)
        case .binary(let function): return try Self.binarySignature(function, operands)
        case .select: return try Self.selectSignature(operands)
        case .reduce(let kind, let axes, let keep): return try Self.reduceSignature(kind, axes, keep, operands[0])
        case .softmax(let axis), .logSoftmax(let axis): return try Self.softmaxSignature(axis, operands[0], name: kindName)
        case .layerNorm(let axes): return try Self.normSignature(axes, operands, statistics: 2, name: "layer_norm")
        case .rmsNorm(let axes): return try Self.normSignature(axes, operands, statistics: 1, name: "rms_norm")
        case .batchNorm(let axis): return try Self.batchNormSignature(axis, operands)
        case .reshape(let shape): return try Self.reshapeSignature(shape, operands[0])
        case .transpose(let permutation): return try Self.transposeSignature(permutation, operands[0])
        case .broadcast(let shape, let dimensions): return try Self.broadcastSignature(shape, dimensions, operands[0])
        case .concat(let axis): return try Self.concatSignature(axis, operands)
        case .slice(let axis, let start, let end, let groups): return try Self.sliceSignature(axis, start, end, groups, operands[0])
        case .iota(let shape, let dimension, let dtype):
            guard (0..<shape.count).contains(dimension) else {
                throw .attribute("iota dimension \(dimension) is out of range for shape \(shape.shapeText)")
            }
            return try Self.generatedSignature(shape, dtype)
        case .constant(let shape, let dtype, let value):
            // JSON has no infinity or NaN, so such a constant could not be written back out.
            guard value.isFinite else {
                throw .attribute("constant value must be finite, found \(value); use a large negative number such as -1e30 for a mask")
            }
            return try Self.generatedSignature(shape, dtype)
        case .embedding: return try Self.embeddingSignature(operands)
        case .crossEntropy: return try Self.crossEntropySignature(operands)
        case .attention(let causal, let window, _):
            if let window {
                guard window > 0 else { throw .attribute("a sliding window is a positive number of keys, found \(window)") }
                guard causal else { throw .attribute("a sliding window (\(window) keys) needs causal attention") }
            }
            return try Self.attentionSignature(causal, operands)
        case .conv2d(let stride, let padding, let groups): return try Self.conv2dSignature(stride, padding, groups, operands)
        case .pool2d(_, let window, let stride, let padding): return try Self.pool2dSignature(window, stride, padding, operands[0])
        }
    }

    static func requireFloatingPoint(_ type: TensorType, _ what: String) throws(OperatorRuleViolation) {
        guard type.dtype.isFloatingPoint else {
            throw .dtype("\(what) needs a floating-point tensor, found \(type)")
        }
    }

    static func requireSameDType(_ operands: [TensorType], _ what: String) throws(OperatorRuleViolation) {
        guard let first = operands.first else { return }
        for operand in operands.dropFirst() where operand.dtype != first.dtype {
            throw .dtype("\(what) needs operands of one dtype, found \(operands.map(\.description).joined(separator: " and ")); insert a cast")
        }
    }

    static func requireRank(_ type: TensorType, _ rank: Int, _ what: String) throws(OperatorRuleViolation) {
        guard type.rank == rank else { throw .shape("\(what) must have rank \(rank), found \(type)") }
    }

    /// An op with no operands whose result dimensions are all free.
    static func generatedSignature(_ shape: [Int], _ dtype: DType) throws(OperatorRuleViolation) -> OperatorSignature {
        for size in shape where size <= 0 {
            throw .attribute("shape \(shape.shapeText) has a dimension that is not positive")
        }
        guard TensorType.checkedElementCount(shape) != nil else {
            throw .attribute("shape \(shape.shapeText) has more than 2^53 elements")
        }
        var builder = IndexSpaceBuilder(operandRanks: [])
        builder.resultIndices = shape.enumerated().map { dimension, size in
            builder.index("d\(dimension)", size: size, role: .free)
        }
        return OperatorSignature(result: TensorType(shape, dtype), indexSpace: builder.space)
    }
}

extension Operator {
    /// The same op with negative axes (counted from the end, as in NumPy) turned into non-negative ones,
    /// and a reshape's one `-1` resolved, for these operands. Values out of range are left for `signature`
    /// to report.
    public func normalized(for operands: [TensorType]) -> Operator {
        if case .iota(let shape, let dimension, let dtype) = self {
            return .iota(shape: shape, dimension: normalizedAxis(dimension, rank: shape.count) ?? dimension, dtype: dtype)
        }
        guard let first = operands.first else { return self }
        func fix(_ axis: Int) -> Int { normalizedAxis(axis, rank: first.rank) ?? axis }
        switch self {
        case .reduce(let kind, let axes, let keep): return .reduce(kind, axes: axes.map(fix), keepDimensions: keep)
        case .softmax(let axis): return .softmax(axis: fix(axis))
        case .logSoftmax(let axis): return .logSoftmax(axis: fix(axis))
        case .layerNorm(let axes): return .layerNorm(axes: axes.map(fix))
        case .rmsNorm(let axes): return .rmsNorm(axes: axes.map(fix))
        case .batchNorm(let axis): return .batchNorm(axis: fix(axis))
        case .concat(let axis): return .concat(axis: fix(axis))
        case .slice(let axis, let start, let end, let groups): return .slice(axis: fix(axis), start: start, end: end, groups: groups)
        case .transpose(let permutation): return .transpose(permutation: permutation.map(fix))
        case .broadcast(let shape, let dimensions):
            return .broadcast(shape: shape, dimensions: dimensions.map { normalizedAxis($0, rank: shape.count) ?? $0 })
        case .reshape(let shape) where shape.filter({ $0 == -1 }).count == 1:
            guard let known = TensorType.checkedElementCount(shape.filter { $0 != -1 }),
                  first.elementCount % known == 0
            else { return self }
            return .reshape(shape: shape.map { $0 == -1 ? first.elementCount / known : $0 })
        default: return self
        }
    }
}
