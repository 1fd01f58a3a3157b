import Testing
@testable import ShardPlan

/// QA: FP8 on A100s, which have no FP8 tensor cores, was planned and priced by the library (0.8185 s for GPT-3 125M
/// under Megatron's tp = 1 layout), and then refused when its own plan document was read back. Every entry point
/// that plans or prices now refuses it as the document is refused, at `options.precision`.
@Suite("FP8 on a device without FP8 tensor cores is refused by every entry point")
struct FP8DeviceCheckTests {
    let graph = try! ModelCatalog.model(id: "gpt-tiny")!.build()
    let a100 = try! Cluster.preset(named: "dgx-a100-80g:1")
    let path = JSONPath([.key("options"), .key("precision")])
    let message = "A100-SXM4-80GB has no FP8 tensor cores (its cluster lists no fp8 peak); set precision to bf16"

    @Test("the planners, their grid fallbacks, TrainingPlan.megatron and evaluate(checking:) refuse fp8 and auto on an A100", arguments: [MatmulPrecision.fp8, .auto])
    func refused(precision: MatmulPrecision) throws {
        let options = TrainingOptions(precision: precision)
        let expected = InputError(.invalidValue, at: path, message)
        #expect(throws: expected) { _ = try PipelinePlanner(graph: graph, cluster: a100, clusterName: "a100", options: options).plan() }
        #expect(throws: expected) {
            _ = try PipelinePlanner(graph: graph, cluster: a100, clusterName: "a100", options: options).fittingGridPlans(count: 4)
        }
        #expect(throws: expected) { _ = try SingleStagePlanner(graph: graph, cluster: a100, clusterName: "a100", options: options).plan() }
        #expect(throws: expected) {
            _ = try TrainingPlan.megatron(graph: graph, cluster: a100, clusterName: "a100",
                                          configuration: MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1, options: options))
        }
        // A plan built in bf16 and edited to FP8 is priced only unchecked.
        var plan = try TrainingPlan.megatron(graph: graph, cluster: a100, clusterName: "a100",
                                             configuration: MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1))
        _ = try PlanEvaluator(cluster: a100).evaluate(checking: plan)
        plan.options.precision = precision
        #expect(throws: expected) { _ = try PlanEvaluator(cluster: a100).evaluate(checking: plan) }
    }

    @Test("on an H100 FP8 is planned and priced, and the plan it writes reads back")
    func acceptedWithFP8Units() throws {
        let h100 = try Cluster.preset(named: "dgx-h100")
        let options = TrainingOptions(precision: .fp8)
        try options.check(on: h100.device)
        #expect(options.precisionConflict(on: h100.device, flag: "precision") == nil)
        #expect(TrainingOptions().precisionConflict(on: a100.device, flag: "precision") == nil)
        let plan = try TrainingPlan.megatron(graph: graph, cluster: h100, clusterName: "dgx-h100",
                                             configuration: MegatronConfiguration(tensorParallel: 2, pipelineParallel: 1, options: options))
        let prediction = try PlanEvaluator(cluster: h100).evaluate(checking: plan)
        let read = try TrainingPlan(json: try JSONParser.parse(plan.jsonText(prediction: prediction)), graph: graph, cluster: h100, clusterName: "dgx-h100")
        #expect(read.options.precision == .fp8)
    }
}
