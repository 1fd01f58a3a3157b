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

    /// x `[N, C, H, W]` and w `[O, C/groups, kh, kw]` give `[N, O, OH, OW]`. The iteration space is the
    /// convolution's multiply-adds: batch, output channels, output rows and columns, input channels per
    /// group and the window. Batch and output channels split freely; input channels are summed (only
    /// whole groups split when there are several); the spatial and window indices stay whole, since a
    /// split would need halo exchanges. The input's spatial dimensions carry no index: they never split.
    static func conv2dSignature(_ stride: [Int], _ padding: [Int], _ groups: Int,
                                _ operands: [TensorType]) throws(OperatorRuleViolation) -> OperatorSignature {
        let (x, w) = (operands[0], operands[1])
        try requireRank(x, 4, "conv2d's input [N, C, H, W]")
        try requireRank(w, 4, "conv2d's weight [O, C/groups, kh, kw]")
        try requireSameDType(operands, "conv2d")
        try requireFloatingPoint(x, "conv2d")
        guard groups >= 1 else { throw .attribute("conv2d groups must be positive, found \(groups)") }
        try checkWindow(stride: stride, padding: padding, what: "conv2d")
        // Division rather than `w.shape[1] * groups`, which could overflow for absurd sizes.
        guard x.shape[1] % groups == 0, w.shape[0] % groups == 0, x.shape[1] / groups == w.shape[1] else {
            throw .shape("conv2d with \(groups) group\(groups == 1 ? "" : "s") needs input channels (\(x.shape[1])) = weight's dimension 1 (\(w.shape[1])) x groups, and output channels (\(w.shape[0])) divisible by groups, found x \(x) and w \(w)")
        }
        let window = [w.shape[2], w.shape[3]]
        let spatial = try outputSpatial(x, window: window, stride: stride, padding: padding, what: "conv2d")
        var builder = IndexSpaceBuilder(operandRanks: [4, 4])
        let batch = builder.index("n", size: x.shape[0], role: .free)
        let outputRows = builder.index("oh", size: spatial[0], role: .unsplittable)
        let outputColumns = builder.index("ow", size: spatial[1], role: .unsplittable)
        let kernelRows = builder.index("kh", size: window[0], role: .unsplittable)
        let kernelColumns = builder.index("kw", size: window[1], role: .unsplittable)
        if groups == 1 {
            let output = builder.index("o", size: w.shape[0], role: .free)
            let input = builder.index("c", size: x.shape[1], role: .summed)
            builder.operandIndices = [[batch, input, nil, nil], [output, input, kernelRows, kernelColumns]]
            builder.resultIndices = [batch, output, outputRows, outputColumns]
        } else {
            // The group index is the leading factor of every channel dimension (as a reshape's shared
            // leading index is): splitting it hands each device whole groups. The channels within a group
            // have their own indices, which no dimension can split on its own.
            let group = builder.index("group", size: groups, role: .free)
            builder.index("o_per_group", size: w.shape[0] / groups, role: .unsplittable)
            let perGroup = builder.index("c_per_group", size: w.shape[1], role: .unsplittable)
            builder.operandIndices = [[batch, group, nil, nil], [group, perGroup, kernelRows, kernelColumns]]
            builder.resultIndices = [batch, group, outputRows, outputColumns]
        }
        let result = TensorType([x.shape[0], w.shape[0], spatial[0], spatial[1]], x.dtype)
        return OperatorSignature(result: result, indexSpace: builder.space)
    }

    /// x `[N, C, H, W]` gives `[N, C, OH, OW]`; batch and channels split freely, the output positions and the
    /// window stay whole, and the input's spatial dimensions never split.
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
        let outputRows = builder.index("oh", size: spatial[0], role: .unsplittable)
        let outputColumns = builder.index("ow", size: spatial[1], role: .unsplittable)
        builder.index("kh", size: window[0], role: .unsplittable)
        builder.index("kw", size: window[1], role: .unsplittable)
        builder.operandIndices = [[batch, channels, nil, nil]]
        builder.resultIndices = [batch, channels, outputRows, outputColumns]
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
