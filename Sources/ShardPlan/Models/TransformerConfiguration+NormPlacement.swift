extension TransformerConfiguration {
    /// Where each sublayer's norm sits relative to its residual connection.
    public enum NormPlacement: String, Sendable, Equatable, CaseIterable {
        /// `x + f(norm(x))`, with a final norm before the logits (GPT-2 onwards, Llama).
        case beforeSublayer = "pre"
        /// `norm(x + f(x))`, with a norm after the embeddings instead of a final one (the original
        /// Transformer and BERT).
        case afterResidual = "post"
    }
}
