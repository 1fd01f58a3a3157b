import Testing
@testable import ShardPlan

/// The one-line layout summary (`MegatronConfiguration.summary`) that `score` prints and an export's header opens
/// with: it names every number format that differs from `TrainingOptions`' defaults, so that the line, copied into
/// `score`'s options, prices the plan it describes.
@Suite("Megatron layout summary")
struct MegatronSummaryTests {
    static func configuration(_ options: TrainingOptions) -> MegatronConfiguration {
        MegatronConfiguration(tensorParallel: 2, pipelineParallel: 1, dataParallel: 4, microBatchSize: 1, options: options)
    }

    @Test("default number formats add nothing to the summary")
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
}
