extension TransformerConfiguration {
    /// How self-attention appears in the graph.
    public enum AttentionImplementation: String, Sendable, Equatable, CaseIterable {
        /// One `attention` op, as a fused kernel (FlashAttention) computes it: the score matrix is never
        /// stored.
        case fused
        /// Score einsum, scale, causal mask, softmax, dropout and context einsum as separate ops, as
        /// Megatron-LM and Alpa's benchmarks compute it: the `[batch, heads, seq, seq]` scores are tensors
        /// the planner sees (and must keep for backward).
        case explicit
    }
}
