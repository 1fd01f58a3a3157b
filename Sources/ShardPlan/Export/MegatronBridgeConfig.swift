/// Megatron-Bridge settings for a layout: a Python function, `apply_plan(cfg)`, that sets the parallel degrees,
/// the pipeline split, recomputation, the distributed optimizer or Megatron-FSDP, overlap, precision and the
/// batch on a recipe's `ConfigContainer` (Megatron-Bridge 0.3), before the training script passes it to
/// `pretrain`. Every field is set, defaults included, because recipes change them (Llama 3 70B's recipe sets tensor
/// parallelism 4 and its own overlap). The model, data, tokenizer and optimizer's hyperparameters stay the
/// recipe's. Sources of every field: Docs/frameworks.md.
public struct MegatronBridgeConfig: Sendable {
    public var layout: ParallelLayout

    public init(_ layout: ParallelLayout) { self.layout = layout }

    /// A field's value as a Python literal.
    enum Value: Equatable {
        case int(Int), bool(Bool), string(String), strings([String]), ints([Int]), none
        /// A name the module imports (`torch.float32`).
        case name(String)

        var python: String {
            switch self {
            case .int(let number): "\(number)"
            case .bool(let flag): flag ? "True" : "False"
            case .string(let text): "'\(text)'"
            case .strings(let names): "[" + names.map { "'\($0)'" }.joined(separator: ", ") + "]"
            case .ints(let numbers): "[" + numbers.map(String.init).joined(separator: ", ") + "]"
            case .none: "None"
            case .name(let name): name
            }
        }
    }

    /// Megatron-Bridge's mixed-precision preset (`get_mixed_precision_config`): bf16, or bf16 with FP8 in the hybrid
    /// format (E4M3 forward, E5M2 backward) and TransformerEngine's recipe (`ParallelLayout.transformerEngineFP8Recipe`).
    var mixedPrecisionPreset: String {
        switch layout.transformerEngineFP8Recipe {
        case nil: "bf16_mixed"
        case "blockwise": "bf16_with_fp8_subchannel_scaling_mixed"
        default: "bf16_with_fp8_delayed_scaling_mixed"
        }
    }

