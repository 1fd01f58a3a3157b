extension TransformerConfiguration {
    /// DeepSeek's multi-head latent attention (DeepSeek-V2, arXiv:2405.04434, section 2.1; DeepSeek-V3,
    /// arXiv:2412.19437, section 2.1.1): queries through a low-rank bottleneck, keys and values expanded from one
    /// compressed latent per token, and a small rotary part of each query and key head (the keys' shared by all
    /// heads). As trained (not the absorbed form of inference), it is ordinary attention with query and key heads
    /// of `positionlessDimension + rotaryDimension` and value heads of the model's `headDimension`.
    public struct LatentAttention: Sendable, Equatable {
        /// Rank of the query bottleneck (DeepSeek-V3: 1536).
        public var queryRank: Int
        /// Rank of the key-value latent (DeepSeek-V3: 512).
        public var keyValueRank: Int
        /// Per-head dimension of the query and key parts without position (DeepSeek-V3: 128).
        public var positionlessDimension: Int
        /// Per-head dimension of the rotary parts (DeepSeek-V3: 64).
        public var rotaryDimension: Int

        public init(queryRank: Int, keyValueRank: Int, positionlessDimension: Int, rotaryDimension: Int) {
            self.queryRank = queryRank
            self.keyValueRank = keyValueRank
            self.positionlessDimension = positionlessDimension
            self.rotaryDimension = rotaryDimension
        }

        /// Query and key head dimension.
        public var queryKeyDimension: Int { positionlessDimension + rotaryDimension }
    }
}
