@testable import ShardPlan

/// Reads `nemo llm pretrain --factory RECIPE key=value ...` back: every override's dotted path must be one
/// Docs/frameworks.md documents (a `MegatronStrategy` argument, a data module field, a Megatron-Core
/// `TransformerConfig` or `OptimizerConfig` field, a `Trainer` argument) and every value a Python literal of
/// the field's type, as NeMo-Run parses it.
struct NeMoOverrideReader {
    /// A value as NeMo-Run parses it: a Python literal (`PythonLiteral.swift`).
    typealias Literal = MegatronBridgeConfig.Value

    /// Megatron-Core's recompute submodules (`TransformerConfig.recompute_modules`) that the emitter may write.
    static let recomputeModules: Set<String> = ["core_attn", "moe_act", "layernorm", "mla_up_proj", "mlp", "moe", "shared_experts"]

    /// The documented paths and the literal kinds each accepts.
    static let fields: [String: @Sendable (Literal) -> Bool] = {
        let positive: @Sendable (Literal) -> Bool = { if case .int(let n) = $0 { n >= 1 } else { false } }
        let optionalPositive: @Sendable (Literal) -> Bool = { $0 == .none || positive($0) }
        let bool: @Sendable (Literal) -> Bool = { if case .bool = $0 { true } else { false } }
        func optionalString(_ allowed: [String]) -> @Sendable (Literal) -> Bool {
            { if case .string(let s) = $0 { allowed.contains(s) } else { $0 == .none } }
        }
        return [
            "trainer.num_nodes": positive, "trainer.devices": positive,
            "trainer.strategy.tensor_model_parallel_size": positive, "trainer.strategy.pipeline_model_parallel_size": positive,
            "trainer.strategy.virtual_pipeline_model_parallel_size": optionalPositive,
            "trainer.strategy.context_parallel_size": positive, "trainer.strategy.expert_model_parallel_size": positive,
            "trainer.strategy.expert_tensor_parallel_size": positive,
            "trainer.strategy.sequence_parallel": bool,
            "model.config.cp_comm_type": optionalString(["p2p", "all_gather", "a2a", "a2a+p2p"]),
            "model.config.overlap_moe_expert_parallel_comm": bool,
            "model.config.moe_shared_expert_overlap": bool,
            "model.config.moe_token_dispatcher_type": optionalString(["allgather", "alltoall", "flex"]),
            "model.config.moe_grouped_gemm": bool,
            "model.config.moe_router_num_groups": positive, "model.config.moe_router_group_topk": positive,
            "model.config.moe_flex_dispatcher_backend": optionalString(["deepep", "hybridep"]),
            "data.micro_batch_size": positive, "data.global_batch_size": positive, "data.seq_length": positive,
            "model.config.seq_length": positive,
            "model.config.num_layers_in_first_pipeline_stage": optionalPositive,
            "model.config.num_layers_in_last_pipeline_stage": optionalPositive,
            "model.config.account_for_embedding_in_pipeline_split": bool, "model.config.account_for_loss_in_pipeline_split": bool,
            "model.config.recompute_granularity": optionalString(["full", "selective"]),
            "model.config.recompute_method": optionalString(["uniform", "block"]),
            "model.config.recompute_num_layers": optionalPositive, "model.config.cross_entropy_loss_fusion": bool,
            "model.config.recompute_modules": { if case .strings(let names) = $0 { !names.isEmpty && Set(names).isSubset(of: recomputeModules) } else { false } },
            "optim.config.use_distributed_optimizer": bool, "trainer.plugins.grad_reduce_in_fp32": bool,
            "trainer.plugins.fp8": optionalString(["hybrid", "e4m3"]),
            "trainer.plugins.fp8_recipe": optionalString(["tensorwise", "delayed", "mxfp8", "blockwise"]),
            "trainer.plugins.fp8_params": bool,
        ]
    }()

    var overrides: [String: Literal] = [:]