    /// The assignments before the mixed-precision preset, in order: `(path under cfg, value)`.
    var fields: [(path: String, value: Value)] {
        let options = layout.configuration.options
        var fields: [(String, Value)] = [
            ("model.tensor_model_parallel_size", .int(layout.tensorParallel)),
            ("model.pipeline_model_parallel_size", .int(layout.pipelineParallel)),
            ("model.virtual_pipeline_model_parallel_size", layout.virtualStages > 1 ? .int(layout.virtualStages) : .none),
            ("model.context_parallel_size", .int(layout.contextParallel)),
            // Set either way: a recipe may have set another exchange.
            ("model.cp_comm_type", .string(options.contextParallelCommunication.megatronValue)),
            ("model.expert_model_parallel_size", .int(layout.expertParallel)),
            // The experts split over the tensor-parallel ranks, or whole with expert parallelism folded over them, as
            // the plan prices them (Megatron-Core's default where the field is None is the tensor-parallel size; the
            // Qwen3 MoE recipes set it to 1).
            ("model.expert_tensor_parallel_size", .int(layout.expertTensorParallel)),
            ("model.sequence_parallel", .bool(layout.sequenceParallel)),
        ]
        // Megatron-Core's hierarchical context parallelism: the all-to-all group's ranks, then the ring's.
        if let sizes = layout.hierarchicalContextSizes { fields.append(("model.hierarchical_context_parallel_sizes", .ints(sizes))) }
        if layout.expertParallel > 1 {
            // The dispatcher priced, set either way: the Qwen3 MoE recipes turn on the flex dispatcher where they are
            // built on a GPU that runs DeepEP (`apply_flex_dispatcher_backend`).
            fields.append(("model.moe_token_dispatcher_type", .string(options.expertDispatcher.megatronDispatcherType)))
            if let backend = options.expertDispatcher.megatronFlexBackend { fields.append(("model.moe_flex_dispatcher_backend", .string(backend))) }
        }
        // The experts as one grouped GEMM, as priced (`ParallelLayout.hasExperts`).
        if layout.hasExperts { fields.append(("model.moe_grouped_gemm", .bool(true))) }
        if let groups = layout.expertGroups {
            fields += [("model.moe_router_num_groups", .int(groups.count)), ("model.moe_router_group_topk", .int(groups.chosen))]
        }
        if layout.refusesSharedExpertOverlap { fields.append(("model.moe_shared_expert_overlap", .bool(false))) }
        // Set either way: the Llama 3.1 405B recipe counts the embedding and the loss as layers; a recipe's layout
        // string (`pipeline_model_parallel_layout`) would take the place of the split.
        let split = layout.layerSplit ?? MegatronLayerSplit()
        fields += [("model.pipeline_model_parallel_layout", .none),
                   ("model.num_layers_in_first_pipeline_stage", split.firstStageLayers.map(Value.int) ?? .none),
                   ("model.num_layers_in_last_pipeline_stage", split.lastStageLayers.map(Value.int) ?? .none),
                   ("model.account_for_embedding_in_pipeline_split", .bool(split.embeddingInPipelineSplit)),
                   ("model.account_for_loss_in_pipeline_split", .bool(split.lossInPipelineSplit)),
                   // Set either way: the DeepSeek-V3, GLM-4.5 and Qwen3-Next recipes add a multi-token-prediction
                   // module (a block and a second output layer on the last rank), which the graph does not hold.
                   ("model.mtp_num_layers", .none)]
        switch layout.recompute {
        case .none:
            fields += [("model.recompute_granularity", .none), ("model.recompute_method", .none), ("model.recompute_num_layers", .none)]
        // The attention core, Megatron-Core's default submodule under selective granularity, written out because a
        // recipe may have set others.
        case .selective, .elementwise, .selectiveOperators, .mlp, .allButQKV, .normAct:
            fields += [("model.recompute_granularity", .string("selective")), ("model.recompute_method", .none),
                       ("model.recompute_num_layers", .none), ("model.recompute_modules", .strings(layout.recomputeModules ?? ["core_attn"]))]
        // Every block, one at a time; or the first N blocks of each model chunk (the block method).
        case .full:
            let blocks = layout.recomputedBlocksPerChunk
            fields += [("model.recompute_granularity", .string("full")), ("model.recompute_method", .string(blocks == nil ? "uniform" : "block")),
                       ("model.recompute_num_layers", .int(blocks ?? 1))]
        }
        fields.append(("model.cross_entropy_loss_fusion", .bool(options.fusedCrossEntropy)))
        if let sequenceLength = layout.sequenceLength {
            fields += [("model.seq_length", .int(sequenceLength)), ("dataset.seq_length", .int(sequenceLength))]
        }
        fields += [("train.micro_batch_size", .int(layout.microBatchSize)), ("train.global_batch_size", .int(layout.globalBatch))]
        // The distributed optimizer (ZeRO-1) in both configs, which `ConfigContainer.validate` keeps in step; ZeRO-2
        // and ZeRO-3 as Megatron-FSDP, which refuses gradient-accumulation fusion and saves only in its own format.
        let fsdp = layout.zeroStage >= 2
        fields += [("ddp.use_distributed_optimizer", .bool(layout.zeroStage >= 1)),
                   ("optimizer.use_distributed_optimizer", .bool(layout.zeroStage >= 1)),
                   ("dist.use_megatron_fsdp", .bool(fsdp)), ("ddp.use_megatron_fsdp", .bool(fsdp))]
        // Adam's state as priced (fp32 master weights and moments, `OptimizerStatePrecision.fp32`), set either way: the
        // DeepSeek-V3 recipe keeps bf16 moments in its precision-aware optimizer.
        fields.append(("optimizer.use_precision_aware_optimizer", .bool(false)))
        fields += ["main_params_dtype", "main_grads_dtype", "exp_avg_dtype", "exp_avg_sq_dtype"].map { ("optimizer.\($0)", Value.name("torch.float32")) }
        if fsdp {
            fields += [("ddp.data_parallel_sharding_strategy", .string(layout.zeroStage == 2 ? "optim_grads" : "optim_grads_params")),
                       ("model.gradient_accumulation_fusion", .bool(false)), ("checkpoint.ckpt_format", .string("fsdp_dtensor"))]
        }
        // The data-parallel overlap on the DDP config itself: the recipe's `CommOverlapConfig` copies its own onto it
        // only beside the distributed optimizer, and the Llama 3 recipes turn both on here.
        let overlap = overlap
        fields += [("ddp.overlap_grad_reduce", .bool(overlap.gradientReduction)), ("ddp.overlap_param_gather", .bool(overlap.parameterGathers))]
        return fields
    }

    /// What the plan overlaps: the data-parallel gradient reduction, the parameter gathers (beside the distributed
    /// optimizer) and the tensor-parallel collectives.
    var overlap: (gradientReduction: Bool, parameterGathers: Bool, tensorParallel: Bool) {
        let options = layout.configuration.options
        return (options.overlapGradientReduction, options.overlapGradientReduction && layout.zeroStage >= 1,
                options.overlapTensorParallelCommunication && layout.tensorParallel > 1)
    }

    /// The communication overlap, set on the recipe's `CommOverlapConfig` (created where the recipe has none), whose
    /// unset fields would otherwise turn on data-parallel overlap wherever the distributed optimizer runs. Its
    /// tensor-parallel buffers are TransformerEngine's defaults: a recipe's are tuned to its own degrees and shapes.
    var overlapFields: [(name: String, value: Value)] {
        let overlap = overlap
        return [("tp_comm_overlap", .bool(overlap.tensorParallel)), ("tp_comm_overlap_cfg", .none),
                ("overlap_grad_reduce", .bool(overlap.gradientReduction)), ("overlap_param_gather", .bool(overlap.parameterGathers))]
            // The experts' all-to-alls beside another microbatch's compute, where there are experts to overlap.
            + (layout.expertParallel > 1
                ? [("overlap_moe_expert_parallel_comm", .bool(layout.configuration.options.overlapExpertParallelCommunication))] : [])
    }

