extension ModelCatalog {
    /// Mistral 7B v0.1 (Jiang et al. 2023, arXiv:2310.06825, Table 1): a Llama-style decoder of 32 layers, hidden
    /// 4096, 32 query / 8 key-value heads of 128, SwiGLU 14336, vocabulary 32000, whose every layer attends over a
    /// sliding window of 4,096 tokens (section 2, "Sliding Window Attention"), with an 8,192-token context
    /// (`context_len`). Mistral AI's announcement calls it a 7.3B-parameter model. The paper gives no training
    /// batch: 8,192-token sequences and 512 a batch (4M tokens, Llama 2's) are ours.
    static let mistral7B: Entry = {
        var configuration = TransformerConfiguration.llama(layers: 32, hidden: 4096, heads: 32, keyValueHeads: 8,
                                                           feedForwardHidden: 14336, vocabulary: 32000,
                                                           sequenceLength: 8192, globalBatch: 512)
        configuration.slidingWindow = 4096
        return Entry(id: "mistral-7b", description: "Mistral 7B v0.1: 32 layers, hidden 4096, 32 query / 8 key-value heads, SwiGLU 14336, sliding window 4096",
                     publishedParameterCount: 7_300_000_000,
                     source: "Jiang et al. 2023 (arXiv:2310.06825) Table 1; Mistral AI's announcement: 7.3B parameters; batch 512 x 8192 ours",
                     transformer: configuration)
    }()
}
