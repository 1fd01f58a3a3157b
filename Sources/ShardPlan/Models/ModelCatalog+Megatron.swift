extension ModelCatalog {
    /// The ten GPT models of Narayanan et al. 2021, "Efficient Large-Scale Language Model Training on GPU
    /// Clusters Using Megatron-LM" (SC'21, arXiv:2104.04473), Table 1: layers, hidden size, heads and global
    /// batch as in shared/data/published-runs.json rows `narayanan21-T1-*`; FFN 4h, vocabulary 51200 (GPT-2's
    /// padded to a multiple of 1024), 2048-token sequences. The published counts follow the paper's Eq. 2,
    /// `12 l h^2 (1 + 13 / 12h + (V + s) / 12lh)`, which this graph matches to within its final LayerNorm.
    ///
    /// Table 1 prints billions to one decimal, so the smallest two need the tolerance of that rounding.
    static let megatron: [Entry] = [
        megatronEntry("megatron-1.7b", layers: 24, hidden: 2304, heads: 24, globalBatch: 512, tenthsOfBillion: 17, tolerance: 0.03),
        megatronEntry("megatron-3.6b", layers: 30, hidden: 3072, heads: 32, globalBatch: 512, tenthsOfBillion: 36, tolerance: 0.02),
        megatronEntry("megatron-7.5b", layers: 36, hidden: 4096, heads: 32, globalBatch: 512, tenthsOfBillion: 75),
        megatronEntry("megatron-18.4b", layers: 40, hidden: 6144, heads: 48, globalBatch: 1024, tenthsOfBillion: 184),
        megatronEntry("megatron-39.1b", layers: 48, hidden: 8192, heads: 64, globalBatch: 1536, tenthsOfBillion: 391),
        megatronEntry("megatron-76.1b", layers: 60, hidden: 10240, heads: 80, globalBatch: 1792, tenthsOfBillion: 761),
        megatronEntry("megatron-145.6b", layers: 80, hidden: 12288, heads: 96, globalBatch: 2304, tenthsOfBillion: 1456),
        megatronEntry("megatron-310.1b", layers: 96, hidden: 16384, heads: 128, globalBatch: 2160, tenthsOfBillion: 3101),
        megatronEntry("megatron-529.6b", layers: 105, hidden: 20480, heads: 128, globalBatch: 2520, tenthsOfBillion: 5296),
        megatronEntry("megatron-1008b", layers: 128, hidden: 25600, heads: 160, globalBatch: 3072, tenthsOfBillion: 10080),
    ]

    private static func megatronEntry(_ id: String, layers: Int, hidden: Int, heads: Int, globalBatch: Int,
                                      tenthsOfBillion: Int, tolerance: Double = 0.01) -> Entry {
        let billions = "\(tenthsOfBillion / 10).\(tenthsOfBillion % 10)"
        let configuration = TransformerConfiguration.gpt(layers: layers, hidden: hidden, heads: heads, vocabulary: 51200,
                                                         sequenceLength: 2048, globalBatch: globalBatch)
        return Entry(
            id: id, description: "Megatron-LM SC'21 GPT-\(billions)B: \(layers) layers, hidden \(hidden), \(heads) heads",
            publishedParameterCount: tenthsOfBillion * 100_000_000, parameterTolerance: tolerance,
            source: "Narayanan et al. 2021 (SC'21, arXiv:2104.04473) Table 1, row narayanan21-T1-\(billions)B "
                + "of shared/data/published-runs.json: \(billions)B parameters (Eq. 2, vocabulary 51200), batch \(globalBatch) x 2048",
            transformer: configuration)
    }
}
