/// Builds the forward graph of one training step of a transformer language model: `tokens` and `labels`
/// (`i32 [batch, seq]`) in, the mean next-token (or masked-token) cross-entropy `loss` out.
///
/// The graph follows the model's published structure op for op at the granularity a planner needs:
/// every weight is a parameter with its real shape, every matmul an einsum that keeps heads as their own
/// index (`bsd,dthk->bsthk`), so tensor parallelism over heads is visible without reshapes. Ops are named
/// `h3.attn.qkv`, parameters `h3.attn.qkv.w`, and every op carries a `layer` hint: `embed`, `layer0` ...
/// `layer{N-1}`, `head`.
public struct TransformerBuilder: Sendable {
    public var name: String
    public var configuration: TransformerConfiguration

    public init(name: String, configuration: TransformerConfiguration) {
        self.name = name
        self.configuration = configuration
    }

    public func build() throws(InputError) -> Graph {
        try configuration.validate()
        let shape = [configuration.globalBatch, configuration.sequenceLength]
        var graph = GraphBuilder(name: name)
        graph.currentLayer = "embed"
        let tokens = try graph.input("tokens", shape, .i32)
        let labels = try graph.input("labels", shape, .i32)
        var tokenTypes: ValueID?
        if configuration.tokenTypes > 0 { tokenTypes = try graph.input("token_types", shape, .i32) }
        let table = try graph.parameter("embed.table", [configuration.vocabulary, configuration.hidden], configuration.dtype)
        var x = try embed(tokens, tokenTypes: tokenTypes, table: table, in: &graph)
        var auxiliaryLosses: [ValueID] = []
        for layer in 0..<configuration.layers {
            graph.currentLayer = "layer\(layer)"
            x = try attentionBlock(layer, x, in: &graph)
            x = try feedForwardBlock(layer, x, auxiliaryLosses: &auxiliaryLosses, in: &graph)
        }
        graph.currentLayer = "head"
        let loss = try head(x, table: table, labels: labels, auxiliaryLosses: auxiliaryLosses, in: &graph)
        graph.output(loss)
        // With LoRA only the adapters train.
        let trains: (String) -> Bool = configuration.lowRankAdapters == nil ? { _ in true } : { Self.isAdapter($0) }
        return try graph.build().inDeclarationOrder(trainable: trains)
    }

    private func embed(_ tokens: ValueID, tokenTypes: ValueID?, table: ValueID,
                       in graph: inout GraphBuilder) throws(InputError) -> ValueID {
        let c = configuration
        var x = try graph.add("embed", .embedding, [tokens, table])
        if c.positionEncoding == .learned {
            let positions = try graph.parameter("embed.position_table", [c.sequenceLength, c.hidden], c.dtype)
            x = try graph.binary("embed.with_positions", .add, x, positions)
        }
        if let tokenTypes {
            let typeTable = try graph.parameter("embed.token_type_table", [c.tokenTypes, c.hidden], c.dtype)
            let types = try graph.add("embed.token_types", .embedding, [tokenTypes, typeTable])
            x = try graph.binary("embed.with_token_types", .add, x, types)
        }
        x = try toResidual("embed", x, in: &graph)
        if c.normPlacement == .afterResidual { x = try normalize("embed.norm", x, in: &graph) }
        return try dropout("embed.dropout", x, in: &graph)
    }

    private func attentionBlock(_ layer: Int, _ x: ValueID, in graph: inout GraphBuilder) throws(InputError) -> ValueID {
        let c = configuration
        let prefix = "h\(layer).attn"
        let input = try toCompute("\(prefix)", c.normPlacement == .beforeSublayer ? try normalize("\(prefix).norm", x, in: &graph) : x,
                                  in: &graph)
        var (q, k, v) = try queryKeyValue(prefix, input, in: &graph)
        if c.repeatsKeyValueHeads && c.attentionImplementation == .fused && c.keyValueHeads < c.heads && c.latentAttention == nil {
            (k, v) = (try repeatedHeads("\(prefix).k", k, in: &graph), try repeatedHeads("\(prefix).v", v, in: &graph))
        }
        let context = switch c.attentionImplementation {
        case .fused: try graph.attention(prefix, q: q, k: k, v: v, causal: c.causal, window: c.slidingWindow(inLayer: layer),
                                         sinks: c.attentionSinks)
        case .explicit: try explicitAttention(prefix, q: q, k: k, v: v, in: &graph)
        }
        var out = try project("\(prefix).out", "bshk,hkd->bsd", context, weight: [c.heads, c.headDimension, c.hidden],
                              bias: [c.hidden], in: &graph)
        out = try toResidual("\(prefix).out", try dropout("\(prefix).dropout", out, in: &graph), in: &graph)
        let sum = try graph.binary("\(prefix).residual", .add, x, out)
        return c.normPlacement == .afterResidual ? try normalize("\(prefix).norm", sum, in: &graph) : sum
    }

