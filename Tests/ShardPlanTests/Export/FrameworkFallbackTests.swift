import Testing
@testable import ShardPlan

/// `plan --emit`'s choice between the searched plan and the Megatron-LM grid's fastest configuration
/// (`FrameworkExport.choosing`), on GPT-3 13B over one DGX A100 40GB (8 devices, full recomputation).
@Suite("Framework settings: the searched plan, or the grid's configuration where the plan's nearest layout does not fit or is slower")
struct FrameworkFallbackTests {
    let graph: Graph

    init() throws { graph = try ModelCatalog.model(id: "gpt3-13b")!.build() }

    func priced(tp: Int, zero: Int, on clusterName: String = "dgx-a100-40g:1") throws -> (plan: TrainingPlan, prediction: PlanPrediction) {
        let cluster = try Cluster.preset(named: clusterName)
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: clusterName, configuration: MegatronConfiguration(
            tensorParallel: tp, pipelineParallel: 1, sequenceParallel: tp > 1, options: TrainingOptions(recompute: .full, zeroStage: zero)))
        return (plan, PlanEvaluator(cluster: cluster).evaluate(plan))
    }

    /// ZeRO-3 over 8 data-parallel ranks fits; NeMo runs it as ZeRO-1, which does not: the settings are the grid's
    /// tp = 8 configuration instead, which NeMo runs. Megatron-LM runs ZeRO-3 (Megatron-FSDP), faster than the
    /// tp = 8 configuration, so it keeps the searched plan.
    @Test("NeMo gets the grid's configuration for a ZeRO-3 plan whose ZeRO-1 layout does not fit; Megatron-LM keeps the plan")
    func nearestLayoutDoesNotFit() throws {
        let searched = try priced(tp: 1, zero: 3), grid = try priced(tp: 8, zero: 1)
        #expect(searched.prediction.fitsInMemory && grid.prediction.fitsInMemory)
        #expect(searched.prediction.iterationSeconds < grid.prediction.iterationSeconds)
        let nemo = try FrameworkExport.choosing(searched.plan, prediction: searched.prediction, alternatives: [.grid(grid.plan, prediction: grid.prediction)], framework: .nemo)
        #expect(nemo.plan.summary == grid.plan.summary && nemo.export.prediction.fitsInMemory)
        #expect(nemo.export.text.contains("runs in NeMo 2.0 only as a layout that does not fit"))
        #expect(nemo.export.text.contains("trainer.strategy.tensor_model_parallel_size=8"))
        let megatron = try FrameworkExport.choosing(searched.plan, prediction: searched.prediction, alternatives: [.grid(grid.plan, prediction: grid.prediction)], framework: .megatron)
        #expect(megatron.plan.summary == searched.plan.summary && !megatron.export.text.contains("searched plan"))
        let alone = try FrameworkExport.choosing(searched.plan, prediction: searched.prediction, alternatives: [], framework: .nemo)
        #expect(alone.plan.summary == searched.plan.summary && !alone.export.prediction.fitsInMemory)
    }

    /// Of several alternatives the fastest whose settings fit and run is written, judged by the framework's settings:
    /// NeMo's ZeRO-1 form of the ZeRO-3 plan does not fit; tp = 4 does not fit as priced (an fp32 gradient buffer) but
    /// does as NeMo runs it (bf16, the plan's 16-bit reductions), and beats tp = 8. A runner-up alone is named as one,
    /// and the header says the settings run it.
    @Test("the fastest alternative whose settings fit and run is written, a runner-up of the search named as one")
    func fastestOfSeveralAlternatives() throws {
        let searched = try priced(tp: 1, zero: 3), runnerUp = try priced(tp: 8, zero: 1), grid = try priced(tp: 4, zero: 1)
        #expect(runnerUp.prediction.fitsInMemory && !grid.prediction.fitsInMemory)
        let both = try FrameworkExport.choosing(searched.plan, prediction: searched.prediction,
                                                alternatives: [.runnerUp(runnerUp.plan, prediction: runnerUp.prediction),
                                                               .grid(grid.plan, prediction: grid.prediction)],
                                                framework: .nemo)
        #expect(both.plan.summary == grid.plan.summary && both.export.prediction.fitsInMemory)
        #expect(both.export.prediction.iterationSeconds < runnerUp.prediction.iterationSeconds)
        let alone = try FrameworkExport.choosing(searched.plan, prediction: searched.prediction,
                                                 alternatives: [.runnerUp(runnerUp.plan, prediction: runnerUp.prediction)], framework: .nemo)
        #expect(alone.plan.summary == runnerUp.plan.summary)
        #expect(alone.export.text.contains("these settings run instead another plan the search found"))
        #expect(alone.export.differences.isEmpty ? alone.export.text.contains("They run it as it is") : alone.export.text.contains("It is not a layout"))
        #expect(!alone.export.text.contains("the plan as it is") && !alone.export.text.contains("The plan is not"))
    }

    /// A plan whose layout the framework runs, but slower than the grid's configuration, gives way to it (on DGX
    /// A100 80GB, where tp = 2 fits).
    @Test("a plan whose layout is slower in the framework than the grid's configuration gives way to it")
    func nearestLayoutIsSlower() throws {
        let searched = try priced(tp: 4, zero: 1, on: "dgx-a100-80g:1"), grid = try priced(tp: 2, zero: 1, on: "dgx-a100-80g:1")
        #expect(grid.prediction.iterationSeconds < searched.prediction.iterationSeconds)
        let nemo = try FrameworkExport.choosing(searched.plan, prediction: searched.prediction, alternatives: [.grid(grid.plan, prediction: grid.prediction)], framework: .nemo)
        #expect(nemo.plan.summary == grid.plan.summary)
        #expect(nemo.export.text.contains("an iteration; these settings run instead the fastest Megatron-style grid configuration"))
    }

    /// `plan --emit` searches with the options the framework runs (`TrainingFramework.searchedOptions`): a layout priced
    /// with them is written with no change to its options and the same prediction. A named option is left as named.
    @Test("a layout priced with the options plan --emit searches is written as it is, in every framework")
    func searchedOptionsAreRunAsTheyAre() throws {
        let cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        let defaults = TrainingOptions(recompute: .full)
        for framework in TrainingFramework.allCases {
            var options = framework.searchedOptions(defaults, gradientBufferGiven: false, optimizerStateGiven: false, fusionGiven: false, exchangeGiven: false)
            options.zeroStage = framework.largestZeroStage
            let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1", configuration: MegatronConfiguration(
                tensorParallel: 1, pipelineParallel: 1, options: options))
            let prediction = PlanEvaluator(cluster: cluster).evaluate(plan)
            let export = try FrameworkExport(plan: plan, prediction: prediction, framework: framework)
            #expect(export.differences.isEmpty, "\(framework.rawValue): \(export.differences)")
            #expect(abs(export.prediction.iterationSeconds / prediction.iterationSeconds - 1) < 1e-9, "\(framework.rawValue)")
            let named = framework.searchedOptions(defaults, gradientBufferGiven: true, optimizerStateGiven: true, fusionGiven: true, exchangeGiven: true)
            #expect(named.gradientPrecision == defaults.gradientPrecision && named.optimizerState == defaults.optimizerState
                    && named.kernelFusion == defaults.kernelFusion && named.contextParallelCommunication == defaults.contextParallelCommunication)
        }
        #expect(TrainingFramework.megatron.searchedOptions(defaults, gradientBufferGiven: false, optimizerStateGiven: false, fusionGiven: false, exchangeGiven: false)
            .gradientPrecision == .bf16, "16-bit reductions take a bf16 buffer")
        var fp32Reductions = defaults
        fp32Reductions.reduceGradientsInFP32 = true
        #expect(TrainingFramework.nemo.searchedOptions(fp32Reductions, gradientBufferGiven: false, optimizerStateGiven: false, fusionGiven: false, exchangeGiven: false)
            .gradientPrecision == .fp32)
        let torchtitan = TrainingFramework.torchtitan.searchedOptions(defaults, gradientBufferGiven: false, optimizerStateGiven: false, fusionGiven: false, exchangeGiven: false)
        #expect(torchtitan.optimizerState == .fp32Weights && torchtitan.kernelFusion == .eager && torchtitan.reduceGradientsInFP32
                && torchtitan.overlapGradientReduction && torchtitan.copiesOutGatheredParameters)
        // torchtitan's context parallelism is PyTorch's ring; Megatron-Core's frameworks run the exchange asked for, their
        // own ring for PyTorch's.
        for communication in ContextParallelCommunication.allCases {
            var asked = defaults
            asked.contextParallelCommunication = communication
            for framework in TrainingFramework.allCases {
                let searched = framework.searchedOptions(asked, gradientBufferGiven: false, optimizerStateGiven: false, fusionGiven: false, exchangeGiven: false)
                let expected: ContextParallelCommunication = framework == .torchtitan ? .pytorchRing : communication.isPyTorchRing ? .ring : communication
                #expect(searched.contextParallelCommunication == expected, "\(framework.rawValue), \(communication.rawValue)")
            }
        }
    }

    @Test("a graph that takes no token ids (an MLP) has no settings in any framework: --emit is refused at --emit")
    func modelWithoutAttention() throws {
        let graph = try #require(ModelCatalog.model(id: "mlp-2")).build()
        let cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1",
                                             configuration: MegatronConfiguration(tensorParallel: 2, pipelineParallel: 1))
        let prediction = PlanEvaluator(cluster: cluster).evaluate(plan)
        for framework in TrainingFramework.allCases {
            do {
                _ = try FrameworkExport(plan: plan, prediction: prediction, framework: framework)
                Issue.record("\(framework.rawValue) wrote settings for an MLP")
            } catch {
                #expect(error.path.description == "--emit" && error.message.contains("takes no token ids"), "\(error.message)")
            }
        }
    }

    /// The settings ShardPlan writes build causal decoders (`pretrain_gpt.py`, GPT recipes, torchtitan's Llama), and
    /// BERT's bidirectional attention is none: `--emit` is refused for every framework, with the reason, as a graph
    /// without token ids is.
    @Test("an encoder (BERT's bidirectional attention) has no settings in any framework: --emit is refused with the reason")
    func encoderModel() throws {
        let graph = try TransformerBuilder(name: "bert-2-layers", configuration: .bert(layers: 2, hidden: 64, heads: 4, vocabulary: 512,
                                                                                        sequenceLength: 128, globalBatch: 16)).build()
        let cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1",
                                             configuration: MegatronConfiguration(tensorParallel: 2, pipelineParallel: 1))
        let prediction = PlanEvaluator(cluster: cluster).evaluate(plan)
        for framework in TrainingFramework.allCases {
            let refusal = try #require(FrameworkExport.refusal(of: graph, in: framework))
            #expect(refusal.path.description == "--emit" && refusal.message.contains("attention is bidirectional (an encoder, such as BERT)"),
                    "\(refusal.message)")
            #expect(throws: InputError.self) { try FrameworkExport(plan: plan, prediction: prediction, framework: framework) }
        }
        #expect(try #require(FrameworkExport.refusal(of: graph, in: .megatron)).message.contains("pretrain_gpt.py; Megatron-LM's pretrain_bert.py"))
        // A causal decoder of the same size is written.
        let gpt = try #require(ModelCatalog.model(id: "gpt-tiny")).build()
        #expect(TrainingFramework.allCases.allSatisfy { FrameworkExport.refusal(of: gpt, in: $0) == nil })
    }
}