    init(_ text: String) throws {
        let lines = text.split(separator: "\n").filter { !$0.hasPrefix("#") }
            .map { ($0.hasSuffix("\\") ? String($0.dropLast()) : String($0)).trimmingCharacters(in: .whitespaces) }
        guard lines.first == "nemo llm pretrain --factory RECIPE" else { throw ReadBackError("the command is not nemo llm pretrain") }
        for line in lines.dropFirst() {
            // One shell word: double-quoted whole, or without spaces and brackets (which the shell would split or glob).
            var word = line
            if word.count >= 2 && word.hasPrefix("\"") && word.hasSuffix("\"") {
                word = String(word.dropFirst().dropLast())
            } else if word.contains(" ") || word.contains("[") {
                throw ReadBackError("\(line) is not one shell word")
            }
            let parts = word.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw ReadBackError("\(line) is not key=value") }
            let value = try Literal(python: parts[1])
            guard let accepts = Self.fields[parts[0]] else { throw ReadBackError("\(parts[0]) is not a documented NeMo 2.0 recipe field") }
            guard accepts(value) else { throw ReadBackError("\(parts[0]) does not take \(parts[1])") }
            guard overrides.updateValue(value, forKey: parts[0]) == nil else { throw ReadBackError("\(parts[0]) is set twice") }
        }
    }

    func int(_ key: String) -> Int? { if case .int(let n) = overrides[key] { n } else { nil } }

    /// The layout, derived as NeMo derives it: data parallelism fills the trainer's devices. Megatron-Core refuses
    /// the embedding or the loss counted as a layer beside first or last stage layers.
    func layout() throws -> ReadBackLayout {
        let layerSplit = MegatronLayerSplit(
            firstStageLayers: int("model.config.num_layers_in_first_pipeline_stage"),
            lastStageLayers: int("model.config.num_layers_in_last_pipeline_stage"),
            embeddingInPipelineSplit: overrides["model.config.account_for_embedding_in_pipeline_split"] == .bool(true),
            lossInPipelineSplit: overrides["model.config.account_for_loss_in_pipeline_split"] == .bool(true))
        if layerSplit.countedLayersText != nil && (layerSplit.firstStageLayers != nil || layerSplit.lastStageLayers != nil) {
            throw ReadBackError("the embedding or the loss counted as a layer beside first or last stage layers: Megatron-Core refuses it")
        }
        let tp = int("trainer.strategy.tensor_model_parallel_size") ?? 1, pp = int("trainer.strategy.pipeline_model_parallel_size") ?? 1
        let cp = int("trainer.strategy.context_parallel_size") ?? 1
        let world = (int("trainer.num_nodes") ?? 1) * (int("trainer.devices") ?? 1)
        guard world % (tp * pp * cp) == 0 else { throw ReadBackError("\(world) devices do not divide into tp x pp x cp") }
        let recompute: RecomputeMode
        var recomputedBlocks: Int?
        switch overrides["model.config.recompute_granularity"] {
        case .string("selective"):
            var modules: [String]?
            if case .strings(let names) = overrides["model.config.recompute_modules"] { modules = names }
            recompute = try ReadBackLayout.selectiveRecompute(
                modules: modules, delayedFP8: overrides["trainer.plugins.fp8_recipe"] == .string("delayed"))
        case .string("full"):
            var method: String?
            if case .string(let name) = overrides["model.config.recompute_method"] { method = name }
            recompute = .full
            recomputedBlocks = try ReadBackLayout.fullRecomputedBlocks(method: method, layers: int("model.config.recompute_num_layers"))
        default: recompute = .none
        }
        let ep = int("trainer.strategy.expert_model_parallel_size") ?? 1
        var layout = ReadBackLayout(tensorParallel: tp, pipelineParallel: pp, dataParallel: world / (tp * pp * cp), contextParallel: cp,
                                    expertParallel: ep,
                                    expertTensorParallel: int("trainer.strategy.expert_tensor_parallel_size"),
                                    virtualStages: int("trainer.strategy.virtual_pipeline_model_parallel_size") ?? 1,
                                    microBatchSize: int("data.micro_batch_size") ?? 1, recompute: recompute, recomputedBlocks: recomputedBlocks,
                                    fp8: overrides["trainer.plugins.fp8", default: .none] != .none, layerSplit: layerSplit)
        func string(_ key: String) -> String? { if case .string(let value) = overrides[key] { value } else { nil } }
        layout.expertDispatcher = try ReadBackLayout.megatronDispatcher(
            type: string("model.config.moe_token_dispatcher_type"), backend: string("model.config.moe_flex_dispatcher_backend"), expertParallel: ep)
        return layout
    }
}
