extension Operator {
    /// ids `[...]` (integers) and a table `[vocab, hidden]` give `[..., hidden]`. Splitting the vocabulary
    /// leaves partial sums (each device looks up only its rows), as in Megatron's vocabulary-parallel embedding.
    static func embeddingSignature(_ operands: [TensorType]) throws(OperatorRuleViolation) -> OperatorSignature {
        let (ids, table) = (operands[0], operands[1])
        guard ids.dtype.isInteger else { throw .dtype("embedding ids must be integers, found \(ids)") }
        try requireFloatingPoint(table, "embedding table")
        try requireRank(table, 2, "embedding table [vocab, hidden]")
        var builder = IndexSpaceBuilder(operandRanks: [ids.rank, 2])
        for (dimension, size) in ids.shape.enumerated() {
            builder.operandIndices[0][dimension] = builder.index("d\(dimension)", size: size, role: .free)
        }
        let vocabulary = builder.index("vocab", size: table.shape[0], role: .summed)
        let hidden = builder.index("hidden", size: table.shape[1], role: .free)
        builder.operandIndices[1] = [vocabulary, hidden]
        builder.resultIndices = builder.operandIndices[0] + [hidden]
        return OperatorSignature(result: TensorType(ids.shape + [table.shape[1]], table.dtype), indexSpace: builder.space)
    }

    /// q `[b, s, h, d]`, k and v `[b, t, g, d]` with g dividing h (grouped-query attention) give `[b, s, h, dv]`.
    /// Batch, query sequence and heads split freely; head dimensions and the key sequence stay whole.
    static func attentionSignature(_ causal: Bool, _ operands: [TensorType]) throws(OperatorRuleViolation) -> OperatorSignature {
        let (q, k, v) = (operands[0], operands[1], operands[2])
        for (name, operand) in [("q", q), ("k", k), ("v", v)] {
            try requireRank(operand, 4, "attention's \(name) [batch, seq, heads, head_dim]")
            try requireFloatingPoint(operand, "attention's \(name)")
        }
        try requireSameDType(operands, "attention")
        guard q.shape[0] == k.shape[0], k.shape[0] == v.shape[0] else {
            throw .shape("attention's q, k and v must have the same batch size, found \(q), \(k) and \(v)")
        }
        guard k.shape[1] == v.shape[1], k.shape[2] == v.shape[2] else {
            throw .shape("attention's k and v must have the same sequence length and number of heads, found \(k) and \(v)")
        }
        guard q.shape[3] == k.shape[3] else {
            throw .shape("attention's q and k must have the same head dimension, found \(q) and \(k)")
        }
        guard q.shape[2] % k.shape[2] == 0 else {
            throw .shape("attention's query heads (\(q.shape[2])) must be a multiple of its key/value heads (\(k.shape[2])), found q \(q) and k \(k)")
        }
        if causal && q.shape[1] != k.shape[1] {
            throw .shape("causal attention needs queries and keys of the same length, found q \(q) and k \(k)")
        }
        var builder = IndexSpaceBuilder(operandRanks: [4, 4, 4])
        let batch = builder.index("batch", size: q.shape[0], role: .free)
        let query = builder.index("query", size: q.shape[1], role: .free)
        let heads = builder.index("heads", size: q.shape[2], role: .free)
        let headDimension = builder.index("head_dim", size: q.shape[3], role: .unsplittable)
        let key = builder.index("key", size: k.shape[1], role: .unsplittable)
        let valueDimension = builder.index("value_dim", size: v.shape[3], role: .unsplittable)
        builder.operandIndices = [[batch, query, heads, headDimension], [batch, key, heads, headDimension],
                                  [batch, key, heads, valueDimension]]
        builder.resultIndices = [batch, query, heads, valueDimension]
        let result = TensorType([q.shape[0], q.shape[1], q.shape[2], v.shape[3]], q.dtype)
        return OperatorSignature(result: result, indexSpace: builder.space)
    }

