extension TransformerBuilder {
    /// q `[batch, seq, heads, head_dim]`, k and v `[batch, seq, kv_heads, head_dim]`, rotated by position
    /// when the model uses rotary embeddings.
    func queryKeyValue(_ prefix: String, _ x: ValueID,
                       in graph: inout GraphBuilder) throws(InputError) -> (ValueID, ValueID, ValueID) {
        let c = configuration
        let (batch, sequence) = (c.globalBatch, c.sequenceLength)
        if let mla = c.latentAttention { return try latentQueryKeyValue(prefix, x, mla, in: &graph) }
        let rotation = c.positionEncoding == .rotary ? try rotaryTable(prefix, in: &graph) : nil
        guard c.fusesQueryKeyValue && !c.queryKeyNorm else {
            var q = try project("\(prefix).q", "bsd,dhk->bshk", x, weight: [c.hidden, c.heads, c.headDimension],
                                bias: [c.heads, c.headDimension], in: &graph)
            var k = try project("\(prefix).k", "bsd,dhk->bshk", x, weight: [c.hidden, c.keyValueHeads, c.headDimension],
                                bias: [c.keyValueHeads, c.headDimension], in: &graph)
            let v = try project("\(prefix).v", "bsd,dhk->bshk", x, weight: [c.hidden, c.keyValueHeads, c.headDimension],
                                bias: [c.keyValueHeads, c.headDimension], in: &graph)
            if c.queryKeyNorm {
                // Qwen3: an RMSNorm over each head's elements, one scale vector of head_dim per projection.
                q = try graph.rmsNorm("\(prefix).q.norm", q, scale: try graph.parameter("\(prefix).q.norm.gamma", [c.headDimension], c.dtype))
                k = try graph.rmsNorm("\(prefix).k.norm", k, scale: try graph.parameter("\(prefix).k.norm.gamma", [c.headDimension], c.dtype))
            }
            if let rotation {
                q = try rotate("\(prefix).q", q, heads: c.heads, by: rotation, in: &graph)
                k = try rotate("\(prefix).k", k, heads: c.keyValueHeads, by: rotation, in: &graph)
            }
            return (q, k, v)
        }
        // One head-aligned weight keeps q, k and v of a head together, so splitting heads splits all three.
        let qkv = try project("\(prefix).qkv", "bsd,dthk->bsthk", x, weight: [c.hidden, 3, c.heads, c.headDimension],
                              bias: [3, c.heads, c.headDimension], in: &graph)
        var parts: [ValueID] = []
        for (index, part) in ["q", "k", "v"].enumerated() {
            let slice = try graph.add("\(prefix).\(part).slice", .slice(axis: 2, start: index, end: index + 1), [qkv])
            if let rotation, part != "v" {
                parts.append(try rotate("\(prefix).\(part)", slice, heads: c.heads, by: rotation, in: &graph))
            } else {
                parts.append(try graph.reshape("\(prefix).\(part)", slice, [batch, sequence, c.heads, c.headDimension]))
            }
        }
        return (parts[0], parts[1], parts[2])
    }

    /// k or v `[batch, seq, kv_heads, head_dim]` copied to each query head of its group, `[batch, seq, heads,
    /// head_dim]`, as torchtitan's `repeat_kv` does (`unsqueeze`, `expand`, `reshape`): the reshape of the
    /// expanded view materialises it, here an `identity` of a broadcast, one kernel reading the grouped heads and
    /// writing all of them (its backward sums each group's gradients, `OperatorCostModel`).
    func repeatedHeads(_ name: String, _ x: ValueID, in graph: inout GraphBuilder) throws(InputError) -> ValueID {
        let c = configuration
        let grouped = [c.globalBatch, c.sequenceLength, c.keyValueHeads, c.heads / c.keyValueHeads, c.headDimension]
        let expanded = try graph.add("\(name).expanded", .broadcast(shape: grouped, dimensions: [0, 1, 2, 4]), [x])
        let copy = try graph.unary("\(name).repeated", .identity, expanded)
        return try graph.reshape("\(name).heads", copy, [c.globalBatch, c.sequenceLength, c.heads, c.headDimension])
    }

