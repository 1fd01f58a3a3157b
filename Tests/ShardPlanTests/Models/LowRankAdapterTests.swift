import Testing
@testable import ShardPlan

/// LoRA fine-tunes of the catalog's transformers (`shardplan models ID --lora-rank R`,
/// `TransformerConfiguration.lowRankAdapters`): adapters beside every linear layer of the blocks, trained, and every
/// other weight frozen.
@Suite("LoRA fine-tunes")
struct LowRankAdapterTests {
    /// llama-tiny (hidden 64, 4 query and 2 key-value heads of 16, SwiGLU 176, 2 layers) at rank 4. Per layer:
    /// q [64, 4, 16] takes A [64, 4] and B [4, 4, 16] (256 + 256); k and v [64, 2, 16] take 256 + 128 each; the output
    /// [4, 16, 64] takes A [4, 16, 4] and B [4, 64] (256 + 256); gate and up [64, 176] take 256 + 704 each, down
    /// [176, 64] 704 + 256: 4,672 a layer, 9,344 in all.
    @Test("llama-tiny at rank 4: 9,344 adapter parameters train, every other weight is frozen")
    func adapterCount() throws {
        let entry = try #require(ModelCatalog.model(id: "llama-tiny"))
        let base = try entry.build()
        let tuned = try entry.build(sequenceLength: nil, globalBatch: nil, loraRank: 4)
        #expect(tuned.name == "llama-tiny-lora4")
        let trained = tuned.parameters.filter { !tuned[$0].isFrozen }
        #expect(trained.allSatisfy { TransformerBuilder.isAdapter(tuned[$0].name) })
        #expect(trained.count == 2 * 7 * 2)
        #expect(trained.reduce(0) { $0 + tuned[$1].type.elementCount } == 9344)
        let frozen = tuned.parameters.filter { tuned[$0].isFrozen }
        #expect(frozen.reduce(0) { $0 + tuned[$1].type.elementCount } == base.parameters.reduce(0) { $0 + base[$1].type.elementCount })
        // The adapters of the query projection, and its update added to the base product.
        let down = try #require(tuned.operations.first { $0.name == "h0.attn.q.lora_down" })
        let up = try #require(tuned.operations.first { $0.name == "h0.attn.q.lora_up" })
        let (downEquation, upEquation) = (try EinsumEquation("bsd,dr->bsr"), try EinsumEquation("bsr,rhk->bshk"))
        #expect(down.op == .einsum(downEquation) && up.op == .einsum(upEquation))
        #expect(try Graph(jsonBytes: Array(tuned.jsonText.utf8)) == tuned)
    }

    /// The frozen base computes no weight gradients: the backward pass loses the base products' dW (as many FLOPs as
    /// their forward pass) and the embedding's scatter-add, and gains the adapters' two products each way.
    @Test("a LoRA graph's backward pass is the base model's without the base weights' gradients")
    func backwardWithoutBaseGradients() throws {
        let entry = try #require(ModelCatalog.model(id: "llama-tiny"))
        let (base, tuned) = (GraphAnalysis(try entry.build()), GraphAnalysis(try entry.build(sequenceLength: nil, globalBatch: nil, loraRank: 4)))
        #expect(tuned.forwardFLOPs > base.forwardFLOPs)
        #expect(tuned.backwardFLOPs < base.backwardFLOPs)
        #expect(tuned.frozenParameterCount == base.parameterCount)
        #expect(tuned.modelTrainingFLOPs < 3 * tuned.modelForwardFLOPs)
    }

    @Test("a rank below 1, one that is not low, and a model that is not a transformer are refused at loraRank")
    func refusals() throws {
        // A rank of 32 is not low for llama-tiny, whose key and value projections have 2 x 16 outputs.
        for (id, rank) in [("llama-tiny", 0), ("llama-tiny", 32), ("mlp-2", 8)] {
            let error = #expect(throws: InputError.self) {
                try ModelCatalog.model(id: id)!.build(sequenceLength: nil, globalBatch: nil, loraRank: rank)
            }
            #expect(error?.path == JSONPath([.key("loraRank")]), "\(String(describing: error))")
        }
    }

    /// The first block of a LoRA fine-tune reads a frozen embedding, so its input carries no gradient: it is priced as
    /// a structure of its own, but shares its shape with the others, so that Megatron's layers and interleaving count
    /// it with them.
    @Test("a LoRA model's blocks share one shape; the first is priced apart; interleaving stays possible")
    func blocksShareOneShape() throws {
        let entry = try #require(ModelCatalog.model(id: "llama-tiny"))
        var configuration = try #require(entry.transformer)
        configuration.layers = 4
        configuration.lowRankAdapters = TransformerConfiguration.LowRankAdapters(rank: 4)
        let analysis = GraphAnalysis(try TransformerBuilder(name: "tiny-lora", configuration: configuration).build())
        let blocks = analysis.layers.filter { $0.name.hasPrefix("layer") }
        #expect(blocks.count == 4 && Set(blocks.map(\.shapeKey)).count == 1)
        #expect(Set(blocks.dropFirst().map(\.structureKey)).count == 1 && blocks[0].structureKey != blocks[1].structureKey)
        #expect(LayerClustering(analysis, smallLayerFraction: 0).supportsInterleaving)
    }

    /// Megatron's LoRA layers on two tensor-parallel ranks: beside the column-parallel query projection `A` is whole
    /// and `B` splits the heads; beside the row-parallel output projection `A` splits the heads (its result a partial
    /// sum of the rank) and `B` is whole. The rank is never split (QA found it split, which turned every adapter's
    /// output into a partial sum of a whole activation).
    @Test("Megatron's layout splits the adapters as the layers they adapt, never their rank")
    func megatronLayoutOfAdapters() throws {
        let graph = try ModelCatalog.model(id: "llama-tiny")!.build(sequenceLength: nil, globalBatch: nil, loraRank: 4)
        let cluster = try Cluster.preset(named: "dgx-h100")
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-h100", configuration:
            MegatronConfiguration(tensorParallel: 2, pipelineParallel: 1, dataParallel: 1))
        guard case .object(let document) = plan.json(prediction: PlanEvaluator(cluster: cluster).evaluate(plan)),
              case .array(let stages)? = document["stages"], case .object(let stage)? = stages.first,
              case .object(let shardings)? = stage["shardings"] else { Issue.record("no shardings"); return }
        let tensor = JSONValue.strings(["y"])
        func split(_ name: String) -> [JSONValue]? { if case .array(let dims)? = shardings[name] { dims } else { nil } }
        #expect(split("h0.attn.q.lora_a") == [.null, .null])
        #expect(split("h0.attn.q.lora_b") == [.null, tensor, .null])
        #expect(split("h0.attn.out.lora_a") == [tensor, .null, .null])
        #expect(split("h0.attn.out.lora_b") == [.null, .null])
    }
}
