@testable import ShardPlan

/// Reads a torchtitan job config back: every section and key must be a field of torchtitan 0.2.2's
/// `JobConfig` dataclasses (`torchtitan/config/job_config.py`, listed in Docs/frameworks.md) with a value of
/// the field's type, as torchtitan's `ConfigManager` would insist. (`Examples/frameworks/check_torchtitan.py`
/// runs torchtitan's own `ConfigManager` on the same files.)
struct TorchTitanJobConfigReader {
    typealias Value = TOMLSubsetReader.Value

    static func isPositive(_ value: Value) -> Bool { if case .integer(let n) = value { n >= 1 } else { false } }
    static func isBoolean(_ value: Value) -> Bool { if case .boolean = value { true } else { false } }
    static func isOne(of names: [String]) -> @Sendable (Value) -> Bool { { if case .string(let s) = $0 { names.contains(s) } else { false } } }

    /// The documented fields the emitter may write, by section, with the values each accepts.
    static let fields: [String: [String: @Sendable (Value) -> Bool]] = [
        "training": ["local_batch_size": isPositive, "global_batch_size": isPositive, "seq_len": isPositive],
        "parallelism": [
            "data_parallel_replicate_degree": isPositive, "data_parallel_shard_degree": isPositive,
            "fsdp_reshard_after_forward": isOne(of: ["default", "always", "never"]),
            "tensor_parallel_degree": isPositive, "enable_async_tensor_parallel": isBoolean, "disable_loss_parallel": isBoolean,
            "context_parallel_degree": isPositive, "context_parallel_rotate_method": isOne(of: ["allgather", "alltoall"]),
            "expert_parallel_degree": isPositive, "expert_tensor_parallel_degree": isPositive,
            "expert_parallel_comm_backend": isOne(of: ["standard", "deepep"]),
            "pipeline_parallel_degree": isPositive, "pipeline_parallel_microbatch_size": isPositive,
            // torch.distributed.pipelining's schedule names (get_schedule_class).
            "pipeline_parallel_schedule": isOne(of: ["1F1B", "GPipe", "Interleaved1F1B"]),
            "module_fqns_per_model_part": { value in
                guard case .array(let parts) = value else { return false }
                return parts.allSatisfy { part in
                    guard case .array(let names) = part, !names.isEmpty else { return false }
                    return names.allSatisfy { if case .string = $0 { true } else { false } }
                }
            },
        ],
        // `selective_ac_option`: op-level checkpointing, or a block count K (every K-th block checkpointed).
        "activation_checkpoint": ["mode": isOne(of: ["none", "selective", "full"]), "selective_ac_option": { value in
            guard case .string(let option) = value else { return false }
            return option == "op" || (option.allSatisfy(\.isASCII) && Int(option).map { $0 >= 1 } ?? false)
        }],
        "compile": ["enable": isBoolean, "components": { value in
            guard case .array(let names) = value, !names.isEmpty else { return false }
            return names.allSatisfy { ["model", "loss"].contains($0.stringValue ?? "") }
        }],
        "model": ["converters": { value in
            guard case .array(let names) = value else { return false }
            // torchtitan's registered model converters (components/quantization).
            return names.allSatisfy { ["quantize.linear.float8", "quantize.linear.mx"].contains($0.stringValue ?? "") }
        }],
        "quantize.linear.float8": ["recipe_name": isOne(of: ["tensorwise", "rowwise", "rowwise_with_gw_hp"]),
                                   "enable_fsdp_float8_all_gather": isBoolean, "precompute_float8_dynamic_scale_for_fsdp": isBoolean],
    ]

    var toml: TOMLSubsetReader

    init(_ text: String) throws {
        toml = try TOMLSubsetReader(text)
        for (section, keys) in toml.tables {
            if section.isEmpty {
                guard keys.isEmpty else { throw ReadBackError("keys outside a section: \(keys.keys.sorted())") }
                continue
            }
            guard let known = Self.fields[section] else { throw ReadBackError("[\(section)] is not a documented torchtitan section") }
            for (key, value) in keys {
                guard let accepts = known[key] else { throw ReadBackError("\(section).\(key) is not a documented torchtitan field") }
                guard accepts(value) else { throw ReadBackError("\(section).\(key) does not take \(value)") }
            }
        }
    }

