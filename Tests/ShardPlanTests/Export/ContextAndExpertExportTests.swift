import Testing
@testable import ShardPlan

/// Context- and expert-parallel layouts, recognised from their plans and written for each framework with the
/// framework's own options (Docs/frameworks.md), then read back.
@Suite("Framework settings with context and expert parallelism")
struct ContextAndExpertExportTests {
    static let clusterName = "dgx-h100:1"

    static func export(model: String, _ configuration: MegatronConfiguration)
        throws -> (recognition: LayoutRecognition, exports: [TrainingFramework: FrameworkExport]) {
        let graph = try #require(ModelCatalog.model(id: model)).build()
        let cluster = try Cluster.preset(named: clusterName)
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: clusterName, configuration: configuration)
        let prediction = PlanEvaluator(cluster: cluster).evaluate(plan)
        let recognition = try LayoutRecognition(plan)
        var exports: [TrainingFramework: FrameworkExport] = [:]
        for framework in TrainingFramework.allCases {
            let export = try FrameworkExport(recognition: recognition, of: plan, prediction: prediction, framework: framework)
            // torchtitan's reader reads its op-level policy back as selective (`asTorchTitanReads`).
            let written = ReadBackLayout(export.layout)
            let wanted = framework == .torchtitan ? FrameworkRoundTripTests.asTorchTitanReads(written) : written
            #expect(try FrameworkRoundTripTests.readBack(export.text, framework) == wanted, "\(framework.rawValue)")
            exports[framework] = export
        }
        return (recognition, exports)
    }

    @Test("gpt-tiny with cp = 2 (tp = 2, dp = 2): --context-parallel-size, context_parallel_size and context_parallel_degree")
    func contextParallel() throws {
        let (recognition, exports) = try Self.export(model: "gpt-tiny", MegatronConfiguration(
            tensorParallel: 2, pipelineParallel: 1, sequenceParallel: true, contextParallel: 2,
            options: TrainingOptions(overlapGradientReduction: true, gradientPrecision: .bf16)))
        #expect(recognition.isExact, "\(recognition.differences)")
        #expect(recognition.layout.contextParallel == 2 && recognition.layout.dataParallel == 2 && recognition.layout.tensorParallel == 2)
        #expect(recognition.layout.worldSize == 8)
        let megatron = try #require(exports[.megatron])
        #expect(megatron.differences.isEmpty && megatron.text.contains("--context-parallel-size 2 \\"))
        #expect(megatron.text.contains("torchrun --nnodes=1 --nproc-per-node=8"))
        #expect(try #require(exports[.nemo]).text.contains("trainer.strategy.context_parallel_size=2 \\"))
        // torchtitan shards parameters over its context-parallel ranks (FSDP): the replicated weights become ZeRO-2; it
        // keeps fp32 weights and gradients and reduces in fp32, runs eager PyTorch's kernels, FSDP2 copies each
        // gathered layer out, and PyTorch's ring attention under its all-to-all rotation, which passes keys and values a step
        // at a time as TransformerEngine's ring does, replaces that ring.
        let titan = try #require(exports[.torchtitan])
        #expect(titan.text.contains("context_parallel_degree = 2") && titan.text.contains("data_parallel_shard_degree = 2"))
        #expect(titan.text.contains("context_parallel_rotate_method = \"alltoall\""))
        #expect(titan.layout.zeroStage == 2 && titan.differences.count == 7, "\(titan.differences)")
        #expect(titan.layout.configuration.options.contextParallelCommunication == .pytorchRingAllToAll)
        #expect(titan.differences.contains { $0.contains("with its all-to-all rotation") && $0.hasSuffix("where the plan prices TransformerEngine's ring (p2p)") })
        #expect(titan.layout.configuration.options.optimizerState == .fp32Weights && titan.layout.configuration.options.gradientPrecision == .fp32
                && titan.layout.configuration.options.reduceGradientsInFP32)
    }

    /// llama-tiny (4 query and 2 key/value heads, 32 tokens) with cp = 4 under a2a+p2p on one DGX H100: the all-to-all
    /// group takes 2 ranks (the largest divisor of 4 below it that fits a node beside tp = 1), the ring the other 2; the
    /// plan's mesh is `[dp 2, ring 2, group 2, tp 1]` and its attention splits its queries over both context axes.
    @Test("llama-tiny with cp = 4 under a2a+p2p: --hierarchical-context-parallel-sizes 2 2, the same sizes in Megatron-Bridge's settings, NeMo's ring")
    func hierarchicalContextParallel() throws {
        var options = TrainingOptions()
        options.contextParallelCommunication = .hierarchical
        let (recognition, exports) = try Self.export(model: "llama-tiny", MegatronConfiguration(
            tensorParallel: 1, pipelineParallel: 1, contextParallel: 4, options: options))
        #expect(recognition.isExact, "\(recognition.differences)")
        #expect(recognition.layout.hierarchicalContextSizes == [2, 2])
        #expect(recognition.plan.stages[0].mesh.shape == [2, 2, 2, 1])
        let graph = recognition.plan.graph
        let attention = try #require(graph.operations.firstIndex { if case .attention = $0.op { true } else { false } })
        #expect(ContextParallelExchange.ringAxes(graph.operations[attention], recognition.plan.stages[0].strategy(of: attention)) == [1, 2])
        let megatron = try #require(exports[.megatron])
        #expect(megatron.text.contains("--cp-comm-type a2a+p2p \\\n    --hierarchical-context-parallel-sizes 2 2 \\"))
        #expect(megatron.text.contains("cp=4 cp-comm=a2a+p2p cp-a2a=2"))
        // NeMo 2.0's strategy builds no hierarchical groups: it runs the ring, and says so.
        let nemo = try #require(exports[.nemo])
        #expect(nemo.text.contains("model.config.cp_comm_type='p2p'") && !nemo.text.contains("model.config.hierarchical_context_parallel_sizes"))
        #expect(nemo.differences.contains { $0.hasPrefix("NeMo 2.0 builds no hierarchical context-parallel groups") })
        #expect(try #require(exports[.megatronBridge]).text.contains("    cfg.model.hierarchical_context_parallel_sizes = [2, 2]\n"))
        // torchtitan runs PyTorch's ring instead, and says so.
        let titan = try #require(exports[.torchtitan])
        #expect(titan.differences.contains { $0.hasSuffix("where the plan prices all-to-alls inside groups and a ring between them (TransformerEngine's a2a+p2p)") })
    }

    /// Hierarchical context parallelism's groups are an axis of their own; beside shard groups (an axis too) a mesh would
    /// have 5 axes, more than ShardPlan lays out: refused at the option, not at the mesh.
    @Test("a2a+p2p beside hybrid sharding's shard groups is refused at --zero-shard-group")
    func hierarchicalBesideShardGroups() throws {
        var options = TrainingOptions(zeroStage: 3, zeroShardGroup: 2)
        options.contextParallelCommunication = .hierarchical
        let graph = try #require(ModelCatalog.model(id: "llama-tiny")).build()
        let cluster = try Cluster.preset(named: "dgx-h100:2")
        do {
            _ = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-h100:2", configuration:
                MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1, contextParallel: 4, options: options))
            Issue.record("a 5-axis mesh was laid out")
        } catch {
            #expect(error.path.description == "options.zero_shard_group" && error.description.contains("a mesh of 5 axes"), "\(error)")
        }
    }

    @Test("PyTorch's ring under the all-to-all rotation: torchtitan writes context_parallel_rotate_method = \"alltoall\", Megatron-LM its own ring with a sentence")
    func pytorchRingAllToAllRotation() throws {
        var options = TrainingOptions()
        options.contextParallelCommunication = .pytorchRingAllToAll
        let (_, exports) = try Self.export(model: "gpt-tiny", MegatronConfiguration(
            tensorParallel: 2, pipelineParallel: 1, sequenceParallel: true, contextParallel: 2, options: options))
        let titan = try #require(exports[.torchtitan])
        #expect(titan.text.contains("context_parallel_rotate_method = \"alltoall\""))
        #expect(titan.layout.configuration.options.contextParallelCommunication == .pytorchRingAllToAll)
        #expect(!titan.differences.contains { $0.contains("ring attention") }, "\(titan.differences)")
        let megatron = try #require(exports[.megatron])
        #expect(!megatron.text.contains("    --cp-comm-type"), "no argument: Megatron-Core's default ring")
        #expect(megatron.differences.contains { $0.contains("where the plan prices PyTorch's ring attention under its all-to-all rotation") },
                "\(megatron.differences)")
    }

    @Test("gpt-tiny with cp = 2 and tp = 2 without sequence parallelism: the context axis's sequence split is not sequence parallelism")
    func contextParallelWithoutSequenceParallelism() throws {
        let (recognition, exports) = try Self.export(model: "gpt-tiny", MegatronConfiguration(
            tensorParallel: 2, pipelineParallel: 1, contextParallel: 2, options: TrainingOptions(gradientPrecision: .bf16)))
        #expect(recognition.isExact, "\(recognition.differences)")
        #expect(!recognition.layout.sequenceParallel && recognition.layout.contextParallel == 2)
        let megatron = try #require(exports[.megatron])
        #expect(megatron.differences.isEmpty && !megatron.text.contains("--sequence-parallel"))
    }

    @Test("moe-tiny at top-4 with dense blocks between the expert ones: --num-experts 8 --moe-router-topk 4 and a --moe-layer-freq comment for Megatron-LM only")
    func expertRoutingForMegatronLM() throws {
        var configuration = try #require(ModelCatalog.model(id: "moe-tiny")?.transformer)
        configuration.layers = 4
        configuration.mixtureOfExperts?.topK = 4
        configuration.mixtureOfExperts?.layerInterval = 2
        let graph = try TransformerBuilder(name: "moe-tiny-top4", configuration: configuration).build()
        let cluster = try Cluster.preset(named: Self.clusterName)
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: Self.clusterName, configuration: MegatronConfiguration(
            tensorParallel: 1, pipelineParallel: 1, expertParallel: 8, options: TrainingOptions(gradientPrecision: .bf16)))
        let export = try FrameworkExport(plan: plan, prediction: PlanEvaluator(cluster: cluster).evaluate(plan), framework: .megatron)
        #expect(export.text.contains("    --expert-model-parallel-size 8 \\\n    --moe-token-dispatcher-type alltoall \\\n    --num-experts 8 \\\n    --moe-router-topk 4 \\\n    --moe-grouped-gemm \\\n    --num-layers 4 \\\n"), "\(export.text)")
        #expect(export.text.contains("# Some of the model's blocks are dense: say which with its arguments (--moe-layer-freq; by default every block has experts).\n"))
        _ = try MegatronArgumentReader(export.text).layout()
        // NeMo and Megatron-Bridge build the model, its experts and routing included, from the recipe.
        for framework in [TrainingFramework.nemo, .megatronBridge] {
            let text = try FrameworkExport(plan: plan, prediction: export.planPrediction, framework: framework).text
            #expect(!text.contains("num_moe_experts") && !text.contains("moe_router_topk") && !text.contains("moe-layer-freq"), "\(framework.rawValue)")
        }
    }

    @Test("moe-tiny with whole experts, ep = 8 folded over tp = 2: --expert-tensor-parallel-size 1 and its fields, read back")
    func expertsFoldedOverTensor() throws {
        let (recognition, exports) = try Self.export(model: "moe-tiny", MegatronConfiguration(
            tensorParallel: 2, pipelineParallel: 1, sequenceParallel: true, expertParallel: 8, expertTensorParallel: 1,
            options: TrainingOptions(gradientPrecision: .bf16)))
        #expect(recognition.isExact, "\(recognition.differences)")
        #expect(recognition.layout.expertParallel == 8 && recognition.layout.expertTensorParallel == 1 && recognition.layout.dataParallel == 4)
        #expect(try #require(exports[.megatron]).text.contains("--expert-tensor-parallel-size 1 \\\n    --num-experts 8 \\\n    --moe-router-topk 2 \\"))
        #expect(try !#require(exports[.megatron]).text.contains("moe-layer-freq"))
        #expect(try #require(exports[.nemo]).text.contains("trainer.strategy.expert_tensor_parallel_size=1"))
        #expect(try #require(exports[.megatronBridge]).text.contains("cfg.model.expert_tensor_parallel_size = 1"))
        #expect(try #require(exports[.torchtitan]).text.contains("expert_tensor_parallel_degree = 1"))
        // The default splits each expert over the tensor-parallel ranks: written as the tensor-parallel size, or not at all.
        let (_, split) = try Self.export(model: "moe-tiny", MegatronConfiguration(
            tensorParallel: 2, pipelineParallel: 1, sequenceParallel: true, expertParallel: 4, options: TrainingOptions(gradientPrecision: .bf16)))
        #expect(try !#require(split[.megatron]).text.contains("--expert-tensor-parallel-size"))
        #expect(try #require(split[.nemo]).text.contains("trainer.strategy.expert_tensor_parallel_size=2"))
        #expect(try #require(split[.torchtitan]).text.contains("expert_tensor_parallel_degree = 2"))
    }

    @Test("moe-tiny under DeepEP and HybridEP: Megatron-Core's flex dispatcher with its backend, torchtitan's deepep backend, read back")
    func deduplicatingDispatchers() throws {
        var options = TrainingOptions(gradientPrecision: .bf16)
        options.expertDispatcher = .deepEP
        let (recognition, exports) = try Self.export(model: "moe-tiny", MegatronConfiguration(
            tensorParallel: 2, pipelineParallel: 1, sequenceParallel: true, expertParallel: 8, expertTensorParallel: 1, options: options))
        #expect(recognition.isExact && recognition.layout.configuration.options.expertDispatcher == .deepEP, "\(recognition.differences)")
        let megatron = try #require(exports[.megatron]).text
        #expect(megatron.contains("--moe-token-dispatcher-type flex \\") && megatron.contains("--moe-flex-dispatcher-backend deepep \\"))
        let nemo = try #require(exports[.nemo]).text
        #expect(nemo.contains("model.config.moe_token_dispatcher_type='flex'") && nemo.contains("model.config.moe_flex_dispatcher_backend='deepep'"))
        #expect(nemo.contains("model.config.moe_shared_expert_overlap=False"))
        let bridge = try #require(exports[.megatronBridge]).text
        #expect(bridge.contains("cfg.model.moe_token_dispatcher_type = 'flex'") && bridge.contains("cfg.model.moe_flex_dispatcher_backend = 'deepep'"))
        #expect(bridge.contains("cfg.model.moe_shared_expert_overlap = False"))
        let titan = try #require(exports[.torchtitan])
        #expect(titan.text.contains("expert_parallel_comm_backend = \"deepep\""))
        #expect(!titan.differences.contains { $0.contains("DeepEP") }, "\(titan.differences)")

        // HybridEP: Megatron-Core's backend of that name; torchtitan has none and takes DeepEP, priced the same.
        options.expertDispatcher = .hybridEP
        let (_, hybrid) = try Self.export(model: "moe-tiny", MegatronConfiguration(
            tensorParallel: 2, pipelineParallel: 1, sequenceParallel: true, expertParallel: 8, expertTensorParallel: 1, options: options))
        #expect(try #require(hybrid[.megatron]).text.contains("--moe-flex-dispatcher-backend hybridep \\"))
        let hybridTitan = try #require(hybrid[.torchtitan])
        #expect(hybridTitan.text.contains("expert_parallel_comm_backend = \"deepep\""))
        #expect(hybridTitan.differences.contains { $0.hasPrefix("torchtitan has no HybridEP backend") }, "\(hybridTitan.differences)")

        // torchtitan's DeepEP refuses experts split over the tensor-parallel ranks: its standard all-to-all, said so.
        options.expertDispatcher = .deepEP
        let (_, split) = try Self.export(model: "moe-tiny", MegatronConfiguration(
            tensorParallel: 2, pipelineParallel: 1, sequenceParallel: true, expertParallel: 4, options: options))
        let splitTitan = try #require(split[.torchtitan])
        #expect(splitTitan.text.contains("expert_parallel_comm_backend = \"standard\""))
        #expect(splitTitan.differences.contains { $0.hasPrefix("torchtitan's DeepEP backend refuses experts split over the tensor-parallel ranks") })
        #expect(try #require(split[.megatron]).text.contains("--moe-flex-dispatcher-backend deepep \\"))
    }

    @Test("moe-tiny with ep = 2 and tp = 2 without sequence parallelism: Megatron-LM and NeMo get it, as Megatron-Core requires")
    func expertAndTensorParallelismNeedSequenceParallelism() throws {
        let (recognition, exports) = try Self.export(model: "moe-tiny", MegatronConfiguration(
            tensorParallel: 2, pipelineParallel: 1, expertParallel: 2, options: TrainingOptions(gradientPrecision: .bf16)))
        #expect(recognition.isExact && !recognition.layout.sequenceParallel, "\(recognition.differences)")
        for framework in [TrainingFramework.megatron, .nemo] {
            let export = try #require(exports[framework])
            #expect(export.layout.sequenceParallel && export.differences.count == 1, "\(framework.rawValue): \(export.differences)")
        }
        #expect(try #require(exports[.megatron]).text.contains("--sequence-parallel \\"))
        #expect(try #require(exports[.nemo]).text.contains("trainer.strategy.sequence_parallel=True \\"))
    }

    /// Megatron-LM's `validate_args` asserts sequence parallelism for any mixture of experts beside tensor
    /// parallelism, expert parallelism or not; Megatron-Core's own check (NeMo's path) is for expert parallelism only.
    @Test("moe-tiny with tp = 2 and no expert parallelism: Megatron-LM gets sequence parallelism, NeMo need not")
    func mixtureOfExpertsAndTensorParallelismNeedSequenceParallelismInMegatronLM() throws {
        let (recognition, exports) = try Self.export(model: "moe-tiny", MegatronConfiguration(
            tensorParallel: 2, pipelineParallel: 1, options: TrainingOptions(gradientPrecision: .bf16)))
        #expect(recognition.isExact && !recognition.layout.sequenceParallel, "\(recognition.differences)")
        let megatron = try #require(exports[.megatron])
        #expect(megatron.layout.sequenceParallel && megatron.text.contains("--sequence-parallel \\"))
        #expect(megatron.differences == ["Megatron-LM runs a mixture of experts beside tensor parallelism only with sequence parallelism"],
                "\(megatron.differences)")
        #expect(try #require(exports[.nemo]).differences.isEmpty)
    }

    @Test("moe-tiny with ep = 4 over dp = 8, and ep = 2 with tp = 2: --expert-model-parallel-size, expert_parallel_degree with etp = tp",
          arguments: [(1, 4), (2, 2)])
    func expertParallel(tensorParallel: Int, expertParallel: Int) throws {
        let (recognition, exports) = try Self.export(model: "moe-tiny", MegatronConfiguration(
            tensorParallel: tensorParallel, pipelineParallel: 1, sequenceParallel: tensorParallel > 1, expertParallel: expertParallel,
            options: TrainingOptions(zeroStage: 3, gradientPrecision: .bf16)))
        #expect(recognition.isExact, "\(recognition.differences)")
        #expect(recognition.layout.expertParallel == expertParallel && recognition.layout.dataParallel == 8 / tensorParallel)
        #expect(recognition.layout.worldSize == 8)
        let megatron = try #require(exports[.megatron])
        #expect(megatron.differences.isEmpty && megatron.text.contains("--expert-model-parallel-size \(expertParallel) \\"))
        #expect(try #require(exports[.nemo]).text.contains("trainer.strategy.expert_model_parallel_size=\(expertParallel) \\"))
        let titan = try #require(exports[.torchtitan]).text
        #expect(titan.contains("expert_parallel_degree = \(expertParallel)\nexpert_tensor_parallel_degree = \(tensorParallel)"))
    }

    /// Megatron-Core overlaps the experts' all-to-alls where its TransformerConfig allows it; the exports write its
    /// option beside the all-to-all dispatcher, and drop it, said as a difference, where the framework cannot run it.
    @Test("the experts' overlapped all-to-alls: --overlap-moe-expert-parallel-comm and its config fields; torchtitan and a pipeline without chunks drop it")
    func overlappedAllToAlls() throws {
        var options = TrainingOptions(recompute: .selective, gradientPrecision: .bf16)
        options.overlapExpertParallelCommunication = true
        let (_, exports) = try Self.export(model: "moe-tiny", MegatronConfiguration(
            tensorParallel: 1, pipelineParallel: 1, expertParallel: 4, options: options))
        let megatron = try #require(exports[.megatron])
        #expect(megatron.differences.isEmpty, "\(megatron.differences)")
        #expect(megatron.text.contains("--moe-token-dispatcher-type alltoall \\") && megatron.text.contains("--overlap-moe-expert-parallel-comm \\"))
        let nemo = try #require(exports[.nemo]).text, bridge = try #require(exports[.megatronBridge]).text
        #expect(nemo.contains("model.config.overlap_moe_expert_parallel_comm=True \\") && nemo.contains("model.config.moe_shared_expert_overlap=False \\"))
        #expect(bridge.contains("cfg.comm_overlap.overlap_moe_expert_parallel_comm = True") && bridge.contains("cfg.model.moe_shared_expert_overlap = False"))
        let titan = try #require(exports[.torchtitan])
        #expect(!titan.layout.configuration.options.overlapExpertParallelCommunication)
        #expect(titan.differences.contains { $0.contains("torchtitan has no schedule that overlaps one microbatch's expert all-to-alls") })
        // Beside pipelining Megatron-Core overlaps them only under the interleaved schedule.
        let (_, pipelined) = try Self.export(model: "moe-tiny", MegatronConfiguration(
            tensorParallel: 1, pipelineParallel: 2, expertParallel: 4, options: options))
        let unchunked = try #require(pipelined[.megatron])
        #expect(!unchunked.text.contains("--overlap-moe-expert-parallel-comm"))
        #expect(unchunked.differences.contains { $0.contains("only with the interleaved schedule; the plan's overlapped all-to-alls run exposed") })
        #expect(try #require(pipelined[.nemo]).text.contains("model.config.overlap_moe_expert_parallel_comm=False \\"))
        #expect(try #require(pipelined[.megatronBridge]).text.contains("cfg.comm_overlap.overlap_moe_expert_parallel_comm = False"))
        // Nor beside full recomputation, nor where the launch leaves one work queue (tensor parallelism, CUDA_DEVICE_MAX_CONNECTIONS=1).
        var full = options
        full.recompute = .full
        let (_, recomputed) = try Self.export(model: "moe-tiny", MegatronConfiguration(
            tensorParallel: 1, pipelineParallel: 1, expertParallel: 4, options: full))
        #expect(try #require(recomputed[.megatron]).differences.contains { $0.contains("only without full recomputation") || $0.contains("refuses full recomputation") })
        let (_, tensorParallel) = try Self.export(model: "moe-tiny", MegatronConfiguration(
            tensorParallel: 2, pipelineParallel: 1, sequenceParallel: true, expertParallel: 2, options: options))
        let queued = try #require(tensorParallel[.megatron])
        #expect(queued.differences.contains { $0.contains("CUDA_DEVICE_MAX_CONNECTIONS=1") } && !queued.text.contains("--overlap-moe-expert-parallel-comm"))
        // Without the overlap every framework says so beside expert parallelism, as a recipe may turn it on.
        let (_, plain) = try Self.export(model: "moe-tiny", MegatronConfiguration(
            tensorParallel: 1, pipelineParallel: 1, expertParallel: 4, options: TrainingOptions(gradientPrecision: .bf16)))
        #expect(try #require(plain[.nemo]).text.contains("model.config.overlap_moe_expert_parallel_comm=False \\"))
        let plainMegatron = try #require(plain[.megatron]).text
        #expect(!plainMegatron.contains("--overlap-moe-expert-parallel-comm") && plainMegatron.contains("--moe-token-dispatcher-type alltoall"))
    }

    @Test("torchtitan's reader refuses expert parallelism its FSDP ranks cannot hold")
    func torchtitanExpertGroups() throws {
        let text = "[parallelism]\ndata_parallel_replicate_degree = 8\ndata_parallel_shard_degree = 1\nexpert_parallel_degree = 4\n"
            + "\n[activation_checkpoint]\nmode = \"none\"\n"
        #expect(throws: ReadBackError.self) { try TorchTitanJobConfigReader(text).layout() }
    }
}
