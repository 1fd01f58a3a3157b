import Testing
@testable import ShardPlan

/// What the frameworks check at start-up, before the first step, of the settings ShardPlan writes: Megatron-LM's
/// `validate_args` (`megatron/training/arguments.py`), torchtitan's `parallelize_llama`. Each test is a layout
/// whose settings one of those checks refused, written as the framework runs it.
@Suite("Framework settings pass the frameworks' start-up checks")
struct FrameworkStartUpCheckTests {
    /// gpt-tiny (8 sequences of 32 tokens) on the 8 devices of one A100 node, for every framework.
    static func exports(_ configuration: MegatronConfiguration) throws -> [TrainingFramework: FrameworkExport] {
        let graph = try #require(ModelCatalog.model(id: "gpt-tiny")).build()
        let cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1", configuration: configuration)
        let prediction = PlanEvaluator(cluster: cluster).evaluate(plan)
        var exports: [TrainingFramework: FrameworkExport] = [:]
        for framework in TrainingFramework.allCases {
            let export = try FrameworkExport(plan: plan, prediction: prediction, framework: framework)
            #expect(try FrameworkRoundTripTests.readBack(export.text, framework) == ReadBackLayout(export.layout), "\(framework.rawValue)")
            exports[framework] = export
        }
        return exports
    }

