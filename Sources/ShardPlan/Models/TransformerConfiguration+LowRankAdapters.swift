extension TransformerConfiguration {
    /// LoRA fine-tuning (Hu et al. 2021, arXiv:2106.09685): beside each of the blocks' dense linear layers, a trained
    /// low-rank update `x A B x (alpha / rank)` with `A` [inputs, rank] and `B` [rank, outputs`], and every other
    /// weight frozen (`Value.isFrozen`: the base weights, the embedding, the norms, the head), as PEFT's `LoraConfig`
    /// with `target_modules="all-linear"` trains. The experts of a mixture of experts and a latent attention's
    /// projections take no adapter (their weights are frozen), nor does the output layer.
    public struct LowRankAdapters: Sendable, Equatable {
        /// The adapters' rank r.
        public var rank: Int
        /// LoRA's alpha: the update is scaled by alpha / rank (PEFT's default alpha is 8).
        public var alpha: Double

        public init(rank: Int, alpha: Double = 8) {
            self.rank = rank
            self.alpha = alpha
        }
    }
}