    /// The fields of the mixed-precision preset that the plan decides: the gradient buffer's type, and with FP8
    /// whether the weights are TransformerEngine's FP8 weights, gathered in FP8 (`fp8_param_gather`, which
    /// Megatron-Bridge keeps equal to `fp8_param`).
    var precisionFields: [(name: String, value: Value)] {
        let options = layout.configuration.options
        return [("grad_reduce_in_fp32", .bool(options.gradientPrecision == .fp32))]
            + (layout.transformerEngineFP8Recipe == nil ? [] : [("fp8_param_gather", .bool(options.fp8Parameters))])
    }

    /// The Python module: a comment block (`header` escaped as `CommentText`) with the launch, the imports and
    /// `apply_plan`, one assignment a line.
    public func text(header: [String]) -> String {
        let launch = layout.launch
        var lines = header.map(CommentText.line)
        if let adapters = layout.bridgeAdapters {
            // A LoRA fine-tune: the recipe's fine-tuning entry point, from the pretrained weights.
            lines += ["# Call apply_plan on your model's fine-tuning recipe, which sets cfg.peft to the graph's \(adapters.className) adapters,",
                      "# and give the pretrained checkpoint, in the script torchrun starts:",
                      "#     from megatron.bridge.recipes.llama import llama3_8b_peft_config  # your model's recipe",
                      "#     from megatron.bridge.training.finetune import finetune",
                      "#     from megatron.bridge.training.gpt_step import forward_step",
                      "#     cfg = apply_plan(llama3_8b_peft_config())",
                      "#     cfg.checkpoint.pretrained_checkpoint = \"/path/to/pretrained/checkpoint\"",
                      "#     finetune(cfg, forward_step)"]
        } else {
            // The model's recipe where Megatron-Bridge has one, else one of its family to swap for its own, else a
            // placeholder, as NeMo's overrides name theirs.
            let recipe = layout.bridgeRecipe
            let function = recipe?.function ?? "RECIPE"
            lines.append("# Call apply_plan on your model's recipe before training, in the script torchrun starts"
                         + (recipe == nil ? " (replace MODULE and RECIPE with your model's recipe: megatron.bridge.recipes.llama and llama3_70b_pretrain_config, ...):" : ":"))
            lines += ["#     from \(recipe?.module ?? "MODULE") import \(function)"
                          + (recipe.map { $0.isModelsOwn ? "  # your model's recipe" : "  # a recipe of your model's family: use your model's own" } ?? ""),
                      "#     from megatron.bridge.training.gpt_step import forward_step",
                      "#     from megatron.bridge.training.pretrain import pretrain",
                      "#     pretrain(apply_plan(\(function)()), forward_step)"]
        }
        lines += ["# and launch it on each node (with torchrun's rendezvous on several nodes):",
                  "#     \(layout.torchrunEnvironment)torchrun --nnodes=\(launch.nodes) --nproc-per-node=\(launch.processesPerNode) \(layout.bridgeAdapters == nil ? "pretrain" : "finetune").py"]
        if let lastNode = launch.torchrunLastNode { lines.append(CommentText.line(lastNode)) }
        if layout.zeroStage >= 2 {
            lines.append("# Megatron-FSDP refuses CUDA_DEVICE_MAX_CONNECTIONS=1: leave that variable unset.")
        }
        lines += ["import torch"]
            + (layout.bridgeAdapters.map { ["from \($0.module) import \($0.className)"] } ?? [])
            + ["from megatron.bridge.training.comm_overlap import CommOverlapConfig",
               "from megatron.bridge.training.mixed_precision import get_mixed_precision_config",
               "", "",
               "def apply_plan(cfg):",
               "    \"\"\"Sets the plan's parallelism, recomputation, ZeRO, overlap, precision and batch on a ConfigContainer"
                   + (layout.bridgeAdapters == nil ? "." : ", and its LoRA adapters.") + "\"\"\""]
        lines += fields.map { "    cfg.\($0.path) = \($0.value.python)" }
        if let adapters = layout.bridgeAdapters { lines.append("    cfg.peft = \(adapters.python)") }
        lines += ["    if cfg.comm_overlap is None:", "        cfg.comm_overlap = CommOverlapConfig(tp_comm_overlap=False)"]
        lines += overlapFields.map { "    cfg.comm_overlap.\($0.name) = \($0.value.python)" }
        lines.append("    cfg.mixed_precision = get_mixed_precision_config(\(Value.string(mixedPrecisionPreset).python))")
        lines += precisionFields.map { "    cfg.mixed_precision.\($0.name) = \($0.value.python)" }
        lines.append("    return cfg")
        return lines.joined(separator: "\n") + "\n"
    }
}
