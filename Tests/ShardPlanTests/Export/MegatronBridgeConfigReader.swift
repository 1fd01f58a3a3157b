@testable import ShardPlan

/// Reads Megatron-Bridge's `apply_plan(cfg)` back: the launch comment's `torchrun`, and every statement of the
/// function, each one of the few forms the emitter writes. Every assigned path must be one Docs/frameworks.md
/// documents (a `ConfigContainer` field of Megatron-Bridge 0.3) and every value a Python literal of its type; the
/// checks `ConfigContainer.validate` and Megatron-Core's configs make of those fields are made here too.
struct MegatronBridgeConfigReader {
    typealias Value = MegatronBridgeConfig.Value

    /// The documented paths under `cfg` and the literals each accepts.
    static let fields: [String: @Sendable (Value) -> Bool] = {
        let positive: @Sendable (Value) -> Bool = { if case .int(let n) = $0 { n >= 1 } else { false } }
        let optionalPositive: @Sendable (Value) -> Bool = { $0 == .none || positive($0) }
        let bool: @Sendable (Value) -> Bool = { if case .bool = $0 { true } else { false } }
        let dtype: @Sendable (Value) -> Bool = { if case .name = $0 { true } else { false } }
        func string(_ allowed: [String], optional: Bool = false) -> @Sendable (Value) -> Bool {
            { if case .string(let s) = $0 { allowed.contains(s) } else { optional && $0 == .none } }
        }
        let modules: @Sendable (Value) -> Bool = {
            if case .strings(let names) = $0 { !names.isEmpty && Set(names).isSubset(of: NeMoOverrideReader.recomputeModules) } else { false }
        }
        return [
            "model.tensor_model_parallel_size": positive, "model.pipeline_model_parallel_size": positive,
            "model.virtual_pipeline_model_parallel_size": optionalPositive, "model.context_parallel_size": positive,
            "model.expert_model_parallel_size": positive, "model.expert_tensor_parallel_size": positive, "model.sequence_parallel": bool,
            "model.cp_comm_type": string(["p2p", "all_gather", "a2a", "a2a+p2p"]),
            "model.hierarchical_context_parallel_sizes": { if case .ints(let sizes) = $0 { sizes.count == 2 && sizes.allSatisfy { $0 >= 1 } } else { false } },
            "model.moe_shared_expert_overlap": bool,
            "model.moe_token_dispatcher_type": string(["allgather", "alltoall", "flex"]),
            "model.moe_grouped_gemm": bool,
            "model.moe_router_num_groups": positive, "model.moe_router_group_topk": positive,
            "model.moe_flex_dispatcher_backend": string(["deepep", "hybridep"]),
            "model.pipeline_model_parallel_layout": { $0 == .none },
            "model.num_layers_in_first_pipeline_stage": optionalPositive, "model.num_layers_in_last_pipeline_stage": optionalPositive,
            "model.account_for_embedding_in_pipeline_split": bool, "model.account_for_loss_in_pipeline_split": bool,
            "model.recompute_granularity": string(["full", "selective"], optional: true),
            "model.recompute_method": string(["uniform", "block"], optional: true),
            "model.recompute_num_layers": optionalPositive, "model.recompute_modules": modules,
            "model.cross_entropy_loss_fusion": bool, "model.seq_length": positive, "dataset.seq_length": positive,
            "train.micro_batch_size": positive, "train.global_batch_size": positive,
            "ddp.use_distributed_optimizer": bool, "optimizer.use_distributed_optimizer": bool,
            "optimizer.use_precision_aware_optimizer": bool, "optimizer.main_params_dtype": dtype, "optimizer.main_grads_dtype": dtype,
            "optimizer.exp_avg_dtype": dtype, "optimizer.exp_avg_sq_dtype": dtype, "model.mtp_num_layers": { $0 == .none },
            "dist.use_megatron_fsdp": bool, "ddp.use_megatron_fsdp": bool,
            "ddp.data_parallel_sharding_strategy": string(["no_shard", "optim", "optim_grads", "optim_grads_params"]),
            "model.gradient_accumulation_fusion": bool, "checkpoint.ckpt_format": string(["torch_dist", "fsdp_dtensor"]),
            "comm_overlap.tp_comm_overlap": bool, "comm_overlap.tp_comm_overlap_cfg": { $0 == .none },
            "comm_overlap.overlap_grad_reduce": bool, "comm_overlap.overlap_param_gather": bool,
            "comm_overlap.overlap_moe_expert_parallel_comm": bool,
            "ddp.overlap_grad_reduce": bool, "ddp.overlap_param_gather": bool,
            "mixed_precision": string(["bf16_mixed", "bf16_with_fp8_delayed_scaling_mixed", "bf16_with_fp8_current_scaling_mixed",
                                       "bf16_with_fp8_subchannel_scaling_mixed", "bf16_with_mxfp8_mixed"]),
            "mixed_precision.grad_reduce_in_fp32": bool, "mixed_precision.fp8_param_gather": bool,
        ]
    }()

