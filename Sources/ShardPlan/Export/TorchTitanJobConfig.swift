/// A torchtitan 0.2 job config (TOML) for a layout: the `[training]` batch and sequence, the
/// `[parallelism]` degrees, schedule, microbatch size and the modules of every pipeline chunk, and the
/// `[activation_checkpoint]` mode. Data parallelism is DDP (`data_parallel_replicate_degree`) without ZeRO
/// and FSDP (`data_parallel_shard_degree`) with it; with ZeRO-3 shard groups, FSDP over the group's degree and
/// replicas of the groups (HSDP). FSDP also shards over the context-parallel ranks, and its
/// `fsdp_reshard_after_forward` is written wherever it shards at all. Chunks name the modules of torchtitan's Llama models
/// (`tok_embeddings`, `layers.N`, `norm`, `output`). Sources of every key: Docs/frameworks.md.
public struct TorchTitanJobConfig: Sendable {
    public var layout: ParallelLayout

    public init(_ layout: ParallelLayout) { self.layout = layout }

    /// torchtitan's name for the pipeline schedule (`torch.distributed.pipelining`'s schedule classes).
    var scheduleName: String {
        switch layout.schedule {
        case .gpipe: "GPipe"
        case .oneForwardOneBackward: runs1F1BAsGPipe ? "GPipe" : "1F1B"
        case .interleaved: "Interleaved1F1B"
        }
    }

    /// Whether a 1F1B plan has fewer microbatches than stages, which `Schedule1F1B` refuses at start-up. GPipe
    /// runs it in the same time, `(m + p - 1)` microbatch steps, and with the same peak: the first stage holds
    /// every microbatch's activations under either schedule.
    var runs1F1BAsGPipe: Bool {
        layout.schedule == .oneForwardOneBackward && layout.microbatches < layout.pipelineParallel
    }

    /// The modules of each pipeline chunk, in pipeline order.
    var modulesPerChunk: [[String]] {
        var next = 0
        return layout.chunkLayers.enumerated().map { chunk, count in
            var modules = chunk == 0 ? ["tok_embeddings"] : []
            modules += (next ..< next + count).map { "layers.\($0)" }
            next += count
            if chunk == layout.chunkLayers.count - 1 { modules += ["norm", "output"] }
            return modules
        }
    }

    /// The keys of `[activation_checkpoint]`, with a comment line where the file reruns other blocks than the plan.
    var activationCheckpointLines: [String] {
        switch layout.recompute {
        case .none:
            return ["mode = \"none\""]
        // Op-level selective checkpointing is selective-op itself (`TrainingFramework.expressible` has already turned
        // selective, elementwise and norm-act, which torchtitan does not run, into selective-op).
        case .selective, .elementwise, .selectiveOperators, .normAct:
            return ["mode = \"selective\"", "selective_ac_option = \"op\""]
        // `TrainingFramework.expressible` has already turned both MaxText policies into full recomputation.
        case .mlp, .allButQKV:
            return ["mode = \"full\""]
        case .full:
            guard let blocks = layout.configuration.options.recomputedBlocks else { return ["mode = \"full\""] }
            switch Self.checkpointInterval(recomputedBlocks: blocks, chunkLayers: layout.chunkLayers, blockStructures: layout.blockStructures) {
            case 1:
                return ["mode = \"full\""]
            case let interval?:
                return ["# torchtitan reruns one block in every \(interval) of a rank rather than the first \(blocks) of each stage's \(layout.chunkLayers[0]) blocks: "
                        + "the same work and memory for blocks of one shape",
                        "mode = \"selective\"", "selective_ac_option = \"\(interval)\""]
            case nil:
                // A layout given here directly, which `TrainingFramework.expressible` would have turned into this.
                return [CommentText.line(Self.unexpressedBlocks(recomputedBlocks: blocks, chunkLayers: layout.chunkLayers,
                                                                blockStructures: layout.blockStructures)), "mode = \"full\""]
            }
        }
    }

