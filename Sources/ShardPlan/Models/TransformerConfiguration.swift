/// The shape of a transformer language model and of one global training batch: what `TransformerBuilder`
/// turns into a forward graph.
///
/// Sizes are counts (layers, heads) or tensor extents in elements (hidden, head and feed-forward widths,
/// vocabulary, tokens per sequence); `globalBatch` is in sequences. The defaults describe a GPT-style
/// decoder: pre-norm LayerNorm, a GELU MLP with biases, learned positions, tied embeddings, causal
/// attention and dropout 0.1; `gpt`, `llama` and `bert` give the usual families.
public struct TransformerConfiguration: Sendable, Equatable {
    public var layers: Int
    /// The model (residual stream) width, d_model.
    public var hidden: Int
    /// Query heads.
    public var heads: Int
    /// Key/value heads; fewer than `heads` is grouped-query attention (`heads` must be a multiple).
    public var keyValueHeads: Int
    /// The width of one head; usually `hidden / heads`, but some published models differ.
    public var headDimension: Int
    /// The inner width of the MLP (4 x hidden for GPT, 11008 for Llama-2 7B).
    public var feedForwardHidden: Int
    public var vocabulary: Int
    public var sequenceLength: Int
    /// Sequences in one global batch (tokens per batch = `globalBatch * sequenceLength`).
    public var globalBatch: Int
    /// The element type of parameters and activations.
    public var dtype: DType = .bf16
    /// The element type of the residual stream where it differs from `dtype`, or nil. PyTorch's autocast over
    /// fp32 weights (without FSDP's mixed precision, which gathers 16-bit weights) keeps it in fp32: the
    /// embedding lookup returns fp32, each sublayer's 16-bit output is promoted in the residual add, and the
    /// norms run in fp32 with their outputs cast to `dtype` for the projections that read them.
    public var residualDType: DType?
    public var normalization: Normalization = .layerNorm
    public var normPlacement: NormPlacement = .beforeSublayer
    public var feedForward: FeedForward = .gelu
    public var positionEncoding: PositionEncoding = .learned
    public var attentionImplementation: AttentionImplementation = .fused
    /// Whether the logits reuse the token embedding table (GPT, BERT) or have their own weight (Llama).
    public var tiedEmbeddings: Bool = true
    /// Whether a token attends only to earlier tokens (a decoder) or to all of them (an encoder).
    public var causal: Bool = true
    /// Sliding-window (local) causal attention: each query reads the `slidingWindow` most recent keys, itself
    /// included, in the layers `hasSlidingWindow(inLayer:)` names; nil for full attention in every layer. Mistral 7B
    /// v0.1: 4,096 in every layer; Gemma 2: 4,096 in every other layer; Olmo 3: 4,096 in three of every four.
    public var slidingWindow: Int?
    /// With `slidingWindow`, every n-th layer keeps full causal attention (the last of each group of n: layers
    /// n - 1, 2n - 1, ... counted from 0) and the others are windowed; nil windows every layer.
    public var globalAttentionInterval: Int?
    /// Each head's softmax also normalises over a learned logit of its own (gpt-oss's attention sinks): fused attention
    /// carries it (`Operator.attention`'s `sinks`); its parameter, one a head, is not in the graph.
    public var attentionSinks = false
    /// Dropout after the embeddings and after each sublayer (and on attention probabilities when attention
    /// is explicit); 0 emits no dropout ops.
    public var dropoutRate: Double = 0.1
    /// Whether projections and the MLP add biases (GPT, BERT) or not (Llama).
    public var biases: Bool = true
    /// Segment ("token type") embeddings added to the input, as BERT's sentence A/B; 0 for none.
    public var tokenTypes: Int = 0
    /// Whether the logits follow a dense + GELU + norm transform and add an output bias, as BERT's
    /// masked-language-model head.
    public var maskedLanguageModelHead: Bool = false
    /// Mixture-of-experts MLPs in some layers, or nil for a dense model.
    public var mixtureOfExperts: MixtureOfExperts?
    /// Whether queries and keys are RMS-normalised per head before the rotary embedding (Qwen3's QK-norm).
    public var queryKeyNorm: Bool = false
    /// Whether grouped k and v are copied to every query head before a fused attention kernel, as mid-2024
    /// torchtitan's `repeat_kv` did before SDPA; false where the kernel reads the grouped heads itself
    /// (TransformerEngine, FlashAttention's and cuDNN's GQA, SDPA's `enable_gqa`).
    public var repeatsKeyValueHeads: Bool = false
    /// DeepSeek's multi-head latent attention in place of the query, key and value projections, or nil.
    /// `headDimension` is then the value head dimension, which the output projection reads.
    public var latentAttention: LatentAttention?
    /// LoRA's trained low-rank adapters beside the blocks' linear layers, every other weight frozen; nil trains every
    /// weight.
    public var lowRankAdapters: LowRankAdapters?

