import Testing
@testable import ShardPlan

/// The embedding and the loss whole on every tensor-parallel rank (`MegatronConfiguration.vocabularyParallelEmbedding`
/// and `vocabularyParallelLoss`: KempnerForge's layout, torchtitan's `disable_loss_parallel`), against Megatron's
/// vocabulary-parallel ones. gpt-tiny (vocabulary 256, hidden 64, 32 tokens, a tied table) at 16 sequences on a DGX
/// A100, tensor parallelism 2 with sequence parallelism, 4 replicas, 2 sequences a microbatch: 2 microbatches.
@Suite("Whole-vocabulary embedding and loss under tensor parallelism")
struct VocabularyLayoutTests {
    static func prediction(embedding: Bool = true, loss: Bool = true) throws -> (plan: TrainingPlan, prediction: PlanPrediction) {
        let graph = try #require(ModelCatalog.model(id: "gpt-tiny")).build().rebatched(to: 16)
        let cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        var configuration = MegatronConfiguration(tensorParallel: 2, pipelineParallel: 1, dataParallel: 4, microBatchSize: 2,
                                                  sequenceParallel: true)
        configuration.vocabularyParallelEmbedding = embedding
        configuration.vocabularyParallelLoss = loss
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1", configuration: configuration)
        return (plan, PlanEvaluator(cluster: cluster).evaluate(plan))
    }

    static func strategy(of name: String, in plan: TrainingPlan) throws -> OpStrategy {
        let index = try #require(plan.graph.operations.firstIndex { $0.name == name })
        return plan.stages[0].strategy(of: index)
    }

    /// The whole logits of a microbatch on a replica are 2 x 32 x 256 = 16,384 bf16 elements: gathered onto both
    /// ranks (32,768 bytes a microbatch), and Megatron's loss keeps its 16-bit gradient copy of all of them (2 bytes
    /// a logit: 32,768, where each rank's half took 16,384).
    @Test("a whole loss gathers the logits (32,768 bytes a microbatch) and holds twice the loss's buffers")
    func wholeLoss() throws {
        let (parallelPlan, parallel) = try Self.prediction()
        let (plan, whole) = try Self.prediction(loss: false)
        #expect(try Self.strategy(of: "loss", in: parallelPlan).indexOfAxis[1] != nil)
        #expect(try Self.strategy(of: "loss", in: plan).indexOfAxis[1] == nil)
        #expect(plan.summary?.contains(" whole-loss") == true && parallelPlan.summary?.contains("whole") == false)
        #expect(parallel.stageCosts[0].lossBufferBytes == 16_384 && whole.stageCosts[0].lossBufferBytes == 32_768)
        let gathered = { (prediction: PlanPrediction) in prediction.communicationBytes[.allGather] ?? 0 }
        #expect(gathered(whole) - gathered(parallel) == 2 * 32_768)
        // The vocabulary-parallel loss's all-reduces of each row's maximum and sums are gone.
        #expect((whole.communicationBytes[.allReduce] ?? 0) < (parallel.communicationBytes[.allReduce] ?? 0))
    }

    /// Without tensor parallelism there is no vocabulary to split: refused at the configuration's property (the command line names its option), and in a calibration row at
    /// its member.
    @Test("whole-vocabulary layouts without tensor parallelism are refused at vocabularyParallelLoss and rows[0].loss_parallel")
    func refusedWithoutTensorParallelism() throws {
        let graph = try #require(ModelCatalog.model(id: "gpt-tiny")).build()
        let cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        for (embedding, option) in [(false, "vocabularyParallelEmbedding"), (true, "vocabularyParallelLoss")] {
            var configuration = MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1)
            configuration.vocabularyParallelEmbedding = embedding
            configuration.vocabularyParallelLoss = !embedding
            let error = #expect(throws: InputError.self) {
                _ = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1", configuration: configuration)
            }
            #expect(error?.path == JSONPath([.key(option)]))
        }
        // Megatron-LM's 1.7B row runs tp = 1: a row saying its loss ran whole is refused at the row's member.
        let (rows, _, row) = try PublishedRowFixtures.row("narayanan21-T1-1.7B")
        var edited = row
        edited["loss_parallel"] = .bool(false)
        let refusal = PublishedRowFixtures.refusal(of: edited, after: rows[0])
        #expect(refusal?.path.description == "rows[1].loss_parallel", "\(String(describing: refusal))")
    }

    /// GPT-3 125M's vocabulary of 50,257 does not split over 2 ranks, so Megatron's layout keeps both layers whole
    /// already and the options change nothing; gpt-tiny's 256 does, and they change both.
    @Test("the options that change nothing are named: GPT-3 125M's odd vocabulary at tp 2 keeps both layers whole anyway")
    func ineffectiveOptions() throws {
        let cluster = try Cluster.preset(named: "dgx-h100:1")
        var configuration = MegatronConfiguration(tensorParallel: 2, pipelineParallel: 1)
        configuration.vocabularyParallelEmbedding = false
        configuration.vocabularyParallelLoss = false
        func ineffective(_ configuration: MegatronConfiguration, _ graph: Graph) throws -> [(option: String, layer: String)] {
            try configuration.ineffectiveVocabularyOptions(in: try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-h100:1",
                                                                                           configuration: configuration))
        }
        let odd = try #require(ModelCatalog.model(id: "gpt3-125m")).build()
        let named = try ineffective(configuration, odd)
        #expect(named.map(\.option) == ["--no-vocab-parallel-embedding", "--no-loss-parallel"] && named.map(\.layer) == ["embedding", "loss"])
        let tiny = try #require(ModelCatalog.model(id: "gpt-tiny")).build()
        #expect(try ineffective(configuration, tiny).isEmpty)
        #expect(try ineffective(MegatronConfiguration(tensorParallel: 2, pipelineParallel: 1), odd).isEmpty)
    }

    /// The whole table on each rank: the 16,384 bytes of the 256 x 64 bf16 table the other rank held; the lookup's
    /// partial sums no longer reduce-scatter onto the sequence (2 x 32 x 64 x 2 = 8,192 bytes a microbatch).
    @Test("a whole embedding holds the whole table (16,384 bytes more) and reduce-scatters no partial lookups")
    func wholeEmbedding() throws {
        let (parallelPlan, parallel) = try Self.prediction()
        let (plan, whole) = try Self.prediction(embedding: false)
        #expect(try Self.strategy(of: "embed", in: parallelPlan).indexOfAxis[1] != nil)
        #expect(try Self.strategy(of: "embed", in: plan).indexOfAxis[1] == nil)
        #expect(plan.summary?.contains(" whole-embedding") == true)
        #expect(whole.stageCosts[0].weightBytes - parallel.stageCosts[0].weightBytes == 16_384)
        #expect((parallel.communicationBytes[.reduceScatter] ?? 0) - (whole.communicationBytes[.reduceScatter] ?? 0) == 2 * 8_192)
    }
}
