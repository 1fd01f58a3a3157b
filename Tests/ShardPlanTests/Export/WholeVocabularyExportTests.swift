import Testing
@testable import ShardPlan

/// A plan whose embedding or loss runs whole on every tensor-parallel rank is recognised as that layout, and each
/// framework's settings run it where they can: torchtitan's `disable_loss_parallel`; everywhere else the
/// vocabulary-parallel layers, named as changes. An eager loss on the 16-bit logits becomes each framework's
/// upcasting loss, named.
@Suite("Framework settings for a whole embedding and loss")
struct WholeVocabularyExportTests {
    /// gpt-tiny on one DGX H100 as tensor parallelism 2 with sequence parallelism over 4 replicas.
    static func plan(embedding: Bool, loss: Bool, options: TrainingOptions = TrainingOptions()) throws -> TrainingPlan {
        let graph = try #require(ModelCatalog.model(id: "gpt-tiny")).build()
        let cluster = try Cluster.preset(named: "dgx-h100:1")
        var configuration = MegatronConfiguration(tensorParallel: 2, pipelineParallel: 1, sequenceParallel: true, options: options)
        configuration.vocabularyParallelEmbedding = embedding
        configuration.vocabularyParallelLoss = loss
        return try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-h100:1", configuration: configuration)
    }

    static func export(_ plan: TrainingPlan, _ framework: TrainingFramework) throws -> FrameworkExport {
        try FrameworkExport(plan: plan, prediction: PlanEvaluator(cluster: plan.cluster).evaluate(plan), framework: framework)
    }

    @Test("recognition finds the whole embedding and loss a plan keeps, and only those")
    func recognition() throws {
        for (embedding, loss) in [(true, true), (false, true), (true, false), (false, false)] {
            let recognition = try LayoutRecognition(try Self.plan(embedding: embedding, loss: loss))
            #expect(recognition.isExact, "\(recognition.differences)")
            #expect(recognition.layout.configuration.vocabularyParallelEmbedding == embedding)
            #expect(recognition.layout.configuration.vocabularyParallelLoss == loss)
        }
    }

    @Test("torchtitan writes disable_loss_parallel for a whole loss, and names the whole embedding it cannot keep")
    func torchtitan() throws {
        let wholeLoss = try Self.export(try Self.plan(embedding: true, loss: false), .torchtitan)
        #expect(wholeLoss.text.contains("tensor_parallel_degree = 2\ndisable_loss_parallel = true\n"))
        #expect(!wholeLoss.differences.contains { $0.contains("cross-entropy") || $0.contains("embedding") })
        let read = try FrameworkRoundTripTests.readBack(wholeLoss.text, .torchtitan)
        #expect(!read.vocabularyParallelLoss)
        let both = try Self.export(try Self.plan(embedding: false, loss: false), .torchtitan)
        #expect(both.text.contains("disable_loss_parallel = true"))
        #expect(both.differences.contains { $0.contains("splits the embedding's vocabulary") }, "\(both.differences)")
        #expect(try !Self.export(try Self.plan(embedding: true, loss: true), .torchtitan).text.contains("disable_loss_parallel"))
    }

    @Test("Megatron-LM, NeMo and Megatron-Bridge run both vocabulary-parallel, and say so")
    func megatronCore() throws {
        for framework in [TrainingFramework.megatron, .nemo, .megatronBridge] {
            let export = try Self.export(try Self.plan(embedding: false, loss: false), framework)
            #expect(export.differences.contains { $0.contains("splits the embedding's vocabulary") }, "\(framework)")
            #expect(export.differences.contains { $0.contains("vocabulary-parallel cross-entropy") }, "\(framework)")
            #expect(export.layout.configuration.vocabularyParallelEmbedding && export.layout.configuration.vocabularyParallelLoss)
            _ = try FrameworkRoundTripTests.readBack(export.text, framework)
        }
    }

    @Test("an eager loss on the 16-bit logits becomes each framework's upcasting loss, named")
    func lossUpcast() throws {
        var options = TrainingOptions(kernelFusion: .eager)
        options.upcastsLoss = false
        let plan = try Self.plan(embedding: true, loss: true, options: options)
        for framework in TrainingFramework.allCases {
            let export = try Self.export(plan, framework)
            #expect(export.differences.contains { $0.contains("upcasts the logits to fp32") }, "\(framework)")
            #expect(export.layout.configuration.options.upcastsLoss)
        }
    }
}