    /// How torchtitan runs full recomputation of the first `recomputedBlocks` transformer blocks of each model chunk
    /// of `chunkLayers` blocks: 1 where every chunk has no more blocks than that, so all rerun (`mode = "full"`);
    /// K >= 2 where every chunk holds K x `recomputedBlocks` blocks, as layer-level selective checkpointing
    /// (`mode = "selective"`, `selective_ac_option = "K"`), which wraps each block whose count among the rank's blocks
    /// so far is a multiple of K (torchtitan's `_apply_layer_sac`): every chunk then reruns as many blocks of the
    /// same shape as the plan's, at other places in the chunk, which is the same work only where the blocks are of
    /// one structure (`blockStructures` 1); nil where neither holds.
    static func checkpointInterval(recomputedBlocks: Int, chunkLayers: [Int], blockStructures: Int) -> Int? {
        if chunkLayers.allSatisfy({ $0 <= recomputedBlocks }) { return 1 }
        guard blockStructures == 1, Set(chunkLayers).count == 1, chunkLayers[0] % recomputedBlocks == 0 else { return nil }
        return chunkLayers[0] / recomputedBlocks
    }

    /// Why torchtitan reruns every block where the plan reruns the first `recomputedBlocks` of each chunk of
    /// `chunkLayers` blocks of `blockStructures` structures and `checkpointInterval` finds no pattern, as a sentence.
    static func unexpressedBlocks(recomputedBlocks: Int, chunkLayers: [Int], blockStructures: Int) -> String {
        let perChunk = Set(chunkLayers).count == 1 ? "\(chunkLayers[0])" : chunkLayers.map(String.init).joined(separator: "/")
        let why = blockStructures > 1
            ? "the blocks are of \(blockStructures) structures, so one in every K is other work than the first \(recomputedBlocks)"
            : "\(recomputedBlocks) of \(perChunk) blocks a stage is no such pattern"
        return "torchtitan reruns one block in every K of a rank (selective_ac_option = \"K\"), not the first blocks of each stage: "
            + "\(why), so every block reruns"
    }