    private func feedForwardBlock(_ layer: Int, _ x: ValueID, auxiliaryLosses: inout [ValueID],
                                  in graph: inout GraphBuilder) throws(InputError) -> ValueID {
        let c = configuration
        let prefix = "h\(layer).mlp"
        let input = try toCompute("\(prefix)", c.normPlacement == .beforeSublayer ? try normalize("\(prefix).norm", x, in: &graph) : x,
                                  in: &graph)
        var y: ValueID
        if let experts = c.mixtureOfExperts, c.hasExperts(inLayer: layer) {
            switch experts.dispatch {
            case .einsum:
                y = try mixtureOfExperts(prefix, input, experts: experts, in: &graph)
            case .permutation:
                let routed = try routedExperts(prefix, input, experts: experts, in: &graph)
                y = routed.output
                if let loss = routed.auxiliaryLoss { auxiliaryLosses.append(loss) }
            }
        } else {
            y = try feedForward(prefix, input, in: &graph)
        }
        y = try toResidual("\(prefix).out", try dropout("\(prefix).dropout", y, in: &graph), in: &graph)
        let sum = try graph.binary("\(prefix).residual", .add, x, y)
        return c.normPlacement == .afterResidual ? try normalize("\(prefix).norm", sum, in: &graph) : sum
    }

    /// The output layer and the loss: the cross-entropy, plus the routers' load-balancing losses where there
    /// are any (the cross-entropy is then `head.cross_entropy`, the balance losses' mean `head.aux`, and `loss`
    /// their sum).
    private func head(_ x: ValueID, table: ValueID, labels: ValueID, auxiliaryLosses: [ValueID],
                      in graph: inout GraphBuilder) throws(InputError) -> ValueID {
        let c = configuration
        var y = x
        if c.normPlacement == .beforeSublayer { y = try normalize("head.norm", y, in: &graph) }
        y = try toCompute("head", y, in: &graph)
        if c.maskedLanguageModelHead {
            y = try project("head.transform", "bsd,de->bse", y, weight: [c.hidden, c.hidden], bias: [c.hidden], in: &graph)
            y = try graph.unary("head.transform.gelu", .gelu, y)
            y = try normalize("head.transform.norm", y, in: &graph)
        }
        let weight = c.tiedEmbeddings ? table : try graph.parameter("head.w", [c.vocabulary, c.hidden], c.dtype)
        var logits = try graph.einsum("head.logits", "bsd,vd->bsv", y, weight)
        if c.maskedLanguageModelHead && c.biases {
            let bias = try graph.parameter("head.logits.b", [c.vocabulary], c.dtype)
            logits = try graph.binary("head.logits.bias", .add, logits, bias)
        }
        guard !auxiliaryLosses.isEmpty else { return try graph.add("loss", .crossEntropy, [logits, labels]) }
        let crossEntropy = try graph.add("head.cross_entropy", .crossEntropy, [logits, labels])
        // Each layer's per-sequence balance losses are added up sequence by sequence, then averaged once.
        var perSequence = auxiliaryLosses[0]
        for (index, auxiliary) in auxiliaryLosses.dropFirst().enumerated() {
            perSequence = try graph.binary("head.aux.\(index + 1)", .add, perSequence, auxiliary)
        }
        let balance = try graph.add("head.aux", .reduce(.mean, axes: [0], keepDimensions: false), [perSequence])
        return try graph.binary("loss", .add, crossEntropy, balance)
    }

    /// `x` in the residual stream's type (`TransformerConfiguration.residualDType`): a cast `\(name).to_residual`
    /// where it differs from the type `x` has.
    func toResidual(_ name: String, _ x: ValueID, in graph: inout GraphBuilder) throws(InputError) -> ValueID {
        guard let residual = configuration.residualDType, graph.type(of: x).dtype != residual else { return x }
        return try graph.add("\(name).to_residual", .cast(residual), [x])
    }

