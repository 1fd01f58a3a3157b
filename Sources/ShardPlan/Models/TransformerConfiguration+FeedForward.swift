extension TransformerConfiguration {
    /// The MLP of each layer.
    public enum FeedForward: String, Sendable, Equatable, CaseIterable {
        /// `down(gelu(up(x)))` (GPT, BERT).
        case gelu
        /// `down(silu(gate(x)) * up(x))` (Shazeer 2020, Llama): three weights instead of two.
        case swiGLU = "swiglu"
    }
}
