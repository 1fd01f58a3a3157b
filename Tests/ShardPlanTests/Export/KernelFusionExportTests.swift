import Testing
@testable import ShardPlan

/// Each framework's settings follow the plan's kernel fusion. A compiled step is torchtitan's `[compile]`: the model
/// and the loss by default (`Compile.components` in torchtitan 0.2.2's `job_config.py`), the model alone when the plan
/// runs its loss eagerly. Megatron-LM and NeMo run their own fused kernels, and fuse the loss when the plan does.
@Suite("Framework settings follow the plan's kernel fusion")
struct KernelFusionExportTests {
    /// gpt-tiny data-parallel over one DGX A100 with `options`, as torchtitan's job config.
    static func titan(_ options: TrainingOptions, tensorParallel: Int = 1) throws -> String {
        try export(options, tensorParallel: tensorParallel, framework: .torchtitan)
    }

    /// gpt-tiny over one DGX A100 with `options`, as `framework`'s settings, read back by its reader.
    static func export(_ options: TrainingOptions, tensorParallel: Int = 1, framework: TrainingFramework) throws -> String {
        let graph = try #require(ModelCatalog.model(id: "gpt-tiny")).build()
        let cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1",
                                             configuration: MegatronConfiguration(tensorParallel: tensorParallel, pipelineParallel: 1,
                                                                                  sequenceParallel: tensorParallel > 1, options: options))
        let text = try FrameworkExport(plan: plan, prediction: PlanEvaluator(cluster: cluster).evaluate(plan), framework: framework).text
        _ = try FrameworkRoundTripTests.readBack(text, framework)
        return text
    }

    @Test("compiled: [compile] enable; compiled with an eager loss: components = [\"model\"]; fused and eager: no [compile], the fused kernels named as a change")
    func compileSection() throws {
        let compiled = try Self.titan(TrainingOptions(kernelFusion: .compiled))
        #expect(compiled.hasSuffix("[compile]\nenable = true\n"))
        let eagerLoss = try Self.titan(TrainingOptions(kernelFusion: .compiled, eagerLoss: true))
        #expect(eagerLoss.hasSuffix("[compile]\nenable = true\ncomponents = [\"model\"]\n"))
        for fusion in [KernelFusionLevel.fused, .eager] {
            #expect(!(try Self.titan(TrainingOptions(kernelFusion: fusion))).contains("\n[compile]\n"))
        }
        // A plan of hand-fused kernels runs eager in torchtitan, and says so; a flash-attn-style fused loss too.
        #expect(try Self.titan(TrainingOptions()).contains("torchtitan has no hand-fused kernels such as Megatron's: without [compile] it runs eager PyTorch's"))
        let fusedLoss = try Self.titan(TrainingOptions(kernelFusion: .compiled, fusedCrossEntropy: true, eagerLoss: true))
        #expect(fusedLoss.contains("torchtitan has no fused cross-entropy kernel: its loss runs as eager PyTorch's, outside the compiled model"))
        #expect(fusedLoss.hasSuffix("components = [\"model\"]\n"))
        // In a compiled model the loss is torch.compile's, which keeps a logits-sized working buffer a fused kernel does not.
        let compiledLoss = try Self.titan(TrainingOptions(kernelFusion: .compiled, fusedCrossEntropy: true))
        #expect(compiledLoss.contains("torchtitan has no fused cross-entropy kernel: its loss runs as torch.compile's, in the compiled model"))
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

    /// Megatron-LM's `--cross-entropy-loss-fusion` and NeMo's `cross_entropy_loss_fusion` (true by default in NeMo's
    /// GPTConfig, so written either way); a compiled plan runs Megatron's fused kernels, named as a change.
    @Test("Megatron-LM and NeMo: the fused loss as the plan has it; a compiled plan's kernels become Megatron's fused ones")
    func megatronFusion() throws {
        let fused = TrainingOptions(fusedCrossEntropy: true)
        #expect(try Self.export(fused, framework: .megatron).contains("--cross-entropy-loss-fusion"))
        #expect(!(try Self.export(TrainingOptions(), framework: .megatron)).contains("--cross-entropy-loss-fusion"))
        #expect(try Self.export(fused, framework: .nemo).contains("model.config.cross_entropy_loss_fusion=True"))
        #expect(try Self.export(TrainingOptions(), framework: .nemo).contains("model.config.cross_entropy_loss_fusion=False"))
        let compiled = try Self.export(TrainingOptions(kernelFusion: .compiled), framework: .megatron)
        #expect(compiled.contains("Megatron-LM runs its own fused kernels (TransformerEngine's): the plan's torch.compile'd kernels become those, and its compiled loss the fused cross-entropy"))
        #expect(compiled.contains("--cross-entropy-loss-fusion"))
        let eagerLoss = try Self.export(TrainingOptions(kernelFusion: .compiled, eagerLoss: true), framework: .megatron)
        #expect(!eagerLoss.contains("--cross-entropy-loss-fusion") && !eagerLoss.contains("compiled loss"))
        #expect(!(try Self.export(TrainingOptions(), framework: .megatron)).contains("runs its own fused kernels"))
    }
}