    public init(layers: Int, hidden: Int, heads: Int, keyValueHeads: Int? = nil, headDimension: Int? = nil,
                feedForwardHidden: Int? = nil, vocabulary: Int, sequenceLength: Int, globalBatch: Int) {
        self.layers = layers
        self.hidden = hidden
        self.heads = heads
        self.keyValueHeads = keyValueHeads ?? heads
        self.headDimension = headDimension ?? hidden / Swift.max(heads, 1)
        self.feedForwardHidden = feedForwardHidden ?? 4 * hidden
        self.vocabulary = vocabulary
        self.sequenceLength = sequenceLength
        self.globalBatch = globalBatch
    }

    /// Whether one head-aligned weight `[hidden, 3, heads, head_dim]` projects q, k and v together; with
    /// grouped-query attention k and v are narrower, so each gets its own weight.
    public var fusesQueryKeyValue: Bool { keyValueHeads == heads }

    /// Whether layer `layer` (0-based) has a mixture-of-experts MLP.
    public func hasExperts(inLayer layer: Int) -> Bool {
        guard let mixtureOfExperts, mixtureOfExperts.layerInterval > 0, layer >= mixtureOfExperts.firstDenseLayers else { return false }
        return layer % mixtureOfExperts.layerInterval == mixtureOfExperts.layerInterval - 1
    }

    /// The sliding window of layer `layer`'s attention (0-based), or nil where it attends to every earlier key.
    public func slidingWindow(inLayer layer: Int) -> Int? {
        guard let slidingWindow else { return nil }
        if let interval = globalAttentionInterval, layer % interval == interval - 1 { return nil }
        return slidingWindow
    }