    var values: [String: Value] = [:]
    var nodes = 1
    var processesPerNode = 1
    /// Environment variables set before `torchrun` in the launch comment.
    var environment: [String: String] = [:]

    init(_ text: String) throws {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        // The launch, in the comment line after the one that introduces it:
        // `#     [NAME=value ...] torchrun --nnodes=N --nproc-per-node=P pretrain.py`.
        guard let introduction = lines.firstIndex(of: "# and launch it on each node (with torchrun's rendezvous on several nodes):"),
              introduction + 1 < lines.count, lines[introduction + 1].hasPrefix("#     ") else {
            throw ReadBackError("no torchrun command in the comments")
        }
        var words = lines[introduction + 1].dropFirst().split(separator: " ").map(String.init)[...]
        while let word = words.first, word != "torchrun", let equals = word.firstIndex(of: "=") {
            words.removeFirst()
            environment[String(word[..<equals])] = String(word[word.index(after: equals)...])
        }
        guard words.popFirst() == "torchrun" else { throw ReadBackError("the launch does not start with torchrun") }
        guard words.popLast() == "pretrain.py" else { throw ReadBackError("torchrun does not run the training script") }
        for word in words {
            let parts = word.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, let value = Int(parts[1]) else { throw ReadBackError("torchrun option \(word) has no number") }
            switch parts[0] {
            case "--nnodes": nodes = value
            case "--nproc-per-node": processesPerNode = value
            default: throw ReadBackError("unknown torchrun option \(parts[0])")
            }
        }
        var code = lines.filter { !$0.hasPrefix("#") }[...]
        let preamble = ["import torch", "from megatron.bridge.training.comm_overlap import CommOverlapConfig",
                        "from megatron.bridge.training.mixed_precision import get_mixed_precision_config", "", "",
                        "def apply_plan(cfg):"]
        guard Array(code.prefix(preamble.count)) == preamble else { throw ReadBackError("the module does not start with the imports and apply_plan") }
        code = code.dropFirst(preamble.count)
        guard code.popFirst()?.hasPrefix("    \"\"\"") == true, code.popLast() == "", code.popLast() == "    return cfg" else {
            throw ReadBackError("apply_plan has no docstring or does not return cfg")
        }
        var createsOverlap = false
        while let line = code.popFirst() {
            if line == "    if cfg.comm_overlap is None:" {
                guard code.popFirst() == "        cfg.comm_overlap = CommOverlapConfig(tp_comm_overlap=False)" else {
                    throw ReadBackError("the overlap config is created otherwise")
                }
                createsOverlap = true
                continue
            }
            guard line.hasPrefix("    cfg."), let equals = line.range(of: " = ") else { throw ReadBackError("\(line) is not an assignment") }
            let path = String(line[line.index(line.startIndex, offsetBy: 8) ..< equals.lowerBound])
            var literal = String(line[equals.upperBound...])
            if path == "mixed_precision" {
                guard literal.hasPrefix("get_mixed_precision_config("), literal.hasSuffix(")") else { throw ReadBackError("\(line) names no preset") }
                literal = String(literal.dropFirst("get_mixed_precision_config(".count).dropLast())
            } else if path.hasPrefix("mixed_precision.") && values["mixed_precision"] == nil {
                throw ReadBackError("\(path) is set before the preset, which replaces it")
            }
            if path.hasPrefix("comm_overlap.") && !createsOverlap { throw ReadBackError("\(path) is set where the recipe may have no overlap config") }
            let value = try Value(python: literal)
            guard let accepts = Self.fields[path] else { throw ReadBackError("\(path) is not a documented Megatron-Bridge field") }
            guard accepts(value) else { throw ReadBackError("\(path) does not take \(literal)") }
            guard values.updateValue(value, forKey: path) == nil else { throw ReadBackError("\(path) is set twice") }
        }
    }

    func int(_ path: String) -> Int? { if case .int(let n) = values[path] { n } else { nil } }
    func flag(_ path: String) -> Bool { values[path] == .bool(true) }