    @Test("Megatron-FSDP (ZeRO-2 and ZeRO-3) is written with --ckpt-format fsdp_dtensor, which validate_args requires",
          arguments: [2, 3])
    func megatronFSDPCheckpointFormat(zeroStage: Int) throws {
        let megatron = try #require(Self.exports(MegatronConfiguration(
            tensorParallel: 1, pipelineParallel: 1, options: TrainingOptions(zeroStage: zeroStage, gradientPrecision: .bf16)))[.megatron])
        #expect(megatron.differences.isEmpty, "\(megatron.differences)")
        #expect(megatron.text.contains("--use-megatron-fsdp \\") && megatron.text.contains("--ckpt-format fsdp_dtensor \\"))
        let distributedOptimizer = try #require(Self.exports(MegatronConfiguration(
            tensorParallel: 1, pipelineParallel: 1, options: TrainingOptions(zeroStage: 1)))[.megatron])
        #expect(!distributedOptimizer.text.contains("--ckpt-format"))
    }

    @Test("tensor or context parallelism runs torchrun with CUDA_DEVICE_MAX_CONNECTIONS=1, as validate_args asserts before Blackwell; Megatron-FSDP and tp = cp = 1 without it",
          arguments: [(1, 1, 0, false), (2, 1, 0, true), (1, 2, 1, true), (2, 1, 3, false)])
    func singleDeviceConnection(tensorParallel: Int, contextParallel: Int, zeroStage: Int, set: Bool) throws {
        let megatron = try #require(Self.exports(MegatronConfiguration(
            tensorParallel: tensorParallel, pipelineParallel: 1, contextParallel: contextParallel,
            options: TrainingOptions(zeroStage: zeroStage)))[.megatron])
        let command = try #require(megatron.text.split(separator: "\n").first { !$0.hasPrefix("#") })
        #expect(command.hasPrefix(set ? "CUDA_DEVICE_MAX_CONNECTIONS=1 torchrun --nnodes=1 --nproc-per-node=8 " : "torchrun --nnodes=1 --nproc-per-node=8 "),
                "\(command)")
        #expect(megatron.text.contains("# Megatron-FSDP refuses CUDA_DEVICE_MAX_CONNECTIONS=1") == (zeroStage >= 2))
    }

    @Test("tensor-parallel overlap without sequence parallelism: Megatron-LM and NeMo get sequence parallelism, priced; torchtitan's tensor parallelism has it anyway")
    func tensorParallelOverlapNeedsSequenceParallelism() throws {
        let exports = try Self.exports(MegatronConfiguration(
            tensorParallel: 2, pipelineParallel: 1, options: TrainingOptions(overlapTensorParallelCommunication: true, gradientPrecision: .bf16)))
        for framework in [TrainingFramework.megatron, .nemo] {
            let export = try #require(exports[framework])
            #expect(export.layout.sequenceParallel && export.layout.configuration.options.overlapTensorParallelCommunication)
            #expect(export.differences == ["\(framework.displayName) overlaps tensor-parallel communication with the GEMMs only with sequence parallelism, which it turns on"])
        }
        let megatron = try #require(exports[.megatron]).text
        #expect(megatron.contains("--sequence-parallel \\") && megatron.contains("--tp-comm-overlap \\"))
        #expect(try #require(exports[.nemo]).text.contains("trainer.strategy.sequence_parallel=True \\"))
        // With sequence parallelism already on, nothing changes.
        let withSequenceParallelism = try Self.exports(MegatronConfiguration(
            tensorParallel: 2, pipelineParallel: 1, sequenceParallel: true,
            options: TrainingOptions(overlapTensorParallelCommunication: true, gradientPrecision: .bf16)))
        #expect(try #require(withSequenceParallelism[.megatron]).differences.isEmpty)
    }

    /// A plan of hand-fused kernels (the default) runs eager in torchtitan, which says so.
    static let eagerKernels = "torchtitan has no hand-fused kernels such as Megatron's: without [compile] it runs eager PyTorch's (plan with --fusion compiled for torch.compile's)"

    @Test("torchtitan: replicated weights (ZeRO-0) beside tensor or pipeline parallelism become FSDP, since its DDP runs only alone",
          arguments: [(2, 1, true), (1, 2, true), (1, 1, false)])
    func torchTitanDDPOnlyAlone(tensorParallel: Int, pipelineParallel: Int, becomesFSDP: Bool) throws {
        let titan = try #require(Self.exports(MegatronConfiguration(
            tensorParallel: tensorParallel, pipelineParallel: pipelineParallel, sequenceParallel: tensorParallel > 1,
            options: TrainingOptions(overlapGradientReduction: true, optimizerState: .fp32Weights, reduceGradientsInFP32: true)))[.torchtitan])
        let replicas = 8 / (tensorParallel * pipelineParallel)
        #expect(titan.layout.dataParallel == replicas && titan.layout.zeroStage == (becomesFSDP ? 2 : 0))
        if becomesFSDP {
            #expect(titan.differences == [Self.eagerKernels,
                                          "torchtitan runs DDP only as the sole parallelism (\"DDP has not supported > 1D parallelism\"); FSDP that keeps the gathered weights from forward to backward (ZeRO-2) is nearest",
                                          "torchtitan shards with FSDP2 (fully_shard), which copies each gathered layer into its parameters' storage on the compute stream; the plan's FSDP computing on its gathered buffer becomes that"])
            #expect(titan.text.contains("data_parallel_replicate_degree = 1\ndata_parallel_shard_degree = \(replicas)\nfsdp_reshard_after_forward = \"never\""))
        } else {
            #expect(titan.differences == [Self.eagerKernels], "\(titan.differences)")
            #expect(titan.text.contains("data_parallel_replicate_degree = 8\ndata_parallel_shard_degree = 1\n"))
        }
    }

    /// Megatron-Core keeps its gradient buffer in the type it reduces in (`DistributedDataParallelConfig.grad_reduce_in_fp32`,
    /// fp32 by default in bf16 training); NeMo's performance recipes set `trainer.plugins.grad_reduce_in_fp32 = False`.
    /// torchtitan 0.2.2's FSDP reduces only in fp32 (`mixed_precision_reduce: Literal["float32"]`).
    @Test("gradient buffer and reduction: Megatron-LM writes --grad-reduce-in-bf16 and NeMo grad_reduce_in_fp32 as the plan reduces; torchtitan reduces in fp32",
          arguments: [(GradientPrecision.fp32, false), (.bf16, false), (.fp32, true), (.bf16, true)])
    func gradientReduction(buffer: GradientPrecision, reduceInFP32: Bool) throws {
        let exports = try Self.exports(MegatronConfiguration(
            tensorParallel: 2, pipelineParallel: 1, sequenceParallel: true,
            options: TrainingOptions(gradientPrecision: buffer, reduceGradientsInFP32: reduceInFP32)))
        // Megatron-Core's nearest: the buffer in the reduction's type, the reduction as priced.
        let wanted: GradientPrecision = reduceInFP32 ? .fp32 : .bf16
        for framework in [TrainingFramework.megatron, .nemo] {
            let export = try #require(exports[framework])
            #expect(export.layout.configuration.options.gradientPrecision == wanted)
            #expect(export.layout.configuration.options.reduceGradientsInFP32 == reduceInFP32)
            #expect(export.differences.count == (buffer == wanted ? 0 : 1), "\(framework.rawValue): \(export.differences)")
        }
        #expect(try #require(exports[.megatron]).text.contains("--grad-reduce-in-bf16") == !reduceInFP32)
        #expect(try #require(exports[.nemo]).text.contains("trainer.plugins.grad_reduce_in_fp32=\(reduceInFP32 ? "True" : "False") \\"))
        // The bf16 buffer with 16-bit reductions prices exactly as the plan: no change to the prediction.
        if buffer == .bf16 && !reduceInFP32 {
            #expect(try #require(exports[.megatron]).differences.isEmpty)
        }
        let titan = try #require(exports[.torchtitan])
        #expect(titan.layout.configuration.options.reduceGradientsInFP32 && titan.layout.configuration.options.gradientPrecision == .fp32)
        #expect(titan.differences.contains { $0.contains("torchtitan reduces gradients in fp32") } == !reduceInFP32)
    }

    /// Megatron-LM trains in fp32 without `--bf16` (`_add_mixed_precision_args`), reads `--grad-reduce-in-bf16` only
    /// under it, and `validate_args` asserts it beside `--moe-grouped-gemm`; every plan prices bf16 mixed precision, as
    /// Megatron-Bridge's `bf16_mixed` preset sets it.
    @Test("Megatron-LM's command trains in bf16 (--bf16) whatever the gradient buffer, as Megatron-Bridge's preset does",
          arguments: [GradientPrecision.fp32, .bf16])
    func bf16MixedPrecision(buffer: GradientPrecision) throws {
        let exports = try Self.exports(MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1,
                                                             options: TrainingOptions(gradientPrecision: buffer, reduceGradientsInFP32: buffer == .fp32)))
        let arguments = MegatronArguments(try #require(exports[.megatron]).layout).arguments
        #expect(arguments.filter { $0 == "--bf16" }.count == 1 && arguments.contains("--grad-reduce-in-bf16") == (buffer == .bf16), "\(arguments)")
        #expect(try #require(exports[.megatronBridge]).text.contains("cfg.mixed_precision = get_mixed_precision_config('bf16_mixed')"))
    }

    /// torchtitan's FSDP shards over dp_shard x cp (`ParallelDims.fsdp_enabled`), and `apply_fsdp`'s default reshards
    /// after forward only without a pipeline: with 8 context-parallel ranks and one data-parallel rank, the plan's
    /// ZeRO-1 runs as ZeRO-2 and is written "never", ZeRO-3 "always", whether or not there is a pipeline.
    @Test("torchtitan with context parallelism and one data-parallel rank writes fsdp_reshard_after_forward as the priced stage",
          arguments: [(1, 1, "never"), (3, 1, "always"), (1, 2, "never"), (3, 2, "always")])
    func reshardOverContextParallelRanks(zeroStage: Int, pipelineParallel: Int, reshard: String) throws {
        let titan = try #require(Self.exports(MegatronConfiguration(
            tensorParallel: 1, pipelineParallel: pipelineParallel, contextParallel: 8 / pipelineParallel,
            options: TrainingOptions(zeroStage: zeroStage)))[.torchtitan])
        #expect(titan.layout.dataParallel == 1 && titan.layout.zeroStage == max(zeroStage, 2))
        #expect(titan.text.contains("data_parallel_shard_degree = 1\nfsdp_reshard_after_forward = \"\(reshard)\"\n"), "\(titan.text)")
    }
}
