import Testing
@testable import ShardPlan

/// SPEC section 1's mlp-2 (ops h, a, y, loss; a batch of 1,024) as Megatron-LM lays it out on one DGX A100 with
/// tp = 8: one stage of the 4 ops on a [1, 8] mesh, one microbatch of 1,024.
private func megatronPlan() throws -> TrainingPlan {
    try TrainingPlan.megatron(graph: try Graph(jsonBytes: GraphFixture.specMLP.bytes), cluster: try Cluster.preset(named: "dgx-a100-80g:1"),
                              clusterName: "dgx-a100-80g:1",
                              configuration: MegatronConfiguration(tensorParallel: 8, pipelineParallel: 1, microBatchSize: 1024))
}

/// One op, y = x w on an [8, 4] input: a graph to swap in for a plan's own.
private func oneOpGraph() throws -> Graph {
    var builder = GraphBuilder(name: "tiny")
    let x = try builder.input("x", [8, 4], .bf16)
    let w = try builder.parameter("w", [4, 4])
    builder.output(try builder.einsum("y", "bd,df->bf", x, w))
    return try builder.build()
}

private let malformedPlans: [(change: @Sendable (inout TrainingPlan) -> Void, expected: String)] = [
    ({ $0.microbatches = 0 }, "the plan has 0 microbatches; it needs 1 or more"),
    ({ $0.microbatches = 3 }, "the global batch of 1024 does not split into 3 microbatches of equal size"),
    ({ $0.pipelineRanks = 0 }, "the plan has 0 pipeline ranks; it needs 1 or more"),
    ({ $0.virtualStages = -1 }, "the plan has -1 chunks a pipeline rank; it needs 1 or more"),
    ({ $0.pipelineRanks = 2 }, "the plan has 1 stage, not the 2 pipeline ranks x 1 chunk it states"),
    ({ $0.stages = [] }, "the plan has no stages"),
    ({ $0.graph = try! oneOpGraph() }, "stage 0 holds ops 0 ..< 4, but graph \"tiny\" has ops 0 ..< 1"),
    // h = x w1 ("bd,df->bf") has the 3 indices b, d and f.
    ({ $0.stages[0].strategies[0] = OpStrategy(indexOfAxis: [nil, 3]) },
     "op h's strategy splits index 3 along mesh axis 1, but the op has indices 0 ..< 3"),
    // Review (qa61): `jsonText(prediction:)` traps on this one (OpStrategy.axes(splitting:)); it documents that the plan
    // must be one the validator accepts.
    ({ $0.stages[0].strategies[0] = OpStrategy(indexOfAxis: [99, nil]) },
     "op h's strategy splits index 99 along mesh axis 0, but the op has indices 0 ..< 3"),
    ({ $0.stages[0].strategies[0].zeroStage = 5 }, "op h's ZeRO stage is 5, not 0, 1, 2 or 3"),
    ({ $0.stages[0].strategies.removeLast() }, "stage 0 has 3 strategies for 4 ops"),
]

/// `PlanValidator` reads any `TrainingPlan` a caller can put together without trapping, and finds what
/// `PlanEvaluator.evaluate(_:)` could not price; `evaluate(checking:)` refuses such a plan with that finding.
@Suite("PlanValidator: a plan put together in Swift is checked, not trapped on")
struct PlanValidatorTests {
    @Test("each malformed plan gets its violation", arguments: malformedPlans)
    func violations(change: @Sendable (inout TrainingPlan) -> Void, violation: String) throws {
        var plan = try megatronPlan()
        #expect(PlanValidator.violation(in: plan) == nil)
        change(&plan)
        #expect(PlanValidator.violation(in: plan) == violation)
        let error = #expect(throws: InputError.self) { try PlanEvaluator(cluster: plan.cluster).evaluate(checking: plan) }
        #expect(error?.description == "the plan is not sound: " + violation)
    }

    @Test("evaluate(checking:) prices a sound plan as evaluate(_:) does, and refuses its cluster or options out of range")
    func checkedEvaluation() throws {
        let plan = try megatronPlan()
        let evaluator = PlanEvaluator(cluster: plan.cluster)
        #expect(try evaluator.evaluate(checking: plan).iterationSeconds == evaluator.evaluate(plan).iterationSeconds)
        var zeroBandwidth = plan
        zeroBandwidth.cluster.intraNode?.bandwidth = 0
        let clusterError = #expect(throws: InputError.self) { try evaluator.evaluate(checking: zeroBandwidth) }
        #expect(clusterError?.description == "cluster \"dgx-a100-80g:1\": intra_node.bandwidth_gb_per_s: expected a positive number, found 0")
        var zeroSeven = plan
        zeroSeven.options.zeroStage = 7
        let optionsError = #expect(throws: InputError.self) { try evaluator.evaluate(checking: zeroSeven) }
        #expect(optionsError?.description == "options.zero_stage: the ZeRO stage must be 0, 1, 2 or 3, found 7")
    }

    /// Review (qa61): an evaluator made from an H100 cluster priced an A100 plan with H100 kernel rates and the A100's
    /// memory and links, without a word.
    @Test("evaluate(checking:) refuses a plan on another device than its kernel model's, and prices one with a hand-built model")
    func deviceMismatch() throws {
        let plan = try megatronPlan()
        let h100 = PlanEvaluator(cluster: try Cluster.preset(named: "dgx-h100:1"))
        #expect(h100.kernels.deviceName == "H100-SXM5-80GB")
        let error = #expect(throws: InputError.self) { try h100.evaluate(checking: plan) }
        #expect(error?.description == "cluster: the plan runs on A100-SXM4-80GB but this evaluator prices kernels on H100-SXM5-80GB; make the evaluator from the plan's cluster (PlanEvaluator(cluster: plan.cluster))")
        // A calibrated model made from the plan's device and adjusted keeps its device, and prices the plan.
        var calibrated = KernelModel(device: plan.cluster.device)
        calibrated.launchSeconds *= 2
        let adjusted = try PlanEvaluator(kernels: calibrated).evaluate(checking: plan)
        #expect(adjusted.iterationSeconds > PlanEvaluator(cluster: plan.cluster).evaluate(plan).iterationSeconds)
        // A model built from figures alone names no device: it prices a plan on any.
        var figures = h100.kernels
        figures.deviceName = nil
        #expect(try PlanEvaluator(kernels: figures).evaluate(checking: plan).iterationSeconds == h100.evaluate(plan).iterationSeconds)
    }

    /// Review (qa61): `PlanEvaluator(cluster:)` trapped on a device listing no peak rate (`DeviceSpec.arithmeticType`).
    @Test("PlanEvaluator(checking:) refuses a cluster Cluster.validate() refuses, and makes init(cluster:)'s evaluator otherwise")
    func checkedInit() throws {
        var cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        #expect(try PlanEvaluator(checking: cluster).kernels == PlanEvaluator(cluster: cluster).kernels)
        cluster.device.peakFLOPsPerSecond = [:]
        let error = #expect(throws: InputError.self) { try PlanEvaluator(checking: cluster) }
        #expect(error?.description.hasPrefix("cluster \"dgx-a100-80g:1\": device.peak_tflops") == true)
    }
}
