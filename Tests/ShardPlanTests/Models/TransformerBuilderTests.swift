import Testing
@testable import ShardPlan

@Suite("transformer builder")
struct TransformerBuilderTests {
    static let tinyGPT = TransformerConfiguration.gpt(layers: 2, hidden: 64, heads: 4, vocabulary: 500,
                                                      sequenceLength: 32, globalBatch: 8)
    static let tinyLlama = TransformerConfiguration.llama(layers: 2, hidden: 64, heads: 4, keyValueHeads: 2,
                                                          feedForwardHidden: 176, vocabulary: 256,
                                                          sequenceLength: 32, globalBatch: 8)

    private func build(_ configuration: TransformerConfiguration) throws -> Graph {
        try TransformerBuilder(name: "t", configuration: configuration).build()
    }

    private func type(_ graph: Graph, _ name: String) throws -> TensorType {
        graph[try #require(graph.value(named: name), "no tensor \(name)")].type
    }

    private func producer(_ graph: Graph, of name: String) throws -> Operation {
        let id = try #require(graph.value(named: name), "no tensor \(name)")
        return try #require(graph.producer(of: id), "\(name) is not an op's result")
    }

    private func inputNames(_ graph: Graph, of name: String) throws -> [String] {
        try producer(graph, of: name).inputs.map { graph[$0].name }
    }

    @Test("GPT-2 style: a fused head-aligned QKV weight, learned positions, tied logits")
    func gptStructure() throws {
        let graph = try build(Self.tinyGPT)
        #expect(try type(graph, "h0.attn.qkv.w") == TensorType([64, 3, 4, 16], .bf16))
        #expect(try type(graph, "h0.attn.qkv") == TensorType([8, 32, 3, 4, 16], .bf16))
        #expect(try type(graph, "h0.attn.q") == TensorType([8, 32, 4, 16], .bf16))
        #expect(try type(graph, "h0.attn.out.w") == TensorType([4, 16, 64], .bf16))
        #expect(try type(graph, "embed.position_table") == TensorType([32, 64], .bf16))
        #expect(try inputNames(graph, of: "head.logits") == ["head.norm", "embed.table"])
        #expect(graph.value(named: "head.w") == nil)
        #expect(try type(graph, "head.logits") == TensorType([8, 32, 500], .bf16))
    }

    @Test("tied embeddings: the table is one parameter read by the lookup and the logits")
    func tiedEmbeddingsShareOneParameter() throws {
        let graph = try build(Self.tinyGPT)
        let table = try #require(graph.value(named: "embed.table"))
        let readers = graph.consumers()[table.rawValue].map { graph.operations[$0].name }
        #expect(readers == ["embed", "head.logits"])
        #expect(graph.parameters.filter { graph[$0].type.shape == [500, 64] }.map { graph[$0].name } == ["embed.table"])
    }

    @Test("Llama style: grouped-query k and v, rotary q and k, SwiGLU, RMSNorm, untied output, no biases or dropout")
    func llamaStructure() throws {
        let graph = try build(Self.tinyLlama)
        #expect(try type(graph, "h0.attn.q.w") == TensorType([64, 4, 16], .bf16))
        #expect(try type(graph, "h0.attn.k.w") == TensorType([64, 2, 16], .bf16))
        #expect(try type(graph, "h0.attn.v.w") == TensorType([64, 2, 16], .bf16))
        #expect(try inputNames(graph, of: "h0.attn") == ["h0.attn.q.rope", "h0.attn.k.rope", "h0.attn.v"])
        #expect(try type(graph, "h0.attn.k.rope") == TensorType([8, 32, 2, 16], .bf16))
        #expect(try type(graph, "h0.attn.rotary") == TensorType([32, 8, 2, 2], .bf16))
        #expect(try type(graph, "h0.mlp.gate.w") == TensorType([64, 176], .bf16))
        #expect(try inputNames(graph, of: "head.logits") == ["head.norm", "head.w"])
        let kinds = Set(graph.operations.map(\.op.kindName))
        #expect(kinds.contains("rms_norm") && kinds.contains("silu"))
        #expect(!kinds.contains("layer_norm") && !kinds.contains("dropout") && !kinds.contains("gelu"))
        #expect(graph.parameters.allSatisfy { !graph[$0].name.hasSuffix(".b") })
        #expect(graph.value(named: "embed.position_table") == nil)
    }

    @Test("rotary embeddings on a fused QKV rotate q and k but not v")
    func rotaryWithFusedQKV() throws {
        var configuration = Self.tinyLlama
        configuration.keyValueHeads = 4
        let graph = try build(configuration)
        #expect(try inputNames(graph, of: "h1.attn") == ["h1.attn.q.rope", "h1.attn.k.rope", "h1.attn.v"])
        #expect(try inputNames(graph, of: "h1.attn.q.pairs") == ["h1.attn.q.slice"])
        #expect(try type(graph, "h1.attn.q.pairs") == TensorType([8, 32, 4, 8, 2], .bf16))
    }

    @Test("every op has a layer hint: embed, then layer0 ... layerN-1, then head")
    func layerHints() throws {
        let graph = try build(Self.tinyGPT)
        var order: [String] = []
        for operation in graph.operations {
            let layer = try #require(operation.layer, "\(operation.name) has no layer hint")
            if order.last != layer { order.append(layer) }
            if operation.name.hasPrefix("h1.") { #expect(layer == "layer1") }
        }
        #expect(order == ["embed", "layer0", "layer1", "head"])
    }

    /// Ops per layer stay few so that the planner handles 100-layer models quickly.
    @Test("ops per layer", arguments: [("gpt3-175b", 22), ("llama2-7b", 23), ("llama3-405b", 21), ("bert-large", 22)])
    func opsPerLayer(_ id: String, _ count: Int) throws {
        let graph = try BuiltModels.graph(id)
        #expect(graph.operations.filter { $0.layer == "layer0" }.count == count)
        #expect(graph.operations.filter { $0.layer == "layer1" }.count == count)
    }

    @Test("GPT-3 175B has 96 layers of 22 ops between a 3-op embedding and a 3-op head")
    func gpt3Size() throws {
        let graph = try BuiltModels.graph("gpt3-175b")
        #expect(graph.operations.count == 3 + 96 * 22 + 3)
        #expect(graph.operations.filter { $0.layer == "layer95" }.count == 22)
    }

    @Test("BERT: bidirectional, post-norm, segment embeddings and a masked-LM head with its bias")
    func bertStructure() throws {
        let graph = try BuiltModels.graph("bert-large")
        #expect(try inputNames(graph, of: "h0.attn.norm") == ["h0.attn.residual", "h0.attn.norm.gamma", "h0.attn.norm.beta"])
        #expect(try inputNames(graph, of: "h0.attn.qkv") == ["embed.dropout", "h0.attn.qkv.w"])
        #expect(try producer(graph, of: "h0.attn").op == .attention(causal: false))
        #expect(try type(graph, "token_types") == TensorType([256, 512], .i32))
        #expect(try inputNames(graph, of: "head.logits") == ["head.transform.norm", "embed.table"])
        #expect(try inputNames(graph, of: "loss") == ["head.logits.bias", "labels"])
        #expect(graph.value(named: "head.norm") == nil)
    }

    /// BERT-large's released checkpoint has 335,141,888 parameters with its pooler (1024 x 1024 + 1024)
    /// and without the pre-training heads; the graph has no pooler but the masked-LM transform
    /// (1024 x 1024 + 1024, a LayerNorm of 2 x 1024) and the output bias (30522).
    @Test("BERT-large's encoder matches the released checkpoint")
    func bertCheckpoint() throws {
        let graph = try BuiltModels.graph("bert-large")
        let pooler = 1024 * 1024 + 1024
        let maskedLanguageModelHead = 1024 * 1024 + 1024 + 2 * 1024 + 30522
        #expect(ModelCatalog.parameterCount(of: graph) == 335_141_888 - pooler + maskedLanguageModelHead)
    }

    @Test("explicit attention: scores [b, h, s, s], scaled, causally masked, softmax, dropout, context")
    func explicitAttention() throws {
        var configuration = Self.tinyGPT
        configuration.attentionImplementation = .explicit
        let graph = try build(configuration)
        #expect(try type(graph, "h0.attn.scores") == TensorType([8, 4, 32, 32], .bf16))
        #expect(try type(graph, "h0.attn.visible") == TensorType([32, 32], .bool))
        #expect(try inputNames(graph, of: "h0.attn.probs") == ["h0.attn.masked"])
        #expect(try inputNames(graph, of: "h0.attn") == ["h0.attn.probs.dropout", "h0.attn.v"])
        #expect(try type(graph, "h0.attn") == TensorType([8, 32, 4, 16], .bf16))
        #expect(!graph.operations.contains { $0.op.kindName == "attention" })
        #expect(try producer(graph, of: "h0.attn.scaled").op == .scale(factor: 0.25))
    }

    @Test("explicit grouped-query attention groups the query heads over the shared k and v")
    func explicitGroupedQueryAttention() throws {
        var configuration = Self.tinyLlama
        configuration.attentionImplementation = .explicit
        let graph = try build(configuration)
        #expect(try type(graph, "h0.attn.q.groups") == TensorType([8, 32, 2, 2, 16], .bf16))
        #expect(try type(graph, "h0.attn.scores") == TensorType([8, 2, 2, 32, 32], .bf16))
        #expect(try type(graph, "h0.attn") == TensorType([8, 32, 4, 16], .bf16))
        #expect(graph.value(named: "h0.attn.probs.dropout") == nil)
    }

    @Test("non-causal explicit attention has no mask")
    func explicitBidirectional() throws {
        var configuration = Self.tinyGPT
        configuration.attentionImplementation = .explicit
        configuration.causal = false
        let graph = try build(configuration)
        #expect(try inputNames(graph, of: "h0.attn.probs") == ["h0.attn.scaled"])
    }

    @Test("GShard MoE: experts every other layer, dispatch and combine einsums keep the expert index")
    func mixtureOfExperts() throws {
        let graph = try BuiltModels.graph("moe-gshard")
        #expect(graph.value(named: "h0.mlp.router") == nil)
        #expect(graph.value(named: "h0.mlp.up") != nil)
        #expect(try type(graph, "h1.mlp.router") == TensorType([512, 1024, 128], .bf16))
        #expect(try type(graph, "h1.mlp.combine") == TensorType([512, 1024, 128, 16], .bf16))
        #expect(try type(graph, "h1.mlp.dispatched") == TensorType([128, 512, 16, 1024], .bf16))
        #expect(try type(graph, "h1.mlp.experts.up.w") == TensorType([128, 1024, 8192], .bf16))
        #expect(try type(graph, "h1.mlp.experts.up") == TensorType([128, 512, 16, 8192], .bf16))
        #expect(try type(graph, "h1.mlp.combined") == TensorType([512, 1024, 1024], .bf16))
        let moeLayers = (0..<12).filter { graph.value(named: "h\($0).mlp.router") != nil }
        #expect(moeLayers == [1, 3, 5, 7, 9, 11])
    }

    /// PyTorch's autocast over fp32 weights: the lookup returns fp32, the norms run in fp32 and their outputs are cast
    /// to bf16 for the projections, and each sublayer's bf16 output is promoted in the fp32 residual add.
    @Test("an fp32 residual stream: fp32 norms and residual adds, casts to bf16 before the projections and back after")
    func fp32ResidualStream() throws {
        var configuration = Self.tinyGPT
        configuration.residualDType = .f32
        let graph = try build(configuration)
        let bf16 = try build(Self.tinyGPT)
        #expect(try type(graph, "embed.to_residual") == TensorType([8, 32, 64], .f32))
        #expect(try type(graph, "h0.attn.norm") == TensorType([8, 32, 64], .f32))
        #expect(try type(graph, "h0.attn.norm.gamma") == TensorType([64], .f32))
        #expect(try inputNames(graph, of: "h0.attn.to_compute") == ["h0.attn.norm"])
        #expect(try type(graph, "h0.attn.to_compute") == TensorType([8, 32, 64], .bf16))
        #expect(try type(graph, "h0.attn.qkv") == TensorType([8, 32, 3, 4, 16], .bf16))
        #expect(try inputNames(graph, of: "h1.mlp.residual") == ["h1.attn.residual", "h1.mlp.out.to_residual"])
        #expect(try type(graph, "h1.mlp.residual") == TensorType([8, 32, 64], .f32))
        #expect(try inputNames(graph, of: "head.logits") == ["head.to_compute", "embed.table"])
        #expect(try type(graph, "head.logits") == TensorType([8, 32, 500], .bf16))
        // The same parameters; two casts a sublayer, one after the embeddings and one before the logits.
        #expect(graph.parameters.map { graph[$0].type.elementCount } == bf16.parameters.map { bf16[$0].type.elementCount })
        #expect(graph.operations.count == bf16.operations.count + 2 * 2 * configuration.layers + 2)
        for dtype in [DType.fp8, .i32] {
            var refused = Self.tinyGPT
            refused.residualDType = dtype
            let error = try #require(throws: InputError.self) { try build(refused) }
            #expect(error.message == "the residual stream must be f32, bf16 or f16, found \(dtype.rawValue)")
        }
    }

    @Test("configurations that cannot build are reported, not crashed on")
    func invalidConfigurations() throws {
        var uneven = Self.tinyLlama
        uneven.keyValueHeads = 3
        #expect(throws: InputError.self) { try build(uneven) }
        var odd = Self.tinyLlama
        odd.headDimension = 15
        #expect(throws: InputError.self) { try build(odd) }
        var noLayers = Self.tinyGPT
        noLayers.layers = 0
        let error = try #require(throws: InputError.self) { try build(noLayers) }
        #expect(error.message.contains("layers"))
    }

    @Test("a head width other than hidden / heads is kept head-aligned")
    func separateHeadDimension() throws {
        let configuration = TransformerConfiguration.gpt(layers: 1, hidden: 64, heads: 4, headDimension: 32,
                                                         vocabulary: 256, sequenceLength: 32, globalBatch: 8)
        let graph = try build(configuration)
        #expect(try type(graph, "h0.attn.qkv.w") == TensorType([64, 3, 4, 32], .bf16))
        #expect(try type(graph, "h0.attn.out") == TensorType([8, 32, 64], .bf16))
    }

    @Test("variants the catalog does not use decode back equal from their JSON", arguments: [false, true])
    func variantsRoundTrip(_ grouped: Bool) throws {
        var configuration = grouped ? Self.tinyLlama : Self.tinyGPT
        configuration.attentionImplementation = .explicit
        configuration.mixtureOfExperts = .init(experts: 4, capacity: 16)
        let graph = try build(configuration)
        #expect(try Graph(jsonBytes: Array(graph.jsonText.utf8)) == graph)
    }
}
