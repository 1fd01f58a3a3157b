extension ModelCatalog {
    /// Llama 2 (Touvron et al. 2023, arXiv:2307.09288) and Llama 3 (Dubey et al. 2024, "The Llama 3 Herd of
    /// Models", arXiv:2407.21783). Dimensions: Llama 3's Table 3 (layers, model and FFN dimensions, heads,
    /// key/value heads) and, for Llama 2, the released `params.json` files (FFN 11008 = 8/3 x 4096 rounded
    /// up to a multiple of 256; 70B: 1.3 x that rule, 28672). Vocabularies as released: 32000 and 128256
    /// (Llama 3's "128K": 128000 tokens plus 256 reserved special tokens). Sequences: 4096 for Llama 2
    /// (Table 1), 8192 for Llama 3 (§3.4). Batches: Llama 2's 4M tokens (§2.2) = 1024 x 4096; Llama 3 405B's
    /// final 16M tokens (§3.4.1) = 2048 x 8192, which Meta does not state for 8B and 70B, so we use it for
    /// all three. Published counts: the released checkpoints' tensor sizes, as the model cards print them.
    static let llama: [Entry] = [
        llamaEntry("llama2-7b", "Llama 2 7B", layers: 32, hidden: 4096, heads: 32, keyValueHeads: 32, feedForward: 11008,
                   vocabulary: 32000, sequence: 4096, globalBatch: 1024, published: 6_740_000_000, printed: "6.74B"),
        llamaEntry("llama2-70b", "Llama 2 70B", layers: 80, hidden: 8192, heads: 64, keyValueHeads: 8, feedForward: 28672,
                   vocabulary: 32000, sequence: 4096, globalBatch: 1024, published: 68_980_000_000, printed: "68.98B"),
        llamaEntry("llama3-8b", "Llama 3 8B", layers: 32, hidden: 4096, heads: 32, keyValueHeads: 8, feedForward: 14336,
                   vocabulary: 128256, sequence: 8192, globalBatch: 2048, published: 8_030_000_000, printed: "8.03B"),
        llamaEntry("llama3-70b", "Llama 3 70B", layers: 80, hidden: 8192, heads: 64, keyValueHeads: 8, feedForward: 28672,
                   vocabulary: 128256, sequence: 8192, globalBatch: 2048, published: 70_600_000_000, printed: "70.6B"),
        llamaEntry("llama3-405b", "Llama 3 405B", layers: 126, hidden: 16384, heads: 128, keyValueHeads: 8, feedForward: 53248,
                   vocabulary: 128256, sequence: 8192, globalBatch: 2048, published: 405_900_000_000, printed: "405.9B"),
    ]

    private static func llamaEntry(_ id: String, _ name: String, layers: Int, hidden: Int, heads: Int, keyValueHeads: Int,
                                   feedForward: Int, vocabulary: Int, sequence: Int, globalBatch: Int,
                                   published: Int, printed: String) -> Entry {
        let configuration = TransformerConfiguration.llama(
            layers: layers, hidden: hidden, heads: heads, keyValueHeads: keyValueHeads, feedForwardHidden: feedForward,
            vocabulary: vocabulary, sequenceLength: sequence, globalBatch: globalBatch)
        let paper = id.hasPrefix("llama2") ? "Touvron et al. 2023 (arXiv:2307.09288)" : "Dubey et al. 2024 (arXiv:2407.21783)"
        let attention = keyValueHeads < heads ? "\(heads) query / \(keyValueHeads) key-value heads" : "\(heads) heads"
        return Entry(
            id: id, description: "\(name): \(layers) layers, hidden \(hidden), \(attention), SwiGLU \(feedForward)",
            publishedParameterCount: published,
            source: "\(paper); released checkpoint: \(printed) parameters; batch \(globalBatch) x \(sequence)",
            transformer: configuration)
    }
}