    /// Checks what shape inference alone would report late or obscurely. Each error is at the property that breaks
    /// the rule (`keyValueHeads`, `mixtureOfExperts.topK`), in words that name no property, so that a reader of another
    /// format can place it at its own member (`PublishedRun.attributed`).
    func validate() throws(InputError) {
        func refuse(_ property: String..., because reason: String) -> InputError {
            InputError(.invalidValue, at: JSONPath(property.map { .key($0) }), reason)
        }
        let sizes: [(String, String, Int)] = [("layers", "layers", layers), ("hidden", "hidden size", hidden), ("heads", "heads", heads),
                                              ("keyValueHeads", "key and value heads", keyValueHeads),
                                              ("headDimension", "head width", headDimension),
                                              ("feedForwardHidden", "feed-forward width", feedForwardHidden),
                                              ("vocabulary", "vocabulary", vocabulary), ("sequenceLength", "sequence length", sequenceLength),
                                              ("globalBatch", "global batch", globalBatch)]
        for (name, words, size) in sizes where size <= 0 {
            throw refuse(name, because: name == "headDimension"
                ? "a hidden size of \(hidden) over \(heads) heads leaves heads no width, found \(size)"
                : "the \(words) must be positive, found \(size)")
        }
        guard heads % keyValueHeads == 0 else {
            throw refuse("keyValueHeads", because: "\(heads) query heads are not a multiple of \(keyValueHeads) key and value heads")
        }
        if let mla = latentAttention {
            for (name, size) in [("queryRank", mla.queryRank), ("keyValueRank", mla.keyValueRank),
                                 ("positionlessDimension", mla.positionlessDimension), ("rotaryDimension", mla.rotaryDimension)]
            where size <= 0 || (name == "rotaryDimension" && size % 2 != 0) {
                throw refuse("latentAttention", name, because: "expected a positive size (and even for the rotary part), found \(size)")
            }
        }
        if let adapters = lowRankAdapters {
            guard adapters.rank >= 1 else { throw refuse("lowRankAdapters", "rank", because: "a LoRA rank is a positive integer, found \(adapters.rank)") }
            // Low rank: below the narrowest side of every adapted layer (the key and value projections' outputs).
            let narrowest = Swift.min(hidden, keyValueHeads * headDimension)
            guard adapters.rank < narrowest else {
                throw refuse("lowRankAdapters", "rank", because: "a LoRA rank of \(adapters.rank) is not low: the narrowest adapted layer has \(narrowest) inputs or outputs")
            }
            guard adapters.alpha > 0, adapters.alpha.isFinite else {
                throw refuse("lowRankAdapters", "alpha", because: "LoRA's alpha is a positive number, found \(adapters.alpha)")
            }
        }
        if let slidingWindow {
            guard slidingWindow > 0 else {
                throw refuse("slidingWindow", because: "a sliding window is a positive number of keys, found \(slidingWindow)")
            }
            guard causal else {
                throw refuse("slidingWindow", because: "a sliding window (\(slidingWindow) keys) needs causal attention")
            }
        }
        if let interval = globalAttentionInterval {
            guard slidingWindow != nil else {
                throw refuse("globalAttentionInterval", because: "every \(interval)-th layer global needs a sliding window for the other layers")
            }
            guard interval >= 2 else {
                throw refuse("globalAttentionInterval", because: "every n-th layer is kept global with n at least 2 (1 would window no layer), found \(interval)")
            }
        }
        if positionEncoding == .rotary && headDimension % 2 != 0 {
            throw refuse("headDimension", because: "rotary position encoding rotates pairs of elements, so a head's width must be even, found \(headDimension)")
        }
        guard (0..<1).contains(dropoutRate) else {
            throw refuse("dropoutRate", because: "a dropout rate is in [0, 1), found \(dropoutRate)")
        }
        if let residualDType, !residualDType.isFloatingPoint || residualDType == .fp8 {
            throw refuse("residualDType", because: "the residual stream must be f32, bf16 or f16, found \(residualDType.rawValue)")
        }
        guard tokenTypes >= 0 else {
            throw refuse("tokenTypes", because: "token types cannot be negative, found \(tokenTypes)")
        }
        if let moe = mixtureOfExperts {
            var sizes = [("experts", moe.experts), ("topK", moe.topK), ("layerInterval", moe.layerInterval),
                         ("expertFeedForwardHidden", moe.expertFeedForwardHidden ?? feedForwardHidden)]
            if moe.dispatch == .einsum { sizes.append(("capacity", moe.capacity)) }
            for (name, size) in sizes where size <= 0 {
                throw refuse("mixtureOfExperts", name, because: "expected a positive integer, found \(size)")
            }
            for (name, count) in [("sharedExperts", moe.sharedExperts), ("firstDenseLayers", moe.firstDenseLayers)] where count < 0 {
                throw refuse("mixtureOfExperts", name, because: "cannot be negative, found \(count)")
            }
            guard moe.topK <= moe.experts else {
                throw refuse("mixtureOfExperts", "topK", because: "each token goes to \(moe.topK) of \(moe.experts) experts, more than there are")
            }
            if case .permutation(let factor) = moe.dispatch {
                guard (sequenceLength * moe.topK) % moe.experts == 0 else {
                    throw refuse("mixtureOfExperts", "experts", because: "a permutation dispatch gives each expert sequence length x top-k / experts token slots a sequence; \(sequenceLength) x \(moe.topK) is not a multiple of \(moe.experts)")
                }
                if let factor, !(factor >= 1) {
                    throw refuse("mixtureOfExperts", "dispatch", because: "a capacity factor is at least 1, found \(factor)")
                }
            }
        }
    }
}
