import Foundation
import Testing
@testable import ShardPlan

@Suite("model catalog")
struct ModelCatalogTests {
    static let published = ModelCatalog.all.filter { $0.publishedParameterCount != nil }.map(\.id)

    @Test("ids are unique, lower-case file names, and name their graphs")
    func ids() throws {
        let ids = ModelCatalog.all.map(\.id)
        #expect(Set(ids).count == ids.count)
        for entry in ModelCatalog.all {
            #expect(entry.id.allSatisfy { $0.isLowercase || $0.isNumber || $0 == "-" || $0 == "." }, "\(entry.id)")
            #expect(try BuiltModels.graph(entry.id).name == entry.id)
            #expect(ModelCatalog.model(id: entry.id)?.id == entry.id)
        }
        #expect(ModelCatalog.model(id: "gpt-5") == nil)
    }

    @Test("the parameter count is within tolerance of the published one", arguments: published)
    func publishedParameterCount(_ id: String) throws {
        let entry = try #require(ModelCatalog.model(id: id))
        let published = try #require(entry.publishedParameterCount)
        let ours = ModelCatalog.parameterCount(of: try BuiltModels.graph(id))
        let relative = abs(Double(ours - published)) / Double(published)
        #expect(relative <= entry.parameterTolerance,
                "\(id): \(ours) parameters, published \(published) (\(relative * 100)% off, tolerance \(entry.parameterTolerance * 100)%)")
        #expect(entry.parameterTolerance <= 0.03, "no published figure is rounded more coarsely than 3%")
    }

    /// The released checkpoints' tensor shapes summed (Llama: each Hugging Face checkpoint's config.json;
    /// WRN-50-2: torchvision's weight table), which the published figures round.
    @Test("counts equal the released checkpoints exactly", arguments: [
        ("llama2-7b", 6_738_415_616), ("llama2-70b", 68_976_648_192), ("llama3-8b", 8_030_261_248),
        ("llama3-70b", 70_553_706_496), ("llama3-405b", 405_853_388_800), ("wrn-50-2", 68_883_240),
    ])
    func checkpointCounts(_ id: String, _ count: Int) throws {
        #expect(ModelCatalog.parameterCount(of: try BuiltModels.graph(id)) == count)
    }

    @Test("Megatron models have exactly Eq. 2's count plus the final LayerNorm",
          arguments: ModelCatalog.all.filter { $0.id.hasPrefix("megatron-") }.map(\.id))
    func megatronEquationTwo(_ id: String) throws {
        let entry = try #require(ModelCatalog.model(id: id))
        let t = try #require(entry.transformer)
        let (l, h) = (t.layers, t.hidden)
        let equationTwo = 12 * l * h * h + 13 * l * h + (t.vocabulary + t.sequenceLength) * h
        #expect(ModelCatalog.parameterCount(of: try BuiltModels.graph(id)) == equationTwo + 2 * h)
    }

    /// One model per builder configuration: the others differ from one of these only in sizes and layer
    /// count (decoding all 4.7 MB in a debug build takes 10 s).
    @Test("each builder's graph decodes back equal from its JSON", arguments: [
        "mlp-2", "gpt-tiny", "llama-tiny", "gpt3-125m", "megatron-1.7b", "llama2-7b", "llama3-8b", "bert-large",
        "moe-gshard", "moe-tiny", "wrn-50-2",
    ])
    func roundTrip(_ id: String) throws {
        let graph = try BuiltModels.graph(id)
        let decoded = try Graph(jsonBytes: Array(graph.jsonText.utf8), document: "\(id).json")
        #expect(decoded == graph)
    }

    @Test("transformer batches and sequences agree with their inputs",
          arguments: ModelCatalog.all.filter { $0.transformer != nil }.map(\.id))
    func batchShape(_ id: String) throws {
        let entry = try #require(ModelCatalog.model(id: id))
        let t = try #require(entry.transformer)
        let graph = try BuiltModels.graph(id)
        let tokens = try #require(graph.value(named: "tokens"))
        #expect(graph[tokens].type == TensorType([t.globalBatch, t.sequenceLength], .i32))
        #expect(graph.batchSize == t.globalBatch)
        #expect(graph.outputs.map { graph[$0].name } == ["loss"])
        #expect(graph[graph.outputs[0]].type == TensorType([], .f32))
    }

    @Test("GPT-3 batch sizes are Table 2.1's tokens in 2048-token sequences")
    func gpt3Batches() throws {
        let batches = ModelCatalog.all.filter { $0.id.hasPrefix("gpt3-") }.compactMap { $0.transformer?.globalBatch }
        #expect(batches == [256, 256, 256, 512, 512, 1024, 1024, 1536])
    }
}