    func int(_ section: String, _ key: String) -> Int? {
        if case .integer(let n) = toml.tables[section]?[key] { n } else { nil }
    }

    /// Layer-level checkpointing of every `interval`-th block (torchtitan's `_apply_layer_sac`, counting a rank's blocks)
    /// as the blocks of each chunk of `chunkLayers` blocks that rerun: as many in every chunk only where each holds a
    /// multiple of the interval, and the emitter writes `mode = "full"` for every block.
    static func recomputedBlocks(every interval: Int, chunkLayers: [Int]?) throws -> Int {
        guard let chunkLayers else { throw ReadBackError("selective_ac_option = \"\(interval)\" without the model's layers: the blocks it reruns are unknown") }
        guard interval >= 2 else { throw ReadBackError("selective_ac_option = \"\(interval)\" checkpoints every block: the emitter writes mode = \"full\"") }
        guard Set(chunkLayers).count == 1, chunkLayers[0] % interval == 0 else {
            throw ReadBackError("every \(interval)th block of chunks of \(chunkLayers) blocks reruns unevenly: not a number of blocks a stage")
        }
        return chunkLayers[0] / interval
    }

    /// The model parts of the pipeline, in order.
    var modelParts: [[String]] {
        guard case .array(let parts) = toml.tables["parallelism"]?["module_fqns_per_model_part"] else { return [] }
        return parts.map { part in
            guard case .array(let names) = part else { return [] }
            return names.compactMap { if case .string(let s) = $0 { s } else { nil } }
        }
    }

