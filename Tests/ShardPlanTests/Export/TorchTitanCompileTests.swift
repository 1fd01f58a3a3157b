import Testing
@testable import ShardPlan

/// A compiled step is torchtitan's `[compile]`: the model and the loss by default (`Compile.components` in
/// torchtitan 0.2.2's `job_config.py`), the model alone when the plan runs its loss eagerly.
@Suite("torchtitan's [compile] section follows the plan's kernel fusion")
struct TorchTitanCompileTests {
    /// gpt-tiny data-parallel over one DGX A100 with `options`, as torchtitan's job config.
    static func titan(_ options: TrainingOptions, tensorParallel: Int = 1) throws -> String {
        let graph = try #require(ModelCatalog.model(id: "gpt-tiny")).build()
        let cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1",
                                             configuration: MegatronConfiguration(tensorParallel: tensorParallel, pipelineParallel: 1,
                                                                                  sequenceParallel: tensorParallel > 1, options: options))
        let text = try FrameworkExport(plan: plan, prediction: PlanEvaluator(cluster: cluster).evaluate(plan), framework: .torchtitan).text
        _ = try TorchTitanJobConfigReader(text)
        return text
    }

    @Test("compiled: [compile] enable; compiled with an eager loss: components = [\"model\"]; fused and eager: no [compile]")
    func compileSection() throws {
        let compiled = try Self.titan(TrainingOptions(kernelFusion: .compiled))
        #expect(compiled.hasSuffix("[compile]\nenable = true\n"))
        let eagerLoss = try Self.titan(TrainingOptions(kernelFusion: .compiled, eagerLoss: true))
        #expect(eagerLoss.hasSuffix("[compile]\nenable = true\ncomponents = [\"model\"]\n"))
        for fusion in [KernelFusionLevel.fused, .eager] {
            #expect(!(try Self.titan(TrainingOptions(kernelFusion: fusion))).contains("[compile]"))
        }
    }

    /// torchtitan's asynchronous tensor parallelism runs only in a compiled model, so an eager plan with it is
    /// written compiled, says so, and is priced compiled.
    @Test("async tensor parallelism of an eager plan: [compile] enable, named as a change")
    func asyncTensorParallelCompiles() throws {
        let text = try Self.titan(TrainingOptions(overlapTensorParallelCommunication: true, kernelFusion: .eager), tensorParallel: 2)
        #expect(text.contains("enable_async_tensor_parallel = true") && text.hasSuffix("[compile]\nenable = true\n"))
        #expect(text.contains("only in a compiled model: the plan's eager kernels become torch.compile's"))
        let compiled = try Self.titan(TrainingOptions(overlapTensorParallelCommunication: true, kernelFusion: .compiled), tensorParallel: 2)
        #expect(!compiled.contains("only in a compiled model"))
    }
}
