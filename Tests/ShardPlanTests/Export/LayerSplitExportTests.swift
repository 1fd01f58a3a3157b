import Testing
@testable import ShardPlan

/// A plan whose first or last chunk holds one layer fewer, as Megatron-Core lays out the embedding and the loss
/// counted as layers, is recognised exactly and written as those settings: Megatron-LM's flags beside the chunk
/// count per rank, NeMo's model config fields, torchtitan's module lists.
@Suite("Exports of the embedding and the loss counted as pipeline layers")
struct LayerSplitExportTests {
    /// The settings `framework` writes for 4 ranks of 2 chunks with `split`, and the plan's recognition: 16 blocks
    /// less one for each of the embedding and the loss that counts, two a chunk.
    static func export(_ framework: TrainingFramework, split: MegatronLayerSplit) throws -> (export: FrameworkExport, recognition: LayoutRecognition) {
        let layers = 16 - (split.embeddingInPipelineSplit ? 1 : 0) - (split.lossInPipelineSplit ? 1 : 0)
        let graph = try TransformerBuilder(name: "gpt-\(layers)", configuration: .gpt(
            layers: layers, hidden: 64, heads: 4, vocabulary: 256, sequenceLength: 32, globalBatch: 8)).build()
        let cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1", configuration: MegatronConfiguration(
            tensorParallel: 2, pipelineParallel: 4, virtualStages: 2, sequenceParallel: true,
            embeddingInPipelineSplit: split.embeddingInPipelineSplit, lossInPipelineSplit: split.lossInPipelineSplit))
        let recognition = try LayoutRecognition(plan)
        let export = try FrameworkExport(recognition: recognition, of: plan, prediction: PlanEvaluator(cluster: cluster).evaluate(plan),
                                         framework: framework)
        return (export, recognition)
    }

    static let splits = [MegatronLayerSplit(embeddingInPipelineSplit: true, lossInPipelineSplit: true),
                         MegatronLayerSplit(embeddingInPipelineSplit: true), MegatronLayerSplit(lossInPipelineSplit: true)]

    @Test("the plan is recognised with the split, and every framework's settings read back as it", arguments: splits)
    func roundTrip(split: MegatronLayerSplit) throws {
        for framework in TrainingFramework.allCases {
            let (export, recognition) = try Self.export(framework, split: split)
            #expect(recognition.isExact, "\(recognition.differences)")
            #expect(recognition.layout.configuration.layerSplit == split && export.layout.layerSplit == split)
            #expect(!export.text.contains("Warning"), "\(framework.rawValue): \(export.text)")
            let read = try FrameworkRoundTripTests.readBack(export.text, framework)
            #expect(read.layerSplit == split && read == ReadBackLayout(export.layout), "\(framework.rawValue): \(read)")
        }
    }

    @Test("Megatron-LM's flags, with the chunk count per rank")
    func megatronFlags() throws {
        let text = try Self.export(.megatron, split: Self.splits[0]).export.text
        #expect(text.contains("--account-for-embedding-in-pipeline-split \\\n"))
        #expect(text.contains("--account-for-loss-in-pipeline-split \\\n"))
        #expect(text.contains("--num-virtual-stages-per-pipeline-rank 2 \\\n"))
        #expect(!text.contains("--num-layers-per-virtual-pipeline-stage") && !text.contains("--decoder-first-pipeline-num-layers"))
        let lossOnly = try Self.export(.megatron, split: Self.splits[2]).export.text
        #expect(!lossOnly.contains("--account-for-embedding-in-pipeline-split") && lossOnly.contains("--account-for-loss-in-pipeline-split"))
    }

    @Test("NeMo's model config sets both fields, the first and last stage layers None")
    func nemoFields() throws {
        let text = try Self.export(.nemo, split: Self.splits[1]).export.text
        #expect(text.contains("model.config.account_for_embedding_in_pipeline_split=True \\\n"))
        #expect(text.contains("model.config.account_for_loss_in_pipeline_split=False \\\n"))
        #expect(text.contains("model.config.num_layers_in_first_pipeline_stage=None \\\n"))
    }

    @Test("torchtitan's first model part holds the embedding and one block, the last one block and the head")
    func torchTitanParts() throws {
        let text = try Self.export(.torchtitan, split: Self.splits[0]).export.text
        let parts = try TorchTitanJobConfigReader(text).modelParts
        #expect(parts.count == 8)
        #expect(parts.first == ["tok_embeddings", "layers.0"] && parts.last == ["layers.13", "norm", "output"])
        #expect(parts.dropFirst().dropLast().allSatisfy { $0.count == 2 })
    }

    /// One block a chunk: the first chunk holds the embedding alone and the last the loss alone, as Megatron-Core runs
    /// Qwen3-235B-A22B's 94 layers over 32 x 3 chunks (Docs/calibration/megatron-moe-model-zoo.json).
    /// The chunks of the embedding and the loss alone hold no product with a weight, attention or expert to tell the
    /// degrees by, so they do not vote on them: beside data and context parallelism too (`LayoutRecognition.degrees`).
    @Test("6 blocks over 8 chunks with both counted: chunks of the embedding and of the loss alone, recognised and read back",
          arguments: [(2, 4, 1), (1, 2, 2)])
    func chunksOfTheEmbeddingAndTheLossAlone(tensorParallel: Int, ranks: Int, contextParallel: Int) throws {
        let graph = try TransformerBuilder(name: "gpt-6", configuration: .gpt(
            layers: 6, hidden: 64, heads: 4, vocabulary: 256, sequenceLength: 32, globalBatch: 8)).build()
        let cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        let split = Self.splits[0]
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1", configuration: MegatronConfiguration(
            tensorParallel: tensorParallel, pipelineParallel: ranks, virtualStages: 8 / ranks, sequenceParallel: tensorParallel > 1,
            contextParallel: contextParallel, embeddingInPipelineSplit: true, lossInPipelineSplit: true))
        #expect(plan.stages[0].mesh.deviceCount == 8 / ranks && ParallelLayout.chunkLayers(of: plan).counts == [0, 1, 1, 1, 1, 1, 1, 0])
        let recognition = try LayoutRecognition(plan)
        #expect(recognition.isExact && recognition.layout.configuration.layerSplit == split, "\(recognition.differences)")
        for framework in TrainingFramework.allCases {
            let export = try FrameworkExport(recognition: recognition, of: plan, prediction: PlanEvaluator(cluster: cluster).evaluate(plan),
                                             framework: framework)
            #expect(!export.text.contains("Warning"), "\(framework.rawValue): \(export.text)")
            let read = try FrameworkRoundTripTests.readBack(export.text, framework)
            #expect(read.layerSplit == split && read.virtualStages == 8 / ranks && read == ReadBackLayout(export.layout), "\(framework.rawValue): \(read)")
        }
    }

    @Test("a settings file that counts the embedding beside first stage layers is refused by the readers")
    func readersRefuseBoth() throws {
        let text = try Self.export(.megatron, split: Self.splits[1]).export.text
            .replacingOccurrences(of: "--account-for-embedding-in-pipeline-split \\", with: "--account-for-embedding-in-pipeline-split --decoder-first-pipeline-num-layers 3 \\")
        #expect(throws: ReadBackError.self) { try MegatronArgumentReader(text).layout() }
        let nemo = try Self.export(.nemo, split: Self.splits[1]).export.text
            .replacingOccurrences(of: "num_layers_in_first_pipeline_stage=None", with: "num_layers_in_first_pipeline_stage=3")
        #expect(throws: ReadBackError.self) { try NeMoOverrideReader(nemo).layout() }
    }
}
