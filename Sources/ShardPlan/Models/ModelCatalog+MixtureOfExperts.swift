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

    /// The mixtures of experts as trained now: token permutation, dropless routing, top-k up to 8, fine-grained
    /// and shared experts (`TransformerConfiguration.MixtureOfExperts`, `TransformerBuilder.routedExperts`).
    static let mixtureOfExperts: [Entry] = [mixtral8x7B, qwen3MoE30B, qwen3MoE235B, deepSeekV3, gptOSS120B, gptOSS20B, mixtureOfExpertsTiny]

    /// Mixtral 8x7B (Jiang et al. 2024, arXiv:2401.04088, Table 1): Mistral 7B's 32 layers (hidden 4096, 32
    /// query / 8 key-value heads of 128, vocabulary 32000) with 8 SwiGLU experts of 14336 in every layer, top-2
    /// softmax routing. Published: 46.7B parameters, 12.9B active per token (Mistral AI's model card and
    /// announcement; the paper's "47B" and "13B"). The paper gives no batch or load-balancing weight: 4096-token
    /// sequences, 512 a batch and Megatron-Core's default auxiliary loss weight 0.01 are ours.
    static let mixtral8x7B: Entry = {
        var configuration = TransformerConfiguration.llama(layers: 32, hidden: 4096, heads: 32, keyValueHeads: 8,
                                                           feedForwardHidden: 14336, vocabulary: 32000,
                                                           sequenceLength: 4096, globalBatch: 512)
        configuration.mixtureOfExperts = .init(experts: 8, topK: 2, layerInterval: 1, dispatch: .permutation(capacityFactor: nil),
                                               auxiliaryLossWeight: 0.01)
        return Entry(id: "mixtral-8x7b", description: "Mixtral 8x7B: 32 layers, hidden 4096, 32 query / 8 key-value heads, 8 SwiGLU experts of 14336, top-2",
                     publishedParameterCount: 46_700_000_000, publishedActiveParameterCount: 12_900_000_000,
                     parameterTolerance: 0.002,
                     source: "Jiang et al. 2024 (arXiv:2401.04088) Table 1; Mistral AI: 46.7B total, 12.9B active; batch 512 x 4096 and aux weight 0.01 ours",
                     transformer: configuration)
    }()

    /// Qwen3-30B-A3B (Qwen3 technical report, arXiv:2505.09388, Table 2; the released `config.json`): 48 layers,
    /// hidden 2048, 32 query / 4 key-value heads of 128 with QK-norm, 128 experts of 768 in every layer, top-8
    /// softmax routing, no shared expert, vocabulary 151936, untied embeddings. Published: 30.5B parameters, 3.3B
    /// activated (model card, which prints two digits and truncates: the released tensors hold 3.35B active).
    /// Router auxiliary loss weight 0.001 (`router_aux_loss_coef`). The report does not give the batch:
    /// 4096-token sequences (its first pre-training stage) and 1024 a batch are ours.
    static let qwen3MoE30B = qwen3MoE(id: "qwen3-30b-a3b", name: "Qwen3-30B-A3B", layers: 48, hidden: 2048, heads: 32, denseWidth: 6144,
                                      expertWidth: 768, batch: 1024, published: (30_500_000_000, 3_300_000_000),
                                      counts: "30.5B total, 3.3B activated; batch 1024 x 4096 ours")

    /// Qwen3-235B-A22B (Qwen3 technical report, arXiv:2505.09388, Table 2; the released `config.json`): 94 layers,
    /// hidden 4096, 64 query / 4 key-value heads of 128 with QK-norm, 128 experts of 1536 in every layer, top-8
    /// softmax routing, no shared expert, vocabulary 151936, untied embeddings, router auxiliary loss weight 0.001.
    /// Published: 235B parameters, 22B activated (model card; the released tensors hold 235.1B and 22.2B). The
    /// report does not give the batch: 4096-token sequences and 2048 a batch are those of NVIDIA's
    /// Megatron-MoE-ModelZoo runs of this model (Docs/calibration/megatron-moe-model-zoo.json).
    static let qwen3MoE235B = qwen3MoE(id: "qwen3-235b-a22b", name: "Qwen3-235B-A22B", layers: 94, hidden: 4096, heads: 64, denseWidth: 12288,
                                       expertWidth: 1536, batch: 2048, published: (235_000_000_000, 22_000_000_000),
                                       counts: "235B total, 22B activated; batch 2048 x 4096 from NVIDIA's Megatron-MoE-ModelZoo runs")

    /// The Qwen3 MoE architecture: 4 key-value heads, heads of 128 with QK-norm, 128 experts of `expertWidth` in every
    /// layer, top-8 softmax routing with auxiliary loss weight 0.001, vocabulary 151936, untied embeddings,
    /// 4096-token sequences, `batch` of them a step; `denseWidth` is the released `intermediate_size`, which no layer
    /// uses.
    private static func qwen3MoE(id: String, name: String, layers: Int, hidden: Int, heads: Int, denseWidth: Int, expertWidth: Int,
                                 batch: Int, published: (total: Int, active: Int), counts: String) -> Entry {
        var configuration = TransformerConfiguration.llama(layers: layers, hidden: hidden, heads: heads, keyValueHeads: 4,
                                                           feedForwardHidden: denseWidth, vocabulary: 151936,
                                                           sequenceLength: 4096, globalBatch: batch)
        configuration.headDimension = 128
        configuration.queryKeyNorm = true
        configuration.mixtureOfExperts = .init(experts: 128, topK: 8, layerInterval: 1, dispatch: .permutation(capacityFactor: nil),
                                               expertFeedForwardHidden: expertWidth, auxiliaryLossWeight: 0.001)
        return Entry(id: id, description: "\(name): \(layers) layers, hidden \(hidden), \(heads) query / 4 key-value heads, 128 experts of \(expertWidth), top-8",
                     publishedParameterCount: published.total, publishedActiveParameterCount: published.active,
                     parameterTolerance: 0.02,
                     source: "Qwen3 technical report (arXiv:2505.09388) Table 2 and config.json; model card: \(counts)",
                     transformer: configuration)
    }

    /// DeepSeek-V3 (arXiv:2412.19437, section 4.2 and its released `config.json`): 61 layers, hidden 7168, 128
    /// heads of multi-head latent attention (query rank 1536, key-value rank 512, 128 + 64 rotary per query and
    /// key head, values of 128), the first 3 layers dense (SwiGLU 18432), the other 58 with 256 routed experts of
    /// 2048 and 1 shared, top-8 sigmoid routing, vocabulary 129280, untied embeddings; 4096-token sequences in
    /// batches of 15360 (section 4.2). Published: 671B parameters, 37B activated per token, without the 14B
    /// multi-token-prediction module, which this graph leaves out too. Its balance comes mostly from a routing
    /// bias without a loss; the small sequence-wise balance loss (alpha = 0.0001) is priced as a batch-wise one. Its
    /// routing is node-limited: the experts fall into 8 groups and each token's 8 come from its best 4
    /// (`n_group`, `topk_group`; section 2.1.2: each token reaches at most 4 nodes when each node holds one group).
    static let deepSeekV3: Entry = {
        var configuration = TransformerConfiguration.llama(layers: 61, hidden: 7168, heads: 128, keyValueHeads: 128,
                                                           feedForwardHidden: 18432, vocabulary: 129280,
                                                           sequenceLength: 4096, globalBatch: 15360)
        configuration.headDimension = 128
        configuration.latentAttention = .init(queryRank: 1536, keyValueRank: 512, positionlessDimension: 128, rotaryDimension: 64)
        configuration.mixtureOfExperts = .init(experts: 256, topK: 8, layerInterval: 1, firstDenseLayers: 3,
                                               dispatch: .permutation(capacityFactor: nil), expertFeedForwardHidden: 2048,
                                               sharedExperts: 1, scoring: .sigmoid, auxiliaryLossWeight: 0.0001,
                                               groups: ExpertGroups(count: 8, chosen: 4))
        return Entry(id: "deepseek-v3", description: "DeepSeek-V3: 61 layers, hidden 7168, MLA with 128 heads, 3 dense layers then 256 experts of 2048 + 1 shared, top-8",
                     publishedParameterCount: 671_000_000_000, publishedActiveParameterCount: 37_000_000_000,
                     parameterTolerance: 0.02,
                     source: "DeepSeek-V3 technical report (arXiv:2412.19437) sections 2 and 4.2, config.json: 671B total, 37B activated (printed to 2-3 digits)",
                     transformer: configuration)
    }()

    /// gpt-oss-120b (OpenAI's gpt-oss model card, arXiv:2508.10925, Table 1, and the released `config.json`): 36 layers,
    /// hidden 2880, 64 query / 8 key-value heads of 64 with biases, sliding-window attention of 128 tokens in every
    /// other layer (the first windowed), 128 SwiGLU experts of 2880 with biases in every layer, top-4 softmax routing,
    /// vocabulary 201088, untied embeddings. Published: 116.83B parameters, 5.13B active, a count that leaves out the
    /// embedding table (the unembedding is in it). Each head's learned attention sink (one more logit in its softmax)
    /// is marked on the attention ops (`sinks`), which decides the context-parallel exchange TransformerEngine runs
    /// for it; its 64 parameters a layer, and the clamp of the SwiGLU, are not in the graph. OpenAI does not give the
    /// batch: 1280 sequences of 4096 tokens are Megatron-Bridge's performance preset for it.
    static let gptOSS120B = gptOSS(id: "gpt-oss-120b", layers: 36, experts: 128, published: 116_830_000_000, active: 5_130_000_000)

    /// gpt-oss-20b, the same model card's smaller model: 24 layers and 32 experts, otherwise as gpt-oss-120b.
    /// Published: 20.91B parameters, 3.61B active (the embedding table left out).
    static let gptOSS20B = gptOSS(id: "gpt-oss-20b", layers: 24, experts: 32, published: 20_910_000_000, active: 3_610_000_000)

    /// The gpt-oss architecture with `layers` layers of `experts` experts.
    private static func gptOSS(id: String, layers: Int, experts: Int, published: Int, active: Int) -> Entry {
        var configuration = TransformerConfiguration.llama(layers: layers, hidden: 2880, heads: 64, keyValueHeads: 8,
                                                           feedForwardHidden: 2880, vocabulary: 201088,
                                                           sequenceLength: 4096, globalBatch: 1280)
        configuration.headDimension = 64
        configuration.biases = true
        configuration.slidingWindow = 128
        configuration.globalAttentionInterval = 2
        configuration.attentionSinks = true
        configuration.mixtureOfExperts = .init(experts: experts, topK: 4, layerInterval: 1, dispatch: .permutation(capacityFactor: nil),
                                               expertFeedForwardHidden: 2880, auxiliaryLossWeight: nil)
        return Entry(id: id, description: "\(id): \(layers) layers, hidden 2880, 64 query / 8 key-value heads of 64, window 128 in every other layer, \(experts) experts of 2880, top-4",
                     publishedParameterCount: published, publishedActiveParameterCount: active, parameterTolerance: 0.005,
                     source: "OpenAI gpt-oss model card (arXiv:2508.10925) Table 1 and config.json: \(Double(published) / 1e9)B total, \(Double(active) / 1e9)B active without the embedding table; batch 1280 x 4096 from Megatron-Bridge's preset",
                     transformer: configuration)
    }

    /// A 2-layer MoE small enough for the JAX check: hidden 64, 4 query / 2 key-value heads, 8 SwiGLU experts of
    /// 32 top-2 in both layers, dropless, with load-balancing loss; 32 tokens, batch 8, vocabulary 256.
    static let mixtureOfExpertsTiny: Entry = {
        var configuration = TransformerConfiguration.llama(layers: 2, hidden: 64, heads: 4, keyValueHeads: 2,
                                                           feedForwardHidden: 176, vocabulary: 256, sequenceLength: 32,
                                                           globalBatch: 8)
        configuration.mixtureOfExperts = .init(experts: 8, topK: 2, layerInterval: 1, dispatch: .permutation(capacityFactor: nil),
                                               expertFeedForwardHidden: 32, auxiliaryLossWeight: 0.01)
        return Entry(id: "moe-tiny", description: "A 2-layer MoE: hidden 64, 8 SwiGLU experts of 32 top-2 with token permutation, 32 tokens, batch 8",
                     publishedParameterCount: nil, source: "test model", transformer: configuration)
    }()
}
