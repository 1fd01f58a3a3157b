extension TransformerConfiguration {
    /// A GPT-2/GPT-3/Megatron-LM decoder: pre-norm LayerNorm, 4h GELU MLP, biases, learned positions,
    /// tied embeddings, dropout 0.1 (Radford et al. 2019; Brown et al. 2020, §2.1).
    public static func gpt(layers: Int, hidden: Int, heads: Int, headDimension: Int? = nil, vocabulary: Int,
                           sequenceLength: Int, globalBatch: Int) -> TransformerConfiguration {
        TransformerConfiguration(layers: layers, hidden: hidden, heads: heads, headDimension: headDimension,
                                 vocabulary: vocabulary, sequenceLength: sequenceLength, globalBatch: globalBatch)
    }

    /// A Llama decoder: pre-norm RMSNorm, SwiGLU MLP, rotary positions, no biases, no dropout, untied
    /// output weight, optionally grouped-query attention (Touvron et al. 2023; Dubey et al. 2024).
    public static func llama(layers: Int, hidden: Int, heads: Int, keyValueHeads: Int, feedForwardHidden: Int,
                             vocabulary: Int, sequenceLength: Int, globalBatch: Int) -> TransformerConfiguration {
        var configuration = TransformerConfiguration(
            layers: layers, hidden: hidden, heads: heads, keyValueHeads: keyValueHeads,
            feedForwardHidden: feedForwardHidden, vocabulary: vocabulary, sequenceLength: sequenceLength,
            globalBatch: globalBatch)
        configuration.normalization = .rmsNorm
        configuration.feedForward = .swiGLU
        configuration.positionEncoding = .rotary
        configuration.biases = false
        configuration.dropoutRate = 0
        configuration.tiedEmbeddings = false
        return configuration
    }

    /// A BERT encoder for masked-language-model pre-training: bidirectional attention, post-norm
    /// LayerNorm, GELU MLP, biases, learned positions, two segment types, and the MLM head (dense, GELU,
    /// LayerNorm, tied decoder with bias) (Devlin et al. 2019).
    public static func bert(layers: Int, hidden: Int, heads: Int, vocabulary: Int, sequenceLength: Int,
                            globalBatch: Int) -> TransformerConfiguration {
        var configuration = TransformerConfiguration(layers: layers, hidden: hidden, heads: heads,
                                                     vocabulary: vocabulary, sequenceLength: sequenceLength,
                                                     globalBatch: globalBatch)
        configuration.causal = false
        configuration.normPlacement = .afterResidual
        configuration.tokenTypes = 2
        configuration.maskedLanguageModelHead = true
        return configuration
    }
}