    /// The layout, derived as Megatron-Bridge derives it (`ConfigContainer.set_data_parallel_size`: data parallelism
    /// fills the world torchrun starts), after the checks `ConfigContainer.validate` and Megatron-Core's configs make.
    func layout() throws -> ReadBackLayout {
        let tp = int("model.tensor_model_parallel_size") ?? 1, pp = int("model.pipeline_model_parallel_size") ?? 1
        let cp = int("model.context_parallel_size") ?? 1
        if flag("model.sequence_parallel") && tp == 1 { throw ReadBackError("sequence parallelism without tensor parallelism: ModelParallelConfig refuses it") }
        if values["model.seq_length"] != values["dataset.seq_length"] { throw ReadBackError("the model's and the dataset's sequence lengths differ") }
        let fsdp = flag("ddp.use_megatron_fsdp")
        if fsdp != flag("dist.use_megatron_fsdp") { throw ReadBackError("Megatron-FSDP set in one of ddp and dist only") }
        if fsdp && (values["checkpoint.ckpt_format"] != .string("fsdp_dtensor") || values["ddp.data_parallel_sharding_strategy"] == nil) {
            throw ReadBackError("Megatron-FSDP without its checkpoint format or sharding strategy")
        }
        if flag("ddp.use_distributed_optimizer") != flag("optimizer.use_distributed_optimizer") {
            throw ReadBackError("the distributed optimizer set in one of ddp and optimizer only")
        }
        if flag("comm_overlap.overlap_param_gather") && !flag("ddp.use_distributed_optimizer") {
            throw ReadBackError("parameter gathers overlapped without the distributed optimizer")
        }
        // The overlap config reaches the DDP config only beside the distributed optimizer: the two must agree.
        for name in ["overlap_grad_reduce", "overlap_param_gather"] where values["ddp." + name] != values["comm_overlap." + name] {
            throw ReadBackError("ddp.\(name) and comm_overlap.\(name) differ")
        }
        if let experts = int("model.expert_tensor_parallel_size"), experts != tp && experts != 1 {
            throw ReadBackError("expert tensor parallelism \(experts) is neither 1 nor the tensor-parallel degree \(tp)")
        }
        let connections = environment["CUDA_DEVICE_MAX_CONNECTIONS"]
        if fsdp {
            guard connections != "1" else { throw ReadBackError("Megatron-FSDP with CUDA_DEVICE_MAX_CONNECTIONS=1") }
        } else if tp > 1 || cp > 1, connections != "1" {
            throw ReadBackError("tensor or context parallelism without CUDA_DEVICE_MAX_CONNECTIONS=1")
        }
        let world = nodes * processesPerNode
        guard world % (tp * pp * cp) == 0 else { throw ReadBackError("\(world) processes do not divide into tp x pp x cp = \(tp * pp * cp)") }
        let virtualStages = int("model.virtual_pipeline_model_parallel_size") ?? 1
        let layerSplit = MegatronLayerSplit(
            firstStageLayers: int("model.num_layers_in_first_pipeline_stage"), lastStageLayers: int("model.num_layers_in_last_pipeline_stage"),
            embeddingInPipelineSplit: flag("model.account_for_embedding_in_pipeline_split"),
            lossInPipelineSplit: flag("model.account_for_loss_in_pipeline_split"))
        let preset: String
        if case .string(let name) = values["mixed_precision"] { preset = name } else { throw ReadBackError("no mixed-precision preset") }
        let recompute: RecomputeMode
        var recomputedBlocks: Int?
        switch values["model.recompute_granularity"] {
        case .string("selective"):
            var modules: [String]?
            if case .strings(let names) = values["model.recompute_modules"], names != ["core_attn"] { modules = names }
            recompute = try ReadBackLayout.selectiveRecompute(modules: modules, delayedFP8: preset == "bf16_with_fp8_delayed_scaling_mixed")
        case .string("full"):
            var method: String?
            if case .string(let name) = values["model.recompute_method"] { method = name }
            recompute = .full
            recomputedBlocks = try ReadBackLayout.fullRecomputedBlocks(method: method, layers: int("model.recompute_num_layers"))
        default: recompute = .none
        }
        let ep = int("model.expert_model_parallel_size") ?? 1
        var layout = ReadBackLayout(tensorParallel: tp, pipelineParallel: pp, dataParallel: world / (tp * pp * cp), contextParallel: cp,
                                    expertParallel: ep,
                                    expertTensorParallel: int("model.expert_tensor_parallel_size"), virtualStages: virtualStages,
                                    microBatchSize: int("train.micro_batch_size") ?? 1, recompute: recompute, recomputedBlocks: recomputedBlocks,
                                    fp8: preset != "bf16_mixed", layerSplit: layerSplit)
        func string(_ key: String) -> String? { if case .string(let value) = values[key] { value } else { nil } }
        // The flex dispatcher refuses the shared experts' overlap (Megatron-Core's TransformerConfig).
        if values["model.moe_token_dispatcher_type"] == .string("flex") && values["model.moe_shared_expert_overlap"] != .bool(false) {
            throw ReadBackError("the flex dispatcher without moe_shared_expert_overlap = False")
        }
        layout.expertDispatcher = try ReadBackLayout.megatronDispatcher(
            type: string("model.moe_token_dispatcher_type"), backend: string("model.moe_flex_dispatcher_backend"), expertParallel: ep)
        return layout
    }
}
