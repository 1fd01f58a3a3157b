extension ModelCatalog {
    /// The eight GPT-3 models of Brown et al. 2020, "Language Models are Few-Shot Learners"
    /// (arXiv:2005.14165), Table 2.1: layers, d_model, heads, d_head, batch size in tokens and n_params.
    /// All use 2048-token contexts and GPT-2's byte-level BPE vocabulary of 50257 tokens, unpadded
    /// (Radford et al. 2019), which is what Table 2.1's counts include. Batches in tokens become
    /// sequences of 2048: 0.5M -> 256, 1M -> 512, 2M -> 1024; 3.2M -> 1536, the batch Megatron-LM's GPT-3
    /// 175B recipe uses (3.2M / 2048 is not a whole number of sequences).
    ///
    /// Table 2.1 prints counts to two significant figures, so where that rounding exceeds 1% the tolerance
    /// says so.
    static let gpt3: [Entry] = [
        gpt3Entry("gpt3-125m", "Small", layers: 12, hidden: 768, heads: 12, batchTokens: "0.5M", globalBatch: 256,
                  published: 125_000_000, printed: "125M"),
        // The table's own dimensions give 355.9M (1.7% over the printed 350M).
        gpt3Entry("gpt3-350m", "Medium", layers: 24, hidden: 1024, heads: 16, batchTokens: "0.5M", globalBatch: 256,
                  published: 350_000_000, printed: "350M", tolerance: 0.02),
        gpt3Entry("gpt3-760m", "Large", layers: 24, hidden: 1536, heads: 16, batchTokens: "0.5M", globalBatch: 256,
                  published: 760_000_000, printed: "760M"),
        // The table prints 24 heads of 128 for d_model 2048 (24 x 128 = 3072, which would make 1.5B
        // parameters); we keep d_head 128 and d_model 2048, so 16 heads, as GPT-Neo 1.3B does.
        gpt3Entry("gpt3-1.3b", "XL", layers: 24, hidden: 2048, heads: 16, batchTokens: "1M", globalBatch: 512,
                  published: 1_300_000_000, printed: "1.3B", tolerance: 0.02),
        gpt3Entry("gpt3-2.7b", "2.7B", layers: 32, hidden: 2560, heads: 32, batchTokens: "1M", globalBatch: 512,
                  published: 2_700_000_000, printed: "2.7B", tolerance: 0.02),
        gpt3Entry("gpt3-6.7b", "6.7B", layers: 32, hidden: 4096, heads: 32, batchTokens: "2M", globalBatch: 1024,
                  published: 6_700_000_000, printed: "6.7B"),
        // The table prints d_model 5140 with 40 heads of 128; 40 x 128 = 5120 is the width that splits into
        // heads, so we use it (12.85B parameters, 1.1% under the printed 13.0B).
        gpt3Entry("gpt3-13b", "13B", layers: 40, hidden: 5120, heads: 40, batchTokens: "2M", globalBatch: 1024,
                  published: 13_000_000_000, printed: "13.0B", tolerance: 0.02),
        gpt3Entry("gpt3-175b", "175B (\"GPT-3\")", layers: 96, hidden: 12288, heads: 96, batchTokens: "3.2M", globalBatch: 1536,
                  published: 175_000_000_000, printed: "175.0B"),
    ]

    private static func gpt3Entry(_ id: String, _ name: String, layers: Int, hidden: Int, heads: Int, batchTokens: String,
                                  globalBatch: Int, published: Int, printed: String, tolerance: Double = 0.01) -> Entry {
        let configuration = TransformerConfiguration.gpt(layers: layers, hidden: hidden, heads: heads, vocabulary: 50257,
                                                         sequenceLength: 2048, globalBatch: globalBatch)
        return Entry(
            id: id, description: "GPT-3 \(name): \(layers) layers, d_model \(hidden), \(heads) heads",
            publishedParameterCount: published, parameterTolerance: tolerance,
            source: "Brown et al. 2020 (arXiv:2005.14165) Table 2.1: \(printed) parameters, batch \(batchTokens) tokens "
                + "(\(globalBatch) x 2048); vocabulary 50257 (GPT-2 BPE)",
            transformer: configuration)
    }
}