    /// `x` in the projections' type (`TransformerConfiguration.dtype`): a cast `\(name).to_compute` where the
    /// residual stream's type differs.
    func toCompute(_ name: String, _ x: ValueID, in graph: inout GraphBuilder) throws(InputError) -> ValueID {
        guard graph.type(of: x).dtype != configuration.dtype else { return x }
        return try graph.add("\(name).to_compute", .cast(configuration.dtype), [x])
    }

    /// `layer_norm` or `rms_norm` over the hidden axis, with its scale (and shift) parameters in `x`'s type.
    func normalize(_ name: String, _ x: ValueID, in graph: inout GraphBuilder) throws(InputError) -> ValueID {
        let c = configuration
        let dtype = graph.type(of: x).dtype
        let gamma = try graph.parameter("\(name).gamma", [c.hidden], dtype)
        switch c.normalization {
        case .layerNorm:
            let beta = try graph.parameter("\(name).beta", [c.hidden], dtype)
            return try graph.layerNorm(name, x, scale: gamma, shift: beta)
        case .rmsNorm:
            return try graph.rmsNorm(name, x, scale: gamma)
        }
    }

    /// An einsum with a weight `\(name).w`, plus a bias `\(name).b` when the model has biases; inside the blocks, with
    /// LoRA (`TransformerConfiguration.lowRankAdapters`), plus the adapters' update (`adapted`).
    func project(_ name: String, _ equation: String, _ x: ValueID, weight: [Int], bias: [Int],
                 in graph: inout GraphBuilder) throws(InputError) -> ValueID {
        let w = try graph.parameter("\(name).w", weight, configuration.dtype)
        var y = try graph.einsum(name, equation, x, w)
        if let adapters = configuration.lowRankAdapters, graph.currentLayer?.hasPrefix("layer") == true {
            y = try adapted(name, equation, x, y, weight: weight, adapters: adapters, in: &graph)
        }
        guard configuration.biases else { return y }
        let b = try graph.parameter("\(name).b", bias, configuration.dtype)
        return try graph.binary("\(name).bias", .add, y, b)
    }

    /// `y = x W` plus LoRA's update of it, `(x A) B x alpha / rank`: `A` (`\(name).lora_a`) contracts what `W` contracts
    /// into the rank, `B` (`\(name).lora_b`) spreads the rank over `W`'s output dimensions (`bsd,dhk->bshk` gives
    /// `bsd,dr->bsr` and `bsr,rhk->bshk`).
    func adapted(_ name: String, _ equation: String, _ x: ValueID, _ y: ValueID, weight: [Int],
                 adapters: TransformerConfiguration.LowRankAdapters, in graph: inout GraphBuilder) throws(InputError) -> ValueID {
        let sides = equation.split(separator: "-").map(String.init)
        let operands = sides[0].split(separator: ",").map(String.init)
        let (input, weightLetters, output) = (operands[0], Array(operands[1]), String(sides[1].dropFirst()))
        guard let rank = "rzqxyuvw".first(where: { !equation.contains($0) }) else { return y }
        let contracted = weightLetters.filter { input.contains($0) }
        let outputs = weightLetters.filter { output.contains($0) }
        func sizes(_ letters: [Character]) -> [Int] { letters.map { weight[weightLetters.firstIndex(of: $0)!] } }
        let kept = String(input.filter { !contracted.contains($0) })
        let a = try graph.parameter("\(name).lora_a", sizes(contracted) + [adapters.rank], configuration.dtype)
        let b = try graph.parameter("\(name).lora_b", [adapters.rank] + sizes(outputs), configuration.dtype)
        let down = try graph.einsum("\(name).lora_down", "\(input),\(String(contracted))\(rank)->\(kept)\(rank)", x, a)
        let up = try graph.einsum("\(name).lora_up", "\(kept)\(rank),\(rank)\(String(outputs))->\(output)", down, b)
        let scaled = try graph.add("\(name).lora_scale", .scale(factor: adapters.alpha / Double(adapters.rank)), [up])
        return try graph.binary("\(name).lora", .add, y, scaled)
    }

    /// Whether parameter `name` is one of LoRA's adapters, the only weights that train beside them.
    static func isAdapter(_ name: String) -> Bool { LowRankAdapter(parameterName: name) != nil }

    /// Dropout at the configured rate; no op at all when the rate is 0.
    func dropout(_ name: String, _ x: ValueID, in graph: inout GraphBuilder) throws(InputError) -> ValueID {
        configuration.dropoutRate > 0 ? try graph.dropout(name, x, rate: configuration.dropoutRate) : x
    }
}
