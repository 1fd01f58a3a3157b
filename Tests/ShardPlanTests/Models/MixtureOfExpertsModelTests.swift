import Testing
@testable import ShardPlan

@Suite("Mixtures of experts as trained now")
struct MixtureOfExpertsModelTests {
    static let published = ["mixtral-8x7b", "qwen3-30b-a3b", "qwen3-235b-a22b", "deepseek-v3"]

    @Test("total and active parameters are the published ones", arguments: published)
    func parameterCounts(_ id: String) throws {
        let entry = try #require(ModelCatalog.model(id: id))
        let graph = try BuiltModels.graph(id)
        let configuration = try #require(entry.transformer)
        let (total, active) = (ModelCatalog.parameterCount(of: graph),
                               ModelCatalog.activeParameterCount(of: graph, configuration: configuration))
        for (ours, published, what) in [(total, entry.publishedParameterCount!, "total"),
                                        (active, entry.publishedActiveParameterCount!, "active")] {
            let relative = abs(Double(ours - published)) / Double(published)
            #expect(relative <= entry.parameterTolerance,
                    "\(id) \(what): \(ours), published \(published) (\(relative * 100)% off)")
        }
    }

    /// gpt-oss's model card counts the active parameters without the embedding table (201,088 x 2,880 =
    /// 579,133,440), the unembedding in; its totals hold the experts' and the router's biases, which the graph
    /// leaves out (gpt-oss-120b: 36 x (128 x (5,760 + 2,880) + 128) = 39,818,880).
    @Test("gpt-oss's totals, and its active counts less the embedding table, are the published ones", arguments: ["gpt-oss-120b", "gpt-oss-20b"])
    func gptOSSCounts(_ id: String) throws {
        let entry = try #require(ModelCatalog.model(id: id))
        let graph = try BuiltModels.graph(id)
        let configuration = try #require(entry.transformer)
        let total = ModelCatalog.parameterCount(of: graph)
        let active = ModelCatalog.activeParameterCount(of: graph, configuration: configuration) - 579_133_440
        for (ours, published) in [(total, entry.publishedParameterCount!), (active, entry.publishedActiveParameterCount!)] {
            #expect(abs(Double(ours - published)) / Double(published) <= entry.parameterTolerance, "\(id): \(ours), published \(published)")
        }
        #expect(id != "gpt-oss-120b" || total == 116_789_336_640)
    }

    /// Mixtral 8x7B's released checkpoint: 32 x (attention 41,943,040 + 8 experts x 3 x 4096 x 14336 +
    /// router 32,768 + norms 8,192) + 2 x 32000 x 4096 + 4096 = 46,702,792,704, the figure Hugging Face shows.
    @Test("Mixtral 8x7B counts exactly its checkpoint's 46,702,792,704 parameters")
    func mixtralCheckpoint() throws {
        #expect(ModelCatalog.parameterCount(of: try BuiltModels.graph("mixtral-8x7b")) == 46_702_792_704)
    }

    @Test("DeepSeek-V3's first 3 layers are dense, the rest routed with a shared expert; latent attention's heads are 192 wide")
    func deepSeekStructure() throws {
        let graph = try BuiltModels.graph("deepseek-v3")
        let names = Set(graph.operations.map(\.name))
        #expect(names.contains("h2.mlp.up") && !names.contains("h2.mlp.router"))
        #expect(names.contains("h3.mlp.router.scores") && names.contains("h3.mlp.shared.up") && names.contains("h60.mlp.experts.down"))
        let attention = try #require(graph.operations.first { $0.name == "h0.attn" })
        #expect(graph[attention.inputs[0]].type.shape == [15360, 4096, 128, 192])
        #expect(graph[attention.inputs[2]].type.shape == [15360, 4096, 128, 128])
    }

    @Test("a token permutation routes s x k / e slots per expert: DeepSeek-V3's 4096 x 8 / 256 = 128")
    func slots() throws {
        let graph = try BuiltModels.graph("deepseek-v3")
        let permuted = try #require(graph.operations.first { $0.name == "h3.mlp.dispatch.permute" })
        #expect(graph[permuted.result].type.shape == [256, 15360, 128, 7168])
        var capacity = ModelCatalog.model(id: "moe-tiny")!.transformer!.mixtureOfExperts!
        capacity.dispatch = .permutation(capacityFactor: 1.25)
        // 32 tokens x 2 / 8 experts = 8 slots, 10 with a capacity factor of 1.25.
        #expect(capacity.slots(sequenceLength: 32) == (8, 10))
    }
}