    /// The TOML document: a comment block (`header` escaped as `CommentText`, then how to launch), then the
    /// sections.
    public func text(header: [String]) -> String {
        let launch = layout.launch
        var lines = header.map(CommentText.line)
        lines.append("# Launch: torchrun --nnodes=\(launch.nodes) --nproc-per-node=\(launch.processesPerNode) -m torchtitan.train --job.config_file THIS_FILE")
        if let lastNode = launch.torchrunLastNode { lines.append(CommentText.line(lastNode)) }
        let fp8 = layout.configuration.options.precision == .fp8
        lines.append("# Add your model (name, flavor, hf_assets_path\(fp8 ? "; keep the converters below" : "")), data and optimizer settings.")
        if fp8 {
            // torchao's float8 linear layers, as torchtitan's float8 converter applies them.
            lines += ["", "[model]", "converters = [\"quantize.linear.float8\"]", "", "[quantize.linear.float8]"]
            if layout.configuration.options.fp8Parameters {
                // FSDP2 gathers the weights in FP8 (torchao's float8 all-gather), their scales computed for all
                // layers at once after the optimizer step; `TrainingFramework.expressible` keeps this to sharded weights
                // and tensor-wise scaling. The converter refuses the all-gather beside a `recipe_name`, so the recipe is
                // left to `Float8LinearConfig`'s default, tensor-wise.
                lines += ["enable_fsdp_float8_all_gather = true", "precompute_float8_dynamic_scale_for_fsdp = true"]
            } else {
                lines.append("recipe_name = \"\(layout.configuration.options.fp8Recipe == .rowwise ? "rowwise" : "tensorwise")\"")
            }
        }
        let pipelined = layout.pipelineParallel > 1
        // With a pipeline, a replica's whole batch goes through the schedule in microbatches; without one,
        // gradient accumulation runs the microbatches one by one.
        lines += ["", "[training]",
                  "local_batch_size = \(pipelined ? layout.globalBatch / layout.dataParallel : layout.microBatchSize)",
                  "global_batch_size = \(layout.globalBatch)"]
        if let sequenceLength = layout.sequenceLength { lines.append("seq_len = \(sequenceLength)") }
        let sharded = layout.zeroStage >= 1 && layout.dataParallel > 1
        // Hybrid sharding: FSDP inside groups of the shard degree, replicas of the groups across.
        let shardDegree = sharded ? layout.configuration.options.zeroShardGroup ?? layout.dataParallel : 1
        lines += ["", "[parallelism]",
                  "data_parallel_replicate_degree = \(layout.dataParallel / shardDegree)",
                  "data_parallel_shard_degree = \(shardDegree)"]
        // FSDP shards over dp_shard x cp (`ParallelDims.fsdp_enabled`), so with context parallelism even where the shard
        // degree is 1. ZeRO-2 keeps the gathered weights from forward to backward, ZeRO-3 frees them after forward:
        // written either way, since torchtitan's default reshards after forward only without a pipeline (`apply_fsdp`).
        if shardDegree * layout.contextParallel > 1 {
            lines.append("fsdp_reshard_after_forward = \"\(layout.zeroStage >= 3 ? "always" : "never")\"")
        }
        lines.append("tensor_parallel_degree = \(layout.tensorParallel)")
        if layout.tensorParallel > 1 && !layout.configuration.vocabularyParallelLoss {
            // The output layer gathers the whole logits on every tensor-parallel rank for the loss.
            lines.append("disable_loss_parallel = true")
        }
        if layout.configuration.options.overlapTensorParallelCommunication && layout.tensorParallel > 1 {
            lines.append("enable_async_tensor_parallel = true")
        }
        lines.append("context_parallel_degree = \(layout.contextParallel)")
        // PyTorch's ring attention under the rotation priced (`ContextParallelCommunication.torchTitanRotateMethod`),
        // written even for torchtitan's default, `allgather`, since a recipe may set the other.
        if layout.contextParallel > 1, let rotation = layout.configuration.options.contextParallelCommunication.torchTitanRotateMethod {
            lines.append("context_parallel_rotate_method = \"\(rotation)\"")
        }
        lines.append("expert_parallel_degree = \(layout.expertParallel)")
        // The experts split by tensor parallelism within each expert-parallel group (Megatron's default expert
        // tensor parallelism, `etp = tp`), or whole with tp folded into the expert group (1, torchtitan's default).
        if layout.expertParallel > 1 {
            lines.append("expert_tensor_parallel_degree = \(layout.expertTensorParallel)")
            // The backend priced, written even for torchtitan's default, `standard`, since a recipe may set DeepEP.
            if let backend = layout.configuration.options.expertDispatcher.torchTitanBackend {
                lines.append("expert_parallel_comm_backend = \"\(backend)\"")
            }
        }
        lines.append("pipeline_parallel_degree = \(layout.pipelineParallel)")
        if pipelined {
            if runs1F1BAsGPipe {
                lines.append("# 1F1B with \(layout.microbatches) microbatch\(layout.microbatches == 1 ? "" : "es") for \(layout.pipelineParallel) stages: torch's Schedule1F1B refuses it; GPipe runs it in the same time and peak memory")
            }
            lines += ["pipeline_parallel_schedule = \"\(scheduleName)\"",
                      "pipeline_parallel_microbatch_size = \(layout.microBatchSize)",
                      "module_fqns_per_model_part = ["]
            for modules in modulesPerChunk {
                lines.append("    [" + modules.map { "\"\($0)\"" }.joined(separator: ", ") + "],")
            }
            lines.append("]")
        }
        lines += ["", "[activation_checkpoint]"] + activationCheckpointLines
        // A compiled step is torchtitan's `[compile]`, whose components are the model and the loss; a compiled step
        // with its loss run eagerly compiles the model alone. Asynchronous tensor parallelism needs compile too
        // (`expressible` has already made such a layout compiled; a layout given here directly is written so too).
        let options = layout.configuration.options
        let asyncTensorParallel = options.overlapTensorParallelCommunication && layout.tensorParallel > 1
        if options.kernelFusion == .compiled || asyncTensorParallel {
            lines += ["", "[compile]", "enable = true"]
            if options.kernelFusion == .compiled && options.eagerLoss { lines.append("components = [\"model\"]") }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
