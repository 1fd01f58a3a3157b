import Testing
@testable import ShardPlan

/// The one-line layout summaries (`MegatronConfiguration.summary`, which `score` prints and an export's header opens
/// with, and `TrainingPlan.stageSummary`, which `plan` prints): they name every setting that differs from
/// `TrainingOptions`' defaults (`TrainingOptions.settingsText(gathersWeights:)`), so that the line names every option
/// `score` needs to price the plan it describes.
@Suite("Megatron layout summary")
struct MegatronSummaryTests {
    static func configuration(_ options: TrainingOptions) -> MegatronConfiguration {
        MegatronConfiguration(tensorParallel: 2, pipelineParallel: 1, dataParallel: 4, microBatchSize: 1, options: options)
    }

    @Test("default settings add nothing to the summary")
    func defaultsAddNothing() {
        let summary = Self.configuration(TrainingOptions(zeroStage: 1)).summary(dataParallel: 4)
        #expect(summary == "tp=2 pp=1 dp=4 mbs=1 zero=1")
    }

    @Test("FP8, its recipe, FP8 weights, the gradient buffer, the reduction's type and the optimizer state are named")
    func everyFormatNamed() {
        let options = TrainingOptions(zeroStage: 1, precision: .fp8, fp8Recipe: .rowwise, fp8Parameters: true,
                                      gradientPrecision: .bf16, optimizerState: .bf16, reduceGradientsInFP32: true)
        #expect(Self.configuration(options).summary(dataParallel: 4)
                == "tp=2 pp=1 dp=4 mbs=1 zero=1 fp8 fp8-recipe=rowwise fp8-params grad=bf16 grad-reduce=fp32 optimizer=bf16")
        // The tensorwise recipe is the default; a per-op choice of FP8 says so.
        var auto = options
        auto.precision = .auto
        auto.fp8Recipe = .tensorwise
        #expect(Self.configuration(auto).summary(dataParallel: 4).contains(" fp8=auto fp8-params grad=bf16"))
    }

    /// gpt-tiny on one DGX H100 with a bf16 gradient buffer: the plan's summary (an export's first header line)
    /// names the buffer, without which the layout it names prices differently.
    @Test("a Megatron plan's summary names a bf16 gradient buffer, which changes its price")
    func summaryNamesGradientBuffer() throws {
        let graph = try #require(ModelCatalog.model(id: "gpt-tiny")).build()
        let cluster = try Cluster.preset(named: "dgx-h100:1")
        let options = TrainingOptions(zeroStage: 1, gradientPrecision: .bf16)
        let configuration = MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1, dataParallel: 8, microBatchSize: 1,
                                                  options: options)
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-h100:1", configuration: configuration)
        #expect(plan.summary?.hasSuffix(" zero=1 grad=bf16") == true, "\(plan.summary ?? "")")
        var fp32 = configuration
        fp32.options.gradientPrecision = .fp32
        let fp32Plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-h100:1", configuration: fp32)
        let evaluator = PlanEvaluator(cluster: cluster)
        #expect(evaluator.evaluate(plan).iterationSeconds != evaluator.evaluate(fp32Plan).iterationSeconds)
    }

    /// torchtitan's export of a QA run said `tp=1 pp=2 dp=4 mbs=1 first=17 zero=2 grad-reduce=fp32
    /// optimizer=fp32-weights` and priced eager PyTorch's kernels: scored as the line said, it was 15% faster.
    @Test("the kernel stack, the attention kernel, the overlaps and the loss are named")
    func stackNamed() {
        var options = TrainingOptions(zeroStage: 3, overlapGradientReduction: true, overlapTensorParallelCommunication: true,
                                      attentionKernel: .flash2, kernelFusion: .eager, fusedCrossEntropy: true,
                                      copiesOutGatheredParameters: true)
        options.writesLossGradientInPlace = true
        #expect(Self.configuration(options).summary(dataParallel: 4)
                == "tp=2 pp=1 dp=4 mbs=1 zero=3 fusion=eager attention=flash2 overlap-grad-reduce overlap-tp-comm fused-ce loss-in-place fsdp2")
        var compiled = TrainingOptions(kernelFusion: .compiled, eagerLoss: true)
        compiled.upcastsLoss = false
        #expect(compiled.settingsText(gathersWeights: false) == " fusion=compiled eager-loss no-loss-upcast")
        // Without ZeRO-3 FSDP2's copies change nothing, and `score` refuses --fsdp2 there.
        options.zeroStage = 2
        #expect(!Self.configuration(options).summary(dataParallel: 4).contains("fsdp2"))
    }

    /// The searched plan's summary (`plan`'s line) ends with the same settings, after the pipeline depth.
    @Test("a searched plan's summary names the settings too")
    func stageSummaryNamesSettings() throws {
        let graph = try #require(ModelCatalog.model(id: "gpt-tiny")).build()
        let cluster = try Cluster.preset(named: "dgx-h100:1")
        let configuration = MegatronConfiguration(tensorParallel: 2, pipelineParallel: 1, dataParallel: 4, microBatchSize: 1,
                                                  options: TrainingOptions(zeroStage: 1, gradientPrecision: .bf16))
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-h100:1", configuration: configuration)
        #expect(plan.stageSummary == "tp=2 dp=4 zero=1 pp=1 grad=bf16", "\(plan.stageSummary)")
    }

    /// A stage's ZeRO stage is its parameters' (each its first reader's): ZeRO over one data-parallel device shards
    /// nothing and is not named, and a stage whose parameters take two stages names both.
    @Test("the stage summary names ZeRO only over data-parallel devices, with the lower stage of the rest")
    func zeroStageWording() throws {
        let graph = try #require(ModelCatalog.model(id: "gpt-tiny")).build()
        let cluster = try Cluster.preset(named: "dgx-h100:1")
        func plan(tp: Int, dp: Int) throws -> TrainingPlan {
            try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-h100:1", configuration:
                MegatronConfiguration(tensorParallel: tp, pipelineParallel: 1, dataParallel: dp, microBatchSize: 1,
                                      options: TrainingOptions(zeroStage: 1)))
        }
        #expect(MegatronSummary.describe(try plan(tp: 8, dp: 1).stages[0], graph: graph) == "tp=8 dp=1")
        var mixed = try plan(tp: 1, dp: 8).stages[0]
        // The first product's weight takes ZeRO-2, every other parameter ZeRO-1.
        let product = try #require(mixed.operations.first { op in
            graph.operations[op].op.isContraction && graph.operations[op].inputs.contains { graph[$0].isParameter }
        })
        mixed.strategies = mixed.strategies.enumerated().map { offset, strategy in
            OpStrategy(indexOfAxis: strategy.indexOfAxis, zeroStage: offset == product - mixed.operations.lowerBound ? 2 : 1)
        }
        #expect(MegatronSummary.describe(mixed, graph: graph) == "tp=1 dp=8 zero=2 on some parameters, zero=1 on the rest")
        // With a third parameter at ZeRO-0 (the plan's own stage 0), ZeRO-1 is on others, not the rest.
        var three = mixed
        three.strategies = mixed.strategies.enumerated().map { offset, strategy in
            OpStrategy(indexOfAxis: strategy.indexOfAxis, zeroStage: offset == product - mixed.operations.lowerBound ? 2 : offset == 0 ? 0 : 1)
        }
        #expect(MegatronSummary.describe(three, graph: graph) == "tp=1 dp=8 zero=2 on some parameters, zero=1 on others")
    }

    /// QA: gpt-tiny's searched plan on one DGX H100 computes the whole batch on every device (every op replicated over
    /// the mesh's 8 devices), and its summary said "zero=1", which shards nothing there: no gradient is partial over any
    /// axis, so ZeRO has no data-parallel devices (the cost model prices it as stage 0, to the byte).
    @Test("ZeRO is not named, or counted, where every device computes the whole batch")
    func zeroWithoutDataParallelDevices() throws {
        let graph = try #require(ModelCatalog.model(id: "gpt-tiny")).build()
        let cluster = try Cluster.preset(named: "dgx-h100:1")
        var plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-h100:1", configuration:
            MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1, dataParallel: 8, microBatchSize: 1, options: TrainingOptions()))
        plan.stages[0].strategies = plan.stages[0].strategies.map { OpStrategy(indexOfAxis: $0.indexOfAxis.map { _ in nil }, zeroStage: 1) }
        let stage = plan.stages[0]
        #expect(stage.parameterZeroStages(in: graph, planStage: 0).allSatisfy { $0 == 0 })
        #expect(!MegatronSummary.describe(stage, graph: graph).contains("zero"), "\(MegatronSummary.describe(stage, graph: graph))")
        var zeroOne = plan
        zeroOne.stages[0].strategies = stage.strategies.map { OpStrategy(indexOfAxis: $0.indexOfAxis, zeroStage: 0) }
        let evaluator = PlanEvaluator(cluster: cluster)
        #expect(evaluator.evaluate(plan).peakMemoryBytesPerDevice == evaluator.evaluate(zeroOne).peakMemoryBytesPerDevice)
        #expect(evaluator.evaluate(plan).iterationSeconds == evaluator.evaluate(zeroOne).iterationSeconds)
    }

    /// moe-tiny with its experts over 4 of 8 data-parallel devices: the expert axis is named data parallelism (its dense
    /// products split the batch) and expert parallelism, where it was a mixed axis before.
    @Test("an axis that splits the experts is named expert parallelism")
    func expertParallelNamed() throws {
        let graph = try #require(ModelCatalog.model(id: "moe-tiny")).build()
        let cluster = try Cluster.preset(named: "dgx-h100")
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-h100", configuration:
            MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1, expertParallel: 4))
        let roles = MegatronSummary.roles(of: plan.stages[0], graph: graph)
        #expect(roles.expertParallel == 4 && roles.mixedAxes.isEmpty && roles.expertAxes.count == 1, "\(roles)")
        #expect(MegatronSummary.describe(plan.stages[0], graph: graph).hasPrefix("tp=1 dp=8 ep=4"))
    }

    /// Review: experts over all 8 data-parallel devices share no gradient, so ZeRO shards none of them; every other
    /// parameter takes ZeRO-1, and the stage is "zero=1", not "zero=1 on some parameters" (the experts left out, not
    /// counted as ZeRO-0), and its export carries no "only some parameters" note.
    @Test("parameters no data-parallel devices share are left out of the stage's ZeRO wording")
    func unsharedParametersLeftOut() throws {
        let graph = try #require(ModelCatalog.model(id: "moe-tiny")).build()
        let cluster = try Cluster.preset(named: "dgx-h100")
        var plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-h100", configuration:
            MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1, dataParallel: 8, expertParallel: 8))
        plan.stages[0].strategies = plan.stages[0].strategies.map { OpStrategy(indexOfAxis: $0.indexOfAxis, zeroStage: 1) }
        #expect(MegatronSummary.describe(plan.stages[0], graph: graph) == "tp=1 dp=8 ep=8 zero=1")
        let recognition = try LayoutRecognition(plan)
        #expect(recognition.layout.configuration.options.zeroStage == 1)
        #expect(!recognition.differences.contains { $0.contains("only some parameters") }, "\(recognition.differences)")
    }

    /// QA: a searched plan of Llama 3 8B at 131,072 tokens whose products split the sequence over 8 devices and whose
    /// attention splits the heads there (DeepSpeed-Ulysses' context parallelism, all-to-alls between the two) was
    /// summarised "y=8 mixed". Megatron's cp = 4 layout of gpt-tiny at 4,096 tokens, its attention moved from the
    /// queries to the heads on the context axis, is now "cp=4 cp-comm=all-to-all", and its nearest Megatron layout
    /// runs the all-to-all exchange.
    @Test("an axis that splits the products' sequence and attention's heads is context parallelism by all-to-all")
    func contextByHeads() throws {
        let graph = try #require(ModelCatalog.model(id: "gpt-tiny")).build(sequenceLength: 4096, globalBatch: 2)
        let cluster = try Cluster.preset(named: "dgx-h100:1")
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-h100:1", configuration: MegatronConfiguration(
            tensorParallel: 1, pipelineParallel: 1, dataParallel: 2, microBatchSize: 1, contextParallel: 4))
        var stage = plan.stages[0]
        let axis = try #require(MegatronSummary.roles(of: stage, graph: graph).axes.firstIndex(of: .context))
        #expect(!MegatronSummary.roles(of: stage, graph: graph).contextByHeads)
        for (position, operation) in stage.operations.enumerated() {
            guard case .attention = graph.operations[operation].op else { continue }
            let heads = try #require(graph.operations[operation].indexSpace.indices.firstIndex { $0.name == "heads" })
            stage.strategies[position].indexOfAxis[axis] = heads
        }
        let roles = MegatronSummary.roles(of: stage, graph: graph)
        #expect(roles.contextParallel == 4 && roles.contextByHeads && roles.mixedAxes.isEmpty)
        #expect(MegatronSummary.describe(stage, graph: graph) == "tp=1 dp=2 cp=4 cp-comm=all-to-all")
        var searched = plan
        searched.stages = [stage]
        let recognition = try LayoutRecognition(searched)
        #expect(recognition.layout.configuration.contextParallel == 4)
        #expect(recognition.layout.configuration.options.contextParallelCommunication == .allToAll)
    }
}

