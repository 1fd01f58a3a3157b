extension TransformerConfiguration {
    /// How token positions enter the model.
    public enum PositionEncoding: String, Sendable, Equatable, CaseIterable {
        /// A trained `[sequence, hidden]` table added to the token embeddings (GPT, BERT).
        case learned
        /// Rotary embeddings (Su et al. 2021, Llama): q and k rotated by position-dependent angles in each
        /// attention layer; no parameters.
        case rotary
    }
}
