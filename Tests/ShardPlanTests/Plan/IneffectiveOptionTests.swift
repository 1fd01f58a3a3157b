import Testing
@testable import ShardPlan

/// Options a plan carries that change nothing in it (`TrainingPlan.ineffectiveOptions`): `plan` and `score` say so,
/// and the plan writer leaves them out of the document.
@Suite("options that change nothing")
struct IneffectiveOptionTests {
    let graph: Graph

    init() throws {
        graph = try #require(ModelCatalog.model(id: "gpt-tiny")).build()
    }

    func plan(_ options: TrainingOptions, on name: String = "dgx-a100-80g", tensorParallel: Int = 2,
              contextParallel: Int = 1) throws -> TrainingPlan {
        let cluster = try Cluster.preset(named: name)
        return try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: name, configuration: MegatronConfiguration(
            tensorParallel: tensorParallel, pipelineParallel: 1, contextParallel: contextParallel, options: options))
    }

    /// A 2-layer Llama whose attention reads a sliding window of 16 keys.
    static func windowedModel() throws -> Graph {
        var configuration = TransformerConfiguration.llama(layers: 2, hidden: 64, heads: 8, keyValueHeads: 4, feedForwardHidden: 176,
                                                           vocabulary: 256, sequenceLength: 64, globalBatch: 8)
        configuration.slidingWindow = 16
        return try TransformerBuilder(name: "windowed", configuration: configuration).build()
    }

    func writtenOptions(_ plan: TrainingPlan) -> JSONObject? {
        guard case .object(let top) = plan.json(prediction: PlanEvaluator(cluster: plan.cluster).evaluate(plan)),
              case .object(let options)? = top["options"] else { return nil }
        return options
    }

    /// QA: `plan Models/gpt-tiny.json --moe-dispatcher deepep` said nothing of a dispatcher for a model without experts.
    /// The graph alone says it changes nothing, before any search, and the plan's note gives the graph's reason; a graph
    /// without attention (mlp-2) has no exchange either; moe-tiny has both.
    @Test("a dispatcher for a graph without experts, and an exchange for one without attention, change nothing in any plan of it")
    func inapplicableToTheGraph() throws {
        var options = TrainingOptions()
        options.expertDispatcher = .deepEP
        options.contextParallelCommunication = .allGather
        let dense = IneffectiveOption.inapplicable(to: graph, options: options)
        #expect(dense.map(\.setting) == [.expertDispatcher])
        #expect(dense.first?.flag == "--moe-dispatcher deepep")
        #expect(dense.first?.reason == "gpt-tiny has no mixture of experts, so no tokens are dispatched to experts")
        let mlp = try #require(ModelCatalog.model(id: "mlp-2")).build()
        #expect(IneffectiveOption.inapplicable(to: mlp, options: options).map(\.flag) == ["--cp-comm-type all-gather", "--moe-dispatcher deepep"])
        let moe = try #require(ModelCatalog.model(id: "moe-tiny")).build()
        #expect(IneffectiveOption.inapplicable(to: moe, options: options).isEmpty)
        let planned = try plan(options).ineffectiveOptions.first { $0.setting == .expertDispatcher }
        #expect(planned?.reason == "gpt-tiny has no mixture of experts, so no tokens are dispatched to experts")
    }

    @Test("FlashAttention-3 on an A100 is priced as FlashAttention-2, which runs there, and said; on an H100 it runs")
    func kernelTheDeviceLacks() throws {
        var options = TrainingOptions()
        options.attentionKernel = .flash3
        let asked = try plan(options)
        #expect(asked.ineffectiveOptions.map(\.setting) == [.attentionKernel])
        #expect(asked.ineffectiveOptions.first?.reason.contains("runs flash2 in its place") == true)
        #expect(writtenOptions(asked)?["attention_kernel"] == .string("flash3"), "kept: on an H100 cluster the document runs it")
        options.attentionKernel = .flash2
        let evaluator = PlanEvaluator(cluster: asked.cluster)
        #expect(evaluator.evaluate(asked).iterationSeconds == evaluator.evaluate(try plan(options)).iterationSeconds)
        options.attentionKernel = .flash3
        #expect(try plan(options, on: "dgx-h100").ineffectiveOptions.isEmpty)
    }

    @Test("FSDP's options without ZeRO-3 and an exchange without context parallelism change nothing and are left out of the document; with them, they stay")
    func leftOutOfTheDocument() throws {
        var options = TrainingOptions(zeroStage: 1)
        options.copiesOutGatheredParameters = true
        options.accumulatesUnshardedGradients = true
        options.contextParallelCommunication = .allGather
        let idle = try plan(options)
        #expect(idle.ineffectiveOptions.map(\.setting) == [.fsdp2CopyOut, .fsdpNoSync, .contextParallelExchange])
        let written = try #require(writtenOptions(idle))
        for member in ["fsdp2_copy_out", "fsdp_no_sync", "cp_comm_type"] { #expect(written[member] == nil, "\(member)") }
        // Read back, the plan is priced as it was.
        let document = idle.json(prediction: PlanEvaluator(cluster: idle.cluster).evaluate(idle))
        let read = try TrainingPlan(json: document, graph: graph, cluster: idle.cluster, clusterName: idle.clusterName)
        #expect(read.ineffectiveOptions.isEmpty)
        #expect(PlanEvaluator(cluster: idle.cluster).evaluate(read).iterationSeconds == PlanEvaluator(cluster: idle.cluster).evaluate(idle).iterationSeconds)
        options.zeroStage = 3
        let used = try plan(options, tensorParallel: 1, contextParallel: 2)
        #expect(used.runsZeroThree && used.splitsContext)
        #expect(used.ineffectiveOptions.isEmpty)
        let kept = try #require(writtenOptions(used))
        #expect(kept["fsdp2_copy_out"] == .bool(true) && kept["cp_comm_type"] == .string("all-gather"))
    }

    /// QA: `plan --cp-comm-type p2p` of a plan that splits no sequence said nothing, while all-gather drew a note.
    @Test("the ring, named, changes nothing where no sequence is split; unnamed (a document's default) it draws no note")
    func namedRing() throws {
        let ring = try plan(TrainingOptions())
        #expect(ring.options.contextParallelCommunication == .ring)
        #expect(ring.ineffectiveOptions.isEmpty)
        #expect(ring.ineffectiveOptions(exchangeNamed: true).map(\.setting) == [.contextParallelExchange])
        #expect(ring.ineffectiveOptions(exchangeNamed: true).first?.flag == "--cp-comm-type p2p")
        #expect(try plan(TrainingOptions(), tensorParallel: 1, contextParallel: 2).ineffectiveOptions(exchangeNamed: true).isEmpty)
    }

    @Test("a windowed model's exchange without context parallelism is left out of the document, which reads back as the ring with no note")
    func windowedModelReadsBackQuietly() throws {
        let windowed = try Self.windowedModel()
        var options = TrainingOptions()
        options.contextParallelCommunication = .standard(for: windowed)
        #expect(options.contextParallelCommunication == .allGather)
        let cluster = try Cluster.preset(named: "dgx-h100")
        let plan = try TrainingPlan.megatron(graph: windowed, cluster: cluster, clusterName: "dgx-h100", configuration: MegatronConfiguration(
            tensorParallel: 2, pipelineParallel: 1, options: options))
        #expect(plan.ineffectiveOptions.map(\.setting) == [.contextParallelExchange])
        #expect(writtenOptions(plan)?["cp_comm_type"] == nil)
        let read = try TrainingPlan(json: plan.json(prediction: PlanEvaluator(cluster: cluster).evaluate(plan)), graph: windowed,
                                    cluster: cluster, clusterName: "dgx-h100")
        #expect(read.options.contextParallelCommunication == .ring && read.ineffectiveOptions.isEmpty)
    }

    /// `plan --cp-comm-type p2p` of a windowed model whose answer is the grid's: the grid runs the windows under the
    /// all-gather (TransformerEngine's ring refuses them), and the plan says why it is not the ring asked for.
    @Test("a windowed plan under the all-gather where the ring was asked says why; under what was asked, or without a split sequence, nothing")
    func windowedExchangeSubstitution() throws {
        let windowed = try Self.windowedModel()
        let cluster = try Cluster.preset(named: "dgx-h100")
        func plan(contextParallel: Int) throws -> TrainingPlan {
            var options = TrainingOptions()
            options.contextParallelCommunication = .allGather
            return try TrainingPlan.megatron(graph: windowed, cluster: cluster, clusterName: "dgx-h100", configuration: MegatronConfiguration(
                tensorParallel: 1, pipelineParallel: 1, contextParallel: contextParallel, options: options))
        }
        let split = try plan(contextParallel: 2)
        let note = try #require(MegatronGrid.exchangeSubstitution(asked: .ring, in: split))
        #expect(note.hasPrefix("the plan exchanges keys and values by all-gather, not the --cp-comm-type p2p asked for"), "\(note)")
        #expect(note.contains("sliding windows"))
        #expect(MegatronGrid.exchangeSubstitution(asked: .hierarchical, in: split) != nil)
        #expect(MegatronGrid.exchangeSubstitution(asked: .allGather, in: split) == nil)
        #expect(MegatronGrid.exchangeSubstitution(asked: .allToAll, in: split) == nil, "a2a runs windows: not a substitution")
        #expect(MegatronGrid.exchangeSubstitution(asked: .ring, in: try plan(contextParallel: 1)) == nil)
    }

    @Test("a plan document's FP8 recipe beside bf16 is refused at options.fp8_recipe, as --fp8-recipe without --precision fp8 is")
    func recipeWithoutFP8() throws {
        let plan = try plan(TrainingOptions())
        guard case .object(var top) = plan.json(prediction: PlanEvaluator(cluster: plan.cluster).evaluate(plan)),
              case .object(var options)? = top["options"] else { Issue.record("no options"); return }
        options["fp8_recipe"] = .string("blockwise")
        top["options"] = .object(options)
        do {
            _ = try TrainingPlan(json: .object(top), graph: graph, cluster: plan.cluster, clusterName: plan.clusterName)
            Issue.record("an FP8 recipe beside bf16 was read")
        } catch {
            #expect(error.path.description == "options.fp8_recipe")
            #expect(error.description.contains("precision is bf16"))
        }
    }

    /// QA: `plan --overlap-tp-comm` of a plan that splits no weight printed "overlap-tp-comm" in its summary and priced
    /// the loss's all-reduce over the batch as hidden behind GEMMs. At tp = 1 it changes nothing and says so, is left
    /// out of the summary and the document; at tp = 2 it hides part of the linear layers' collectives.
    @Test("tensor parallelism's overlap at tp = 1 changes nothing, is said and left out; at tp = 2 it hides collectives")
    func tensorParallelOverlapWithoutTensorParallelism() throws {
        var options = TrainingOptions()
        options.overlapTensorParallelCommunication = true
        let idle = try plan(options, tensorParallel: 1)
        #expect(idle.ineffectiveOptions.map(\.setting) == [.tensorParallelOverlap])
        #expect(writtenOptions(idle)?["overlap_tensor_parallel_communication"] == .bool(false))
        #expect(!idle.stageSummary.contains("overlap-tp-comm"))
        let evaluator = PlanEvaluator(cluster: idle.cluster)
        #expect(evaluator.evaluate(idle).iterationSeconds == evaluator.evaluate(try plan(TrainingOptions(), tensorParallel: 1)).iterationSeconds)
        let split = try plan(options)
        #expect(split.ineffectiveOptions.isEmpty)
        #expect(writtenOptions(split)?["overlap_tensor_parallel_communication"] == .bool(true))
        #expect(split.stageSummary.contains("overlap-tp-comm"))
        #expect(evaluator.evaluate(split).iterationSeconds < evaluator.evaluate(try plan(TrainingOptions())).iterationSeconds)
    }
}