    static func conv2dSignature(_ stride: [Int], _ padding: [Int], _ groups: Int,
                                _ operands: [TensorType]) throws(OperatorRuleViolation) -> OperatorSignature {
        let (x, w) = (operands[0], operands[1])
        try requireRank(x, 4, "conv2d's input [N, C, H, W]")
        try requireRank(w, 4, "conv2d's weight [O, C/groups, kh, kw]")
        try requireSameDType(operands, "conv2d")
        try requireFloatingPoint(x, "conv2d")
        guard groups >= 1 else { throw .attribute("conv2d groups must be positive, found \(groups)") }
        try checkWindow(stride: stride, padding: padding, what: "conv2d")
        guard x.shape[1] % groups == 0, w.shape[0] % groups == 0, w.shape[1] * groups == x.shape[1] else {
            throw .shape("conv2d with \(groups) group\(groups == 1 ? "" : "s") needs input channels (\(x.shape[1])) = weight's dimension 1 (\(w.shape[1])) x groups, and output channels (\(w.shape[0])) divisible by groups")
        }
        let window = [w.shape[2], w.shape[3]]
        let spatial = try outputSpatial(x, window: window, stride: stride, padding: padding, what: "conv2d")
        var builder = IndexSpaceBuilder(operandRanks: [4, 4])
        let batch = builder.index("n", size: x.shape[0], role: .free)
        let rows = builder.index("h", size: x.shape[2], role: .unsplittable)
        let columns = builder.index("w", size: x.shape[3], role: .unsplittable)
        let kernelRows = builder.index("kh", size: window[0], role: .unsplittable)
        let kernelColumns = builder.index("kw", size: window[1], role: .unsplittable)
        if groups == 1 {
            let output = builder.index("o", size: w.shape[0], role: .free)
            let input = builder.index("c", size: x.shape[1], role: .summed)
            builder.operandIndices = [[batch, input, rows, columns], [output, input, kernelRows, kernelColumns]]
            builder.resultIndices = [batch, output, rows, columns]
        } else {
            // Only whole groups split: the group index is the leading factor of every channel dimension.
            let group = builder.index("group", size: groups, role: .free)
            let perGroup = builder.index("c_per_group", size: w.shape[1], role: .unsplittable)
            builder.operandIndices = [[batch, group, rows, columns], [group, perGroup, kernelRows, kernelColumns]]
            builder.resultIndices = [batch, group, rows, columns]
        }
        let result = TensorType([x.shape[0], w.shape[0], spatial[0], spatial[1]], x.dtype)
        return OperatorSignature(result: result, indexSpace: builder.space)
    }

    static func pool2dSignature(_ window: [Int], _ stride: [Int], _ padding: [Int],
                                _ x: TensorType) throws(OperatorRuleViolation) -> OperatorSignature {
        try requireRank(x, 4, "pool2d's input [N, C, H, W]")
        try requireFloatingPoint(x, "pool2d")
        guard window.count == 2, window.allSatisfy({ $0 >= 1 }) else {
            throw .attribute("pool2d window must be two positive sizes, found \(window.shapeText)")
        }
        try checkWindow(stride: stride, padding: padding, what: "pool2d")
        let spatial = try outputSpatial(x, window: window, stride: stride, padding: padding, what: "pool2d")
        var builder = IndexSpaceBuilder(operandRanks: [4])
        let batch = builder.index("n", size: x.shape[0], role: .free)
        let channels = builder.index("c", size: x.shape[1], role: .free)
        let rows = builder.index("h", size: x.shape[2], role: .unsplittable)
        let columns = builder.index("w", size: x.shape[3], role: .unsplittable)
        builder.operandIndices = [[batch, channels, rows, columns]]
        builder.resultIndices = [batch, channels, rows, columns]
        return OperatorSignature(result: TensorType([x.shape[0], x.shape[1], spatial[0], spatial[1]], x.dtype),
                                 indexSpace: builder.space)
    }

    private static func checkWindow(stride: [Int], padding: [Int], what: String) throws(OperatorRuleViolation) {
        guard stride.count == 2, stride.allSatisfy({ $0 >= 1 }) else {
            throw .attribute("\(what) stride must be two positive sizes, found \(stride.shapeText)")
        }
        guard padding.count == 2, padding.allSatisfy({ $0 >= 0 }) else {
            throw .attribute("\(what) padding must be two non-negative sizes, found \(padding.shapeText)")
        }
    }

    private static func outputSpatial(_ x: TensorType, window: [Int], stride: [Int], padding: [Int],
                                      what: String) throws(OperatorRuleViolation) -> [Int] {
        var sizes: [Int] = []
        for axis in 0..<2 {
            let padded: Int = x.shape[axis + 2] + 2 * padding[axis]
            guard padded >= window[axis] else {
                throw .shape("\(what) window \(window.shapeText) does not fit the padded input \(x)")
            }
            sizes.append((padded - window[axis]) / stride[axis] + 1)
        }
        return sizes
    }
}
