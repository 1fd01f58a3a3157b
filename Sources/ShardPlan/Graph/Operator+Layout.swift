extension Operator {
    /// A reshape keeps the element order. Dimensions are grouped where their products match; within a group
    /// the two leading dimensions share one index (splitting both into n contiguous blocks selects the same
    /// elements), trailing input dimensions of a group cannot be split, and trailing result dimensions can
    /// (each device slices its part of a replicated input).
    static func reshapeSignature(_ shape: [Int], _ operand: TensorType) throws(OperatorRuleViolation) -> OperatorSignature {
        // `normalized(for:)` has already replaced a single -1 it could resolve.
        let unknowns = shape.filter { $0 == -1 }.count
        if unknowns > 1 { throw .attribute("reshape target \(shape.shapeText) has \(unknowns) entries of -1; at most one size can be inferred") }
        for size in shape where size <= 0 && size != -1 {
            throw .attribute("reshape target \(shape.shapeText) has a dimension that is not positive (only one -1 is allowed, for a size to infer)")
        }
        if unknowns == 1 {
            throw .shape("reshape cannot infer the -1 in \(shape.shapeText): \(operand) has \(operand.elementCount) elements, not a multiple of the other sizes")
        }
        guard let count = TensorType.checkedElementCount(shape), count == operand.elementCount else {
            let count = TensorType.checkedElementCount(shape).map(String.init) ?? "more than 2^53"
            throw .shape("reshape cannot turn \(operand) (\(operand.elementCount) elements) into \(shape.shapeText) (\(count) elements)")
        }
        var builder = IndexSpaceBuilder(operandRanks: [operand.rank])
        builder.resultIndices = Array(repeating: nil, count: shape.count)
        let inputDimensions = operand.shape.indices.filter { operand.shape[$0] != 1 }
        let outputDimensions = shape.indices.filter { shape[$0] != 1 }
        var i = 0, j = 0
        while i < inputDimensions.count && j < outputDimensions.count {
            let (inputStart, outputStart) = (i, j)
            var inputProduct = operand.shape[inputDimensions[i]], outputProduct = shape[outputDimensions[j]]
            while inputProduct != outputProduct {
                if inputProduct < outputProduct { i += 1; inputProduct *= operand.shape[inputDimensions[i]] }
                else { j += 1; outputProduct *= shape[outputDimensions[j]] }
            }
            let leadingIn = inputDimensions[inputStart], leadingOut = outputDimensions[outputStart]
            let shared = builder.index("g\(leadingIn)", size: gcd(operand.shape[leadingIn], shape[leadingOut]), role: .free)
            builder.operandIndices[0][leadingIn] = shared
            builder.resultIndices[leadingOut] = shared
            for dimension in inputDimensions[(inputStart + 1)..<(i + 1)] {
                builder.operandIndices[0][dimension] = builder.index("in\(dimension)", size: operand.shape[dimension], role: .unsplittable)
            }
            for dimension in outputDimensions[(outputStart + 1)..<(j + 1)] {
                builder.resultIndices[dimension] = builder.index("out\(dimension)", size: shape[dimension], role: .free)
            }
            i += 1; j += 1
        }
        return OperatorSignature(result: TensorType(shape, operand.dtype), indexSpace: builder.space)
    }

    static func transposeSignature(_ permutation: [Int], _ operand: TensorType) throws(OperatorRuleViolation) -> OperatorSignature {
        guard permutation.sorted() == Array(0..<operand.rank) else {
            throw .attribute("transpose perm \(permutation.shapeText) is not a permutation of the \(operand.rank) dimensions of \(operand)")
        }
        var builder = IndexSpaceBuilder(operandRanks: [operand.rank])
        for (dimension, size) in operand.shape.enumerated() {
            builder.operandIndices[0][dimension] = builder.index("d\(dimension)", size: size, role: .free)
        }
        builder.resultIndices = permutation.map { builder.operandIndices[0][$0] }
        return OperatorSignature(result: TensorType(permutation.map { operand.shape[$0] }, operand.dtype),
                                 indexSpace: builder.space)
    }

    static func broadcastSignature(_ shape: [Int], _ dimensions: [Int], _ operand: TensorType) throws(OperatorRuleViolation) -> OperatorSignature {
        for size in shape where size <= 0 {
            throw .attribute("broadcast shape \(shape.shapeText) has a dimension that is not positive")
        }
        guard TensorType.checkedElementCount(shape) != nil else {
            throw .attribute("broadcast shape \(shape.shapeText) has more than 2^53 elements")
        }
        guard dimensions.count == operand.rank else {
            throw .attribute("broadcast dims \(dimensions.shapeText) must list one target dimension for each of the \(operand.rank) dimensions of \(operand)")
        }
        try checkAxes(dimensions, rank: shape.count, what: "broadcast dims")
        var builder = IndexSpaceBuilder(operandRanks: [operand.rank])
        builder.resultIndices = shape.enumerated().map { dimension, size in
            builder.index("d\(dimension)", size: size, role: .free)
        }
        for (dimension, target) in dimensions.enumerated() {
            let size = operand.shape[dimension]
            guard size == shape[target] || size == 1 else {
                throw .shape("broadcast cannot put dimension \(dimension) of \(operand) (size \(size)) at dimension \(target) of \(shape.shapeText) (size \(shape[target]))")
            }
            builder.operandIndices[0][dimension] = size == shape[target] ? builder.resultIndices[target] : nil
        }
        return OperatorSignature(result: TensorType(shape, operand.dtype), indexSpace: builder.space)
    }

    static func concatSignature(_ axis: Int, _ operands: [TensorType]) throws(OperatorRuleViolation) -> OperatorSignature {
        let first = operands[0]
        try checkAxes([axis], rank: first.rank, what: "concat")
        try requireSameDType(operands, "concat")
        var shape = first.shape
        for operand in operands.dropFirst() {
            guard operand.rank == first.rank,
                  zip(operand.shape, first.shape).enumerated().allSatisfy({ $0.offset == axis || $0.element.0 == $0.element.1 })
            else {
                throw .shape("concat along axis \(axis) needs equal sizes on the other dimensions, found \(operands.map(\.description).joined(separator: ", "))")
            }
            let (sum, overflow) = shape[axis].addingReportingOverflow(operand.shape[axis])
            guard !overflow else { throw .shape("concat along axis \(axis) gives a dimension too large to represent") }
            shape[axis] = sum
        }
        return alongAxis(axis, operands: operands, resultShape: shape)
    }

    static func sliceSignature(_ axis: Int, _ start: Int, _ end: Int, _ groups: ExpertGroups?, _ operand: TensorType) throws(OperatorRuleViolation) -> OperatorSignature {
        try checkAxes([axis], rank: operand.rank, what: "slice")
        guard 0 <= start, start < end, end <= operand.shape[axis] else {
            throw .attribute("slice [\(start), \(end)) is not a non-empty range inside dimension \(axis) of \(operand) (size \(operand.shape[axis]))")
        }
        if let groups {
            // A router's top k among the experts of its best groups: the first k of the experts' scores.
            let experts = operand.shape[axis]
            guard groups.count >= 1, experts % groups.count == 0, (1 ... groups.count).contains(groups.chosen) else {
                throw .attribute("slice: expert_groups \(groups.count) and group_top_k \(groups.chosen) must split the \(experts) experts along dimension \(axis) into equal groups and choose 1 to \(max(groups.count, 1)) of them")
            }
            guard start == 0, end <= groups.chosen * experts / groups.count else {
                throw .attribute("slice: a router's top k with expert groups keeps the first k of the scores, at most the \(groups.chosen * experts / groups.count) experts of the \(groups.chosen) chosen groups; found [\(start), \(end))")
            }
        }
        var shape = operand.shape
        shape[axis] = end - start
        return alongAxis(axis, operands: [operand], resultShape: shape)
    }

    /// concat and slice: every dimension but `axis` keeps its index; along `axis` the result has its own
    /// index and the operands cannot be split.
    private static func alongAxis(_ axis: Int, operands: [TensorType], resultShape: [Int]) -> OperatorSignature {
        var builder = IndexSpaceBuilder(operandRanks: operands.map(\.rank))
        builder.resultIndices = resultShape.enumerated().map { dimension, size in
            builder.index("d\(dimension)", size: size, role: .free)
        }
        for operand in operands.indices {
            builder.operandIndices[operand] = builder.resultIndices.enumerated().map { $0.offset == axis ? nil : $0.element }
        }
        return OperatorSignature(result: TensorType(resultShape, operands[0].dtype), indexSpace: builder.space)
    }
}

func gcd(_ a: Int, _ b: Int) -> Int {
    var (x, y) = (a, b)
    while y != 0 { (x, y) = (y, x % y) }
    return x
}
