extension TransformerBuilder {
    /// q, k and v of DeepSeek's multi-head latent attention as trained (`TransformerConfiguration.LatentAttention`):
    /// `q = q_b(norm(q_a(x)))` split into a position-free part and a rotary part, the latter rotated;
    /// `kv_a(x)` gives the key-value latent and one rotary key shared by all heads; `kv_b(norm(latent))` gives
    /// each head's position-free key and its value; each head's key is its position-free part followed by the
    /// shared rotary key. DeepSeek-V3's projections have no biases (its released `modeling_deepseek.py`).
    func latentQueryKeyValue(_ prefix: String, _ x: ValueID, _ mla: TransformerConfiguration.LatentAttention,
                             in graph: inout GraphBuilder) throws(InputError) -> (ValueID, ValueID, ValueID) {
        let c = configuration
        let (batch, sequence, heads) = (c.globalBatch, c.sequenceLength, c.heads)
        let (free, rotary) = (mla.positionlessDimension, mla.rotaryDimension)
        let rotation = try rotaryTable(prefix, dimension: rotary, in: &graph)
        func norm(_ name: String, _ value: ValueID, width: Int) throws(InputError) -> ValueID {
            try graph.rmsNorm(name, value, scale: try graph.parameter("\(name).gamma", [width], c.dtype))
        }
        // Queries through the low-rank bottleneck.
        let queryLatent = try graph.einsum("\(prefix).q_a", "bsd,dr->bsr", x,
                                           try graph.parameter("\(prefix).q_a.w", [c.hidden, mla.queryRank], c.dtype))
        let queryHeads = try graph.einsum("\(prefix).q_b", "bsr,rhk->bshk", try norm("\(prefix).q_a.norm", queryLatent, width: mla.queryRank),
                                          try graph.parameter("\(prefix).q_b.w", [mla.queryRank, heads, mla.queryKeyDimension], c.dtype))
        let queryFree = try graph.add("\(prefix).q.free", .slice(axis: 3, start: 0, end: free), [queryHeads])
        let queryRotary = try graph.add("\(prefix).q.rotary", .slice(axis: 3, start: free, end: free + rotary), [queryHeads])
        let q = try graph.add("\(prefix).q", .concat(axis: 3),
                              [queryFree, try rotate("\(prefix).q", queryRotary, heads: heads, dimension: rotary, by: rotation, in: &graph)])
        // The key-value latent and the shared rotary key.
        let compressed = try graph.einsum("\(prefix).kv_a", "bsd,dc->bsc", x,
                                          try graph.parameter("\(prefix).kv_a.w", [c.hidden, mla.keyValueRank + rotary], c.dtype))
        let latent = try graph.add("\(prefix).kv.latent", .slice(axis: 2, start: 0, end: mla.keyValueRank), [compressed])
        let sharedRotary = try graph.add("\(prefix).k.shared_rotary", .slice(axis: 2, start: mla.keyValueRank, end: mla.keyValueRank + rotary),
                                         [compressed])
        let keyValueHeads = try graph.einsum("\(prefix).kv_b", "bsr,rhk->bshk", try norm("\(prefix).kv_a.norm", latent, width: mla.keyValueRank),
                                             try graph.parameter("\(prefix).kv_b.w", [mla.keyValueRank, heads, free + c.headDimension], c.dtype))
        let keyFree = try graph.add("\(prefix).k.free", .slice(axis: 3, start: 0, end: free), [keyValueHeads])
        let v = try graph.add("\(prefix).v", .slice(axis: 3, start: free, end: free + c.headDimension), [keyValueHeads])
        let oneHead = try graph.reshape("\(prefix).k.rotary_head", sharedRotary, [batch, sequence, 1, rotary])
        let rotated = try rotate("\(prefix).k", oneHead, heads: 1, dimension: rotary, by: rotation, in: &graph)
        let everyHead = try graph.add("\(prefix).k.rotary", .broadcast(shape: [batch, sequence, heads, rotary], dimensions: [0, 1, 2, 3]),
                                      [rotated])
        let k = try graph.add("\(prefix).k", .concat(axis: 3), [keyFree, everyHead])
        return (q, k, v)
    }
}
