extension ModelCatalog {
    /// A GShard-style mixture-of-experts decoder (Lepikhin et al. 2020, arXiv:2006.16668): every other
    /// layer's MLP is 128 experts with top-2 gating and capacity 2 x 1024 / 128 = 16 slots per expert and
    /// sequence (GShard's `2N / E` for groups of one sequence). The sizes (model 1024, FFN 8192, 16 heads,
    /// 12 decoder layers, vocabulary 32000, 1024-token sequences, batch 512) are ours, of the order of
    /// GShard's smaller models, so no count is published for this exact model.
    static let mixtureOfExpertsGShard: Entry = {
        var configuration = TransformerConfiguration.gpt(layers: 12, hidden: 1024, heads: 16, vocabulary: 32000,
                                                         sequenceLength: 1024, globalBatch: 512)
        configuration.feedForwardHidden = 8192
        configuration.mixtureOfExperts = .init(experts: 128, capacity: 16, layerInterval: 2)
        return Entry(
            id: "moe-gshard",
            description: "GShard-style MoE decoder: 12 layers, hidden 1024, FFN 8192, 128 experts top-2 every other layer",
            publishedParameterCount: nil,
            source: "Lepikhin et al. 2020 (arXiv:2006.16668): gating, dispatch and combine einsums, capacity 2N/E; "
                + "sizes ours (no published count)",
            transformer: configuration)
    }()
}