    /// The layout, derived as torchtitan derives it: model parts per rank are the chunks, and the blocks they list
    /// read back as the split Megatron-Core would be told (`MegatronLayerSplit(chunkLayers:ranks:)`, the embedding
    /// in the first part and the head in the last); with a pipeline the microbatch size is the pipeline's, without
    /// one the local batch (gradient accumulation runs the rest).
    /// `layers` is the model's transformer blocks, which a job config without a pipeline does not name (the model's
    /// flavor is the user's): layer-level checkpointing reads back as the blocks of each chunk that rerun only with it.
    func layout(layers: Int? = nil) throws -> ReadBackLayout {
        let pp = int("parallelism", "pipeline_parallel_degree") ?? 1
        let dp = (int("parallelism", "data_parallel_replicate_degree") ?? 1) * (int("parallelism", "data_parallel_shard_degree") ?? 1)
        let local = int("training", "local_batch_size") ?? 8, global = int("training", "global_batch_size") ?? local * dp
        guard global % (local * dp) == 0 else { throw ReadBackError("the global batch is not a multiple of local batch x dp") }
        var virtualStages = 1, microBatchSize = local
        var layerSplit = MegatronLayerSplit()
        if pp > 1 {
            guard modelParts.count % pp == 0 else { throw ReadBackError("\(modelParts.count) model parts do not divide among \(pp) ranks") }
            virtualStages = modelParts.count / pp
            microBatchSize = int("parallelism", "pipeline_parallel_microbatch_size") ?? 1
            guard local % microBatchSize == 0 else { throw ReadBackError("the local batch does not split into microbatches") }
            guard modelParts.first?.first == "tok_embeddings", modelParts.last?.suffix(2) == ["norm", "output"] else {
                throw ReadBackError("the embedding does not start the first model part or the head does not end the last")
            }
            layerSplit = MegatronLayerSplit(chunkLayers: modelParts.map { $0.count { $0.hasPrefix("layers.") } }, ranks: pp) ?? MegatronLayerSplit()
        }
        // torchtitan's ParallelDims: experts are cut from the FSDP ranks (dp_shard x cp) and tp, with expert tensor
        // parallelism 1 or tp, and what is left of them shards the experts (efsdp = dp_shard x cp x tp / (etp x ep)).
        let (tp, cp, ep) = (int("parallelism", "tensor_parallel_degree") ?? 1, int("parallelism", "context_parallel_degree") ?? 1,
                            int("parallelism", "expert_parallel_degree") ?? 1)
        // parallelize_llama: without FSDP (dp_shard x cp = 1), DDP runs only where its replicas are the whole world.
        let (replicate, shard) = (int("parallelism", "data_parallel_replicate_degree") ?? 1, int("parallelism", "data_parallel_shard_degree") ?? 1)
        if replicate > 1 && shard * cp == 1 && tp * pp > 1 {
            throw ReadBackError("DDP over \(replicate) replicas beside tp = \(tp), pp = \(pp): torchtitan refuses DDP with other parallelism")
        }
        // apply_fsdp's "default" reshards after forward only without a pipeline: ZeRO-2 or ZeRO-3 by the pipeline, not the plan.
        if shard * cp > 1 && toml.tables["parallelism"]?["fsdp_reshard_after_forward"] == nil {
            throw ReadBackError("FSDP over dp_shard x cp = \(shard * cp) without fsdp_reshard_after_forward: torchtitan's default picks ZeRO-2 or 3 by the pipeline")
        }
        if ep > 1 {
            let etp = int("parallelism", "expert_tensor_parallel_degree") ?? 1
            let fsdp = (int("parallelism", "data_parallel_shard_degree") ?? 1) * cp
            guard etp == 1 || etp == tp else { throw ReadBackError("expert tensor parallelism \(etp) is neither 1 nor tp = \(tp)") }
            guard fsdp * tp % (etp * ep) == 0 else {
                throw ReadBackError("expert parallelism \(ep) x etp \(etp) does not divide dp_shard x cp x tp = \(fsdp * tp)")
            }
        }
        // torchtitan's float8 converter asserts that the FP8 all-gather is not combined with a named recipe.
        if let float8 = toml.tables["quantize.linear.float8"], float8["recipe_name"] != nil,
           float8["enable_fsdp_float8_all_gather"] == .boolean(true) {
            throw ReadBackError("enable_fsdp_float8_all_gather with a recipe_name: torchtitan's float8 converter refuses it")
        }
        let recompute: RecomputeMode
        var recomputedBlocks: Int?
        switch toml.tables["activation_checkpoint"]?["mode"] {
        case .string("full"): recompute = .full
        case .string("selective"):
            guard case .string(let option) = toml.tables["activation_checkpoint"]?["selective_ac_option"] else {
                throw ReadBackError("selective checkpointing without selective_ac_option (torchtitan's default checkpoints every second layer)")
            }
            if option == "op" {
                recompute = .selective
            } else {
                recompute = .full
                recomputedBlocks = try Self.recomputedBlocks(every: Int(option)!, chunkLayers: pp > 1 ? modelParts.map { $0.count { $0.hasPrefix("layers.") } } : layers.map { [$0] })
            }
        case .string("none"): recompute = .none
        default: throw ReadBackError("activation_checkpoint.mode is missing (torchtitan's default recomputes every second layer)")
        }
        var layout = ReadBackLayout(tensorParallel: tp, pipelineParallel: pp, dataParallel: dp, contextParallel: cp,
                                    expertParallel: ep, expertTensorParallel: int("parallelism", "expert_tensor_parallel_degree") ?? 1,
                                    virtualStages: virtualStages,
                                    microBatchSize: microBatchSize, recompute: recompute, recomputedBlocks: recomputedBlocks,
                                    fp8: toml.tables["model"]?["converters"] == .array([.string("quantize.linear.float8")]),
                                    layerSplit: layerSplit)
        // torchtitan 0.2.2's DeepEP refuses expert tensor parallelism (etp > 1).
        if toml.tables["parallelism"]?["expert_parallel_comm_backend"] == .string("deepep") {
            guard ep > 1, (int("parallelism", "expert_tensor_parallel_degree") ?? 1) == 1 else {
                throw ReadBackError("DeepEP without expert parallelism or beside expert tensor parallelism: torchtitan refuses it")
            }
            layout.expertDispatcher = .deepEP
        }
        // torchtitan's loss parallelism applies only under tensor parallelism.
        layout.vocabularyParallelLoss = tp == 1 || toml.tables["parallelism"]?["disable_loss_parallel"] != .boolean(true)
        return layout
    }
}
