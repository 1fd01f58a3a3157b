extension TransformerConfiguration {
    /// How activations are normalised before (or after) each sublayer.
    public enum Normalization: String, Sendable, Equatable, CaseIterable {
        /// Mean and variance, with scale and shift (GPT, BERT): `layer_norm`.
        case layerNorm = "layer_norm"
        /// Root mean square, with scale only (Llama): `rms_norm`.
        case rmsNorm = "rms_norm"
    }
}
