@testable import ShardPlan

/// One head of attention for hand-checked kernel prices: one sequence of `tokens` tokens, one head of 128, q = k = v
/// projected by a weight so the attention has a backward pass, and an A100 that prices it by FlashAttention-2's
/// formula alone.
enum SingleHeadAttention {
    /// An A100's bf16 peak with FlashAttention-2, no launch cost and no matmul ceiling, so a kernel's time is the
    /// attention formula alone.
    static let a100 = KernelModel(peakFLOPs: [.bf16: 312e12], memoryBandwidth: 2.039e12, multiprocessors: 108,
                                  bestMatmulEfficiency: 1, attentionKernel: .flash2, generation: .ampere, launchSeconds: 0)

    /// The graph: x `[1, tokens, 1, 128]`, q = x w, and `attention` over q, q, q.
    static func graph(tokens: Int, window: Int? = nil, causal: Bool = true) throws -> Graph {
        var builder = GraphBuilder(name: "window")
        let x = try builder.input("x", [1, tokens, 1, 128], .bf16)
        let w = try builder.parameter("w", [128, 128])
        let q = try builder.einsum("q", "bshd,de->bshe", x, w)
        builder.output(try builder.attention("attention", q: q, k: q, v: q, causal: causal, window: window))
        return try builder.build()
    }
}
