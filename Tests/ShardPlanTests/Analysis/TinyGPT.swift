@testable import ShardPlan

/// A small GPT (pre-norm blocks, causal attention, GELU MLP of width 4h, tied embeddings) built with
/// `GraphBuilder`, for checking the analysis against the closed-form FLOP counts of the Megatron-LM papers.
struct TinyGPT {
    var batch = 4
    var sequence = 16
    var hidden = 32
    var heads = 4
    var vocabulary = 64
    var layers = 3
    /// Whether ops carry `layer` hints (`h0`, `h1`, ...).
    var hinted = false

    var headDimension: Int { hidden / heads }
    var elements: Int { batch * sequence * hidden }

    func graph() throws -> Graph {
        var builder = GraphBuilder(name: "tiny-gpt")
        let (b, s, h, v) = (batch, sequence, hidden, vocabulary)
        let tokens = try builder.input("tokens", [b, s], .i32)
        let labels = try builder.input("labels", [b, s], .i32)
        let wte = try builder.parameter("wte", [v, h])
        let wpe = try builder.parameter("wpe", [s, h])
        let embedded = try builder.add("embed", .embedding, [tokens, wte])
        var x = try builder.binary("x0", .add, embedded, wpe)
        for layer in 0..<layers {
            let p = "h\(layer)."
            builder.currentLayer = hinted ? "h\(layer)" : nil
            let ln1 = try builder.layerNorm(p + "ln1", x, scale: try builder.parameter(p + "ln1.g", [h]),
                                            shift: try builder.parameter(p + "ln1.b", [h]))
            var qkv: [ValueID] = []
            for name in ["q", "k", "v"] {
                let projected = try builder.einsum(p + name, "bsh,hk->bsk", ln1, try builder.parameter(p + "w" + name, [h, h]))
                qkv.append(try builder.reshape(p + name + ".heads", projected, [b, s, heads, headDimension]))
            }
            let attended = try builder.attention(p + "attn", q: qkv[0], k: qkv[1], v: qkv[2], causal: true)
            let merged = try builder.reshape(p + "attn.merged", attended, [b, s, h])
            let projected = try builder.einsum(p + "proj", "bsk,kh->bsh", merged, try builder.parameter(p + "wo", [h, h]))
            let residual = try builder.binary(p + "res1", .add, x, projected)
            let ln2 = try builder.layerNorm(p + "ln2", residual, scale: try builder.parameter(p + "ln2.g", [h]),
                                            shift: try builder.parameter(p + "ln2.b", [h]))
            let up = try builder.einsum(p + "fc1", "bsh,hf->bsf", ln2, try builder.parameter(p + "w1", [h, 4 * h]))
            let activated = try builder.unary(p + "gelu", .gelu, up)
            let down = try builder.einsum(p + "fc2", "bsf,fh->bsh", activated, try builder.parameter(p + "w2", [4 * h, h]))
            x = try builder.binary(p + "res2", .add, residual, down)
        }
        builder.currentLayer = nil
        let final = try builder.layerNorm("ln_f", x, scale: try builder.parameter("ln_f.g", [h]),
                                          shift: try builder.parameter("ln_f.b", [h]))
        let logits = try builder.einsum("logits", "bsh,vh->bsv", final, wte)
        builder.output(try builder.add("loss", .crossEntropy, [logits, labels]))
        return try builder.build()
    }
}