    /// The rotary embedding's rotation matrices `[seq, head_dim / 2, 2, 2]`: for position s and pair p,
    /// `[[cos a, -sin a], [sin a, cos a]]` with `a = s * theta^(-2p / head_dim)` (Su et al. 2021). They are a
    /// precomputed buffer, not a parameter (`freqs_cis` in Meta's Llama code); the catalog has no sin or
    /// cos, so a `constant` of that shape stands for them: the planner reads only shapes. Each layer makes
    /// its own, so pipeline stages exchange nothing but activations.
    func rotaryTable(_ prefix: String, dimension: Int? = nil, in graph: inout GraphBuilder) throws(InputError) -> ValueID {
        let c = configuration
        return try graph.add("\(prefix).rotary", .constant(shape: [c.sequenceLength, (dimension ?? c.headDimension) / 2, 2, 2],
                                                           dtype: c.dtype, value: 0), [])
    }

    /// Rotates each adjacent pair of a head's elements by its position's angle, as Meta's
    /// `apply_rotary_emb` does with complex numbers: view `x` (any layout of `[batch, seq, heads, head_dim]`)
    /// as pairs, apply the 2 x 2 rotation as an einsum (4 multiply-adds per element, against 3 for the
    /// cos/sin form), and view the result as heads again: three ops instead of the slices, negation and
    /// concatenation of the rotate-half form.
    func rotate(_ name: String, _ x: ValueID, heads: Int, dimension: Int? = nil, by rotation: ValueID,
                in graph: inout GraphBuilder) throws(InputError) -> ValueID {
        let c = configuration
        let dimension = dimension ?? c.headDimension
        let pairs = try graph.reshape("\(name).pairs", x, [c.globalBatch, c.sequenceLength, heads, dimension / 2, 2])
        let rotated = try graph.einsum("\(name).rotated", "bshpj,spij->bshpi", pairs, rotation)
        return try graph.reshape("\(name).rope", rotated, [c.globalBatch, c.sequenceLength, heads, dimension])
    }

    /// Attention as separate ops: scores `[batch, heads, seq, seq]`, scaled by 1/sqrt(head_dim), masked
    /// (causal), softmax, dropout, then the weighted sum of values. With grouped-query attention the query
    /// heads are viewed as `[kv_heads, heads / kv_heads]` so each group shares its k and v. A sliding window keeps
    /// the causal mask's ops: the whole `seq x seq` score matrix is materialised either way, so its memory and time
    /// are causal attention's (the window's extra comparison is left out).
    func explicitAttention(_ prefix: String, q: ValueID, k: ValueID, v: ValueID,
                           in graph: inout GraphBuilder) throws(InputError) -> ValueID {
        let c = configuration
        let (batch, sequence) = (c.globalBatch, c.sequenceLength)
        let grouped = !c.fusesQueryKeyValue
        var scores: ValueID
        if grouped {
            let groups = try graph.reshape("\(prefix).q.groups", q, [batch, sequence, c.keyValueHeads,
                                                                     c.heads / c.keyValueHeads, c.headDimension])
            scores = try graph.einsum("\(prefix).scores", "bsgrk,btgk->bgrst", groups, k)
        } else {
            scores = try graph.einsum("\(prefix).scores", "bshk,bthk->bhst", q, k)
        }
        scores = try graph.add("\(prefix).scaled", .scale(factor: 1 / Double(c.headDimension).squareRoot()), [scores])
        if c.causal {
            let square = [sequence, sequence]
            let query = try graph.add("\(prefix).query_position", .iota(shape: square, dimension: 0, dtype: .i32), [])
            let key = try graph.add("\(prefix).key_position", .iota(shape: square, dimension: 1, dtype: .i32), [])
            let visible = try graph.binary("\(prefix).visible", .ge, query, key)
            // A large negative score rather than -inf, which JSON cannot write; softmax gives it weight 0.
            let hidden = try graph.add("\(prefix).masked_score", .constant(shape: [], dtype: c.dtype, value: -1e9), [])
            scores = try graph.add("\(prefix).masked", .select, [visible, scores, hidden])
        }
        var probabilities = try graph.add("\(prefix).probs", .softmax(axis: -1), [scores])
        probabilities = try dropout("\(prefix).probs.dropout", probabilities, in: &graph)
        guard grouped else { return try graph.einsum(prefix, "bhst,bthk->bshk", probabilities, v) }
        let context = try graph.einsum("\(prefix).groups", "bgrst,btgk->bsgrk", probabilities, v)
        return try graph.reshape(prefix, context, [batch, sequence, c.heads, c.headDimension])
    }
}
