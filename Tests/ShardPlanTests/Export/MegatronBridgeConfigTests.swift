import Testing
@testable import ShardPlan

/// Megatron-Bridge's `apply_plan(cfg)`: the whole function for one layout written out by hand, and the fields that
/// depend on ZeRO, precision and overlap.
@Suite("Megatron-Bridge settings")
struct MegatronBridgeConfigTests {
    /// gpt-tiny on `cluster` as `configuration`, written as Megatron-Bridge settings and read back.
    static func export(_ configuration: MegatronConfiguration, cluster name: String = "dgx-h100:1") throws -> FrameworkExport {
        let graph = try #require(ModelCatalog.model(id: "gpt-tiny")).build()
        let cluster = try Cluster.preset(named: name)
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: name, configuration: configuration)
        let export = try FrameworkExport(plan: plan, prediction: PlanEvaluator(cluster: cluster).evaluate(plan), framework: .megatronBridge)
        _ = try MegatronBridgeConfigReader(export.text).layout()
        return export
    }

    /// The statements of `text` after the comments: the imports and the function.
    static func code(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).drop { $0.hasPrefix("#") }.joined(separator: "\n")
    }

    @Test("tp 2 x pp 2 x dp 2 with sequence parallelism, full recomputation and ZeRO-1, as written by hand")
    func wholeFunction() throws {
        let export = try Self.export(MegatronConfiguration(tensorParallel: 2, pipelineParallel: 2, sequenceParallel: true,
                                                           options: TrainingOptions(recompute: .full, zeroStage: 1,
                                                                                    gradientPrecision: .fp32, reduceGradientsInFP32: true)))
        #expect(export.differences.isEmpty, "\(export.differences)")
        #expect(export.text.contains("#     CUDA_DEVICE_MAX_CONNECTIONS=1 torchrun --nnodes=1 --nproc-per-node=8 pretrain.py\n"))
        #expect(Self.code(export.text) == """
            import torch
            from megatron.bridge.training.comm_overlap import CommOverlapConfig
            from megatron.bridge.training.mixed_precision import get_mixed_precision_config


            def apply_plan(cfg):
                \"\"\"Sets the plan's parallelism, recomputation, ZeRO, overlap, precision and batch on a ConfigContainer.\"\"\"
                cfg.model.tensor_model_parallel_size = 2
                cfg.model.pipeline_model_parallel_size = 2
                cfg.model.virtual_pipeline_model_parallel_size = None
                cfg.model.context_parallel_size = 1
                cfg.model.cp_comm_type = 'p2p'
                cfg.model.expert_model_parallel_size = 1
                cfg.model.expert_tensor_parallel_size = 2
                cfg.model.sequence_parallel = True
                cfg.model.pipeline_model_parallel_layout = None
                cfg.model.num_layers_in_first_pipeline_stage = None
                cfg.model.num_layers_in_last_pipeline_stage = None
                cfg.model.account_for_embedding_in_pipeline_split = False
                cfg.model.account_for_loss_in_pipeline_split = False
                cfg.model.mtp_num_layers = None
                cfg.model.recompute_granularity = 'full'
                cfg.model.recompute_method = 'uniform'
                cfg.model.recompute_num_layers = 1
                cfg.model.cross_entropy_loss_fusion = False
                cfg.model.seq_length = 32
                cfg.dataset.seq_length = 32
                cfg.train.micro_batch_size = 1
                cfg.train.global_batch_size = 8
                cfg.ddp.use_distributed_optimizer = True
                cfg.optimizer.use_distributed_optimizer = True
                cfg.dist.use_megatron_fsdp = False
                cfg.ddp.use_megatron_fsdp = False
                cfg.optimizer.use_precision_aware_optimizer = False
                cfg.optimizer.main_params_dtype = torch.float32
                cfg.optimizer.main_grads_dtype = torch.float32
                cfg.optimizer.exp_avg_dtype = torch.float32
                cfg.optimizer.exp_avg_sq_dtype = torch.float32
                cfg.ddp.overlap_grad_reduce = False
                cfg.ddp.overlap_param_gather = False
                if cfg.comm_overlap is None:
                    cfg.comm_overlap = CommOverlapConfig(tp_comm_overlap=False)
                cfg.comm_overlap.tp_comm_overlap = False
                cfg.comm_overlap.tp_comm_overlap_cfg = None
                cfg.comm_overlap.overlap_grad_reduce = False
                cfg.comm_overlap.overlap_param_gather = False
                cfg.mixed_precision = get_mixed_precision_config('bf16_mixed')
                cfg.mixed_precision.grad_reduce_in_fp32 = True
                return cfg

            """)
    }

    @Test("ZeRO-3 is Megatron-FSDP with its sharding strategy, checkpoint format and no accumulation fusion, launched without one work queue")
    func megatronFSDP() throws {
        let export = try Self.export(MegatronConfiguration(tensorParallel: 2, pipelineParallel: 1, sequenceParallel: true,
                                                           options: TrainingOptions(zeroStage: 3)))
        for line in ["cfg.dist.use_megatron_fsdp = True", "cfg.ddp.use_megatron_fsdp = True",
                     "cfg.ddp.data_parallel_sharding_strategy = 'optim_grads_params'", "cfg.model.gradient_accumulation_fusion = False",
                     "cfg.checkpoint.ckpt_format = 'fsdp_dtensor'", "cfg.ddp.use_distributed_optimizer = True"] {
            #expect(export.text.contains("    \(line)\n"), "\(line)")
        }
        #expect(export.text.contains("#     torchrun --nnodes=1 --nproc-per-node=8 pretrain.py\n"))
        #expect(export.text.contains("# Megatron-FSDP refuses CUDA_DEVICE_MAX_CONNECTIONS=1"))
        let zeroTwo = try Self.export(MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1, options: TrainingOptions(zeroStage: 2)))
        #expect(zeroTwo.text.contains("    cfg.ddp.data_parallel_sharding_strategy = 'optim_grads'\n"))
    }

    @Test("FP8 takes the delayed-scaling or the blockwise preset, then the plan's FP8 weights and gradient buffer")
    func precision() throws {
        for (recipe, preset) in [(FP8Recipe.tensorwise, "bf16_with_fp8_delayed_scaling_mixed"), (.blockwise, "bf16_with_fp8_subchannel_scaling_mixed")] {
            for weights in [true, false] {
                let export = try Self.export(MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1, options: TrainingOptions(
                    zeroStage: 1, precision: .fp8, fp8Recipe: recipe, fp8Parameters: weights)))
                #expect(export.text.contains("""
                        cfg.mixed_precision = get_mixed_precision_config('\(preset)')
                        cfg.mixed_precision.grad_reduce_in_fp32 = False
                        cfg.mixed_precision.fp8_param_gather = \(weights ? "True" : "False")
                        return cfg
                    """), "\(export.text)")
                #expect(try MegatronBridgeConfigReader(export.text).layout().fp8)
            }
        }
        // FP8 weights need the distributed optimizer, as in Megatron-LM: ZeRO-0 becomes ZeRO-1, named.
        let unsharded = try Self.export(MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1, options: TrainingOptions(
            zeroStage: 0, precision: .fp8, fp8Parameters: true)))
        #expect(unsharded.text.contains("    cfg.ddp.use_distributed_optimizer = True\n"))
        #expect(unsharded.differences.contains { $0.contains("ZeRO-0 becomes ZeRO-1") }, "\(unsharded.differences)")
    }

    @Test("overlap is pinned on the recipe's CommOverlapConfig: gradient reduction, parameter gathers with the distributed optimizer, tensor-parallel overlap")
    func overlap() throws {
        let export = try Self.export(MegatronConfiguration(tensorParallel: 2, pipelineParallel: 1, sequenceParallel: true, options: TrainingOptions(
            zeroStage: 1, overlapGradientReduction: true, overlapTensorParallelCommunication: true)))
        #expect(export.text.contains("""
                cfg.comm_overlap.tp_comm_overlap = True
                cfg.comm_overlap.tp_comm_overlap_cfg = None
                cfg.comm_overlap.overlap_grad_reduce = True
                cfg.comm_overlap.overlap_param_gather = True

            """))
        // Without the distributed optimizer the overlap config never reaches the DDP config, whose own fields say it.
        for overlap in [true, false] {
            let replicated = try Self.export(MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1, options: TrainingOptions(
                zeroStage: 0, overlapGradientReduction: overlap)))
            let flag = overlap ? "True" : "False"
            #expect(replicated.text.contains("    cfg.ddp.overlap_grad_reduce = \(flag)\n    cfg.ddp.overlap_param_gather = False\n"))
            #expect(replicated.text.contains("    cfg.comm_overlap.overlap_grad_reduce = \(flag)\n    cfg.comm_overlap.overlap_param_gather = False\n"))
        }
    }

    /// The usage comment names the model's own recipe where Megatron-Bridge 0.3.1 has one, else one of its family, else
    /// a placeholder (GPT-3, Mixtral), never Llama 3 70B's for another model.
    @Test("the usage comment names the model's recipe, its family's, or none", arguments: [
        ("llama3-8b", "megatron.bridge.recipes.llama", "llama3_8b_pretrain_config", true),
        // The same model at another shape, as `shardplan models` names it (review).
        ("llama3-8b-seq16384-batch64", "megatron.bridge.recipes.llama", "llama3_8b_pretrain_config", true),
        ("llama3-70b-lora16", "megatron.bridge.recipes.llama", "llama3_70b_pretrain_config", true),
        ("llama3-405b", "megatron.bridge.recipes.llama", "llama31_405b_pretrain_config", true),
        ("llama2-7b", "megatron.bridge.recipes.llama", "llama3_8b_pretrain_config", false),
        ("qwen3-235b-a22b", "megatron.bridge.recipes.qwen", "qwen3_30b_a3b_pretrain_config", false),
        ("gpt-oss-20b", "megatron.bridge.recipes.gpt_oss.gpt_oss", "gpt_oss_20b_pretrain_config", true),
        ("gpt3-175b", nil, nil, false), ("mixtral-8x7b", nil, nil, false), ("gpt-tiny", nil, nil, false),
    ] as [(String, String?, String?, Bool)])
    func recipeName(model: String, module: String?, function: String?, own: Bool) throws {
        let recipe = BridgeRecipe(graphName: model)
        #expect(recipe?.module == module && recipe?.function == function && (recipe?.isModelsOwn ?? false) == own)
    }

    @Test("gpt-tiny's usage comment names no recipe of another model: MODULE and RECIPE, as NeMo's RECIPE")
    func genericRecipe() throws {
        let text = try Self.export(MegatronConfiguration(tensorParallel: 2, pipelineParallel: 1, sequenceParallel: true)).text
        #expect(!text.contains("llama3_70b_pretrain_config()"))
        #expect(text.contains("#     from MODULE import RECIPE\n") && text.contains("#     pretrain(apply_plan(RECIPE()), forward_step)\n"))
    }
}
