extension TransformerConfiguration {
    /// GShard-style mixture-of-experts MLPs (Lepikhin et al. 2020, arXiv:2006.16668): a gate picks the
    /// top-k experts of each token, tokens are dispatched to per-expert buffers of `capacity` slots per
    /// sequence, each expert runs its own GELU MLP, and the results are combined with the gate weights.
    public struct MixtureOfExperts: Sendable, Equatable {
        public var experts: Int
        /// Slots per expert per sequence (GShard's expert capacity for a group of one sequence: about
        /// `topK * capacityFactor * sequenceLength / experts`).
        public var capacity: Int
        /// Every `layerInterval`-th layer has experts (GShard: every other layer, so 2); the rest are dense.
        public var layerInterval: Int

        public init(experts: Int, capacity: Int, layerInterval: Int = 2) {
            self.experts = experts
            self.capacity = capacity
            self.layerInterval = layerInterval
        }
    }
}
