/// Megatron-LM's command line for a layout: `torchrun` with one process per device, then the
/// `pretrain_gpt.py` arguments that set the parallel degrees, the pipeline split, recomputation, the
/// distributed optimizer or Megatron-FSDP, overlap, bf16 mixed precision and the batch. Model, data, tokenizer and optimizer
/// arguments are the user's own. Sources of every argument: Docs/frameworks.md.
public struct MegatronArguments: Sendable {
    public var layout: ParallelLayout

    public init(_ layout: ParallelLayout) { self.layout = layout }

    /// The arguments, flag by flag (a flag with its value is one element: `--micro-batch-size 1`).
    public var arguments: [String] {
        let configuration = layout.configuration
        var arguments = [
            "--tensor-model-parallel-size \(layout.tensorParallel)",
            "--pipeline-model-parallel-size \(layout.pipelineParallel)",
        ]
        if layout.contextParallel > 1 {
            arguments.append("--context-parallel-size \(layout.contextParallel)")
            let communication = configuration.options.contextParallelCommunication
            if communication != .ring { arguments.append("--cp-comm-type \(communication.megatronValue)") }
            if let sizes = layout.hierarchicalContextSizes {
                arguments.append("--hierarchical-context-parallel-sizes " + sizes.map(String.init).joined(separator: " "))
            }
        }
        if layout.expertParallel > 1 {
            // The dispatcher the model prices (all-to-all, or the flex dispatcher's DeepEP or HybridEP); Megatron-LM's
            // default gathers every token instead.
            let dispatcher = configuration.options.expertDispatcher
            arguments += ["--expert-model-parallel-size \(layout.expertParallel)", "--moe-token-dispatcher-type \(dispatcher.megatronDispatcherType)"]
            if let backend = dispatcher.megatronFlexBackend { arguments.append("--moe-flex-dispatcher-backend \(backend)") }
            // Whole experts, expert parallelism folded over the tensor-parallel ranks (Megatron-Core 0.10 and later);
            // Megatron-LM's default is the tensor-parallel size.
            if layout.expertTensorParallel != layout.tensorParallel {
                arguments.append("--expert-tensor-parallel-size \(layout.expertTensorParallel)")
            }
        }
        // The routing the dispatch is priced with: each layer's experts and each token's share of them (Megatron-Core
        // refuses expert parallelism without the count, and its top-k defaults to 2), and any group limit; the experts
        // as one grouped GEMM, as priced (`ParallelLayout.hasExperts`).
        if let routing = layout.expertRouting {
            arguments += ["--num-experts \(routing.experts)", "--moe-router-topk \(routing.topK)"]
        }
        if layout.hasExperts { arguments.append("--moe-grouped-gemm") }
        if let groups = layout.expertGroups {
            arguments += ["--moe-router-num-groups \(groups.count)", "--moe-router-group-topk \(groups.chosen)"]
        }
        arguments.append("--num-layers \(layout.layerCount)")
        if let split = layout.layerSplit {
            if let first = split.firstStageLayers { arguments.append("--decoder-first-pipeline-num-layers \(first)") }
            if let last = split.lastStageLayers { arguments.append("--decoder-last-pipeline-num-layers \(last)") }
            if split.embeddingInPipelineSplit { arguments.append("--account-for-embedding-in-pipeline-split") }
            if split.lossInPipelineSplit { arguments.append("--account-for-loss-in-pipeline-split") }
        }
        if layout.virtualStages > 1 {
            // The older per-stage count where the chunks are equal; the chunk count where they are not, which
            // Megatron-LM requires beside first or last stage layers and the embedding or the loss counted as a layer.
            if Set(layout.chunkLayers).count == 1 {
                arguments.append("--num-layers-per-virtual-pipeline-stage \(layout.chunkLayers[0])")
            } else {
                arguments.append("--num-virtual-stages-per-pipeline-rank \(layout.virtualStages)")
            }
        }
        if layout.sequenceParallel { arguments.append("--sequence-parallel") }
        switch layout.recompute {
        case .none: break
        // Megatron recomputes the attention core, its nearest to op-level selective checkpointing.
        case .selective, .elementwise, .selectiveOperators: arguments.append("--recompute-granularity selective")
        // Megatron-Core's submodule checkpointing (`ParallelLayout.recomputeModules`; `TrainingFramework.expressible`
        // names what differs).
        case .mlp, .allButQKV, .normAct:
            arguments += ["--recompute-granularity selective", "--recompute-modules \((layout.recomputeModules ?? []).joined(separator: " "))"]
        // Every block, one at a time; or the first N blocks of each model chunk (the block method).
        case .full:
            arguments.append("--recompute-granularity full")
            if let blocks = layout.recomputedBlocksPerChunk {
                arguments += ["--recompute-method block", "--recompute-num-layers \(blocks)"]
            } else {
                arguments += ["--recompute-method uniform", "--recompute-num-layers 1"]
            }
        }
        switch layout.zeroStage {
        case 0: break
        case 1: arguments.append("--use-distributed-optimizer")
        default:
            // Megatron-FSDP, as its guide enables it. `validate_args` refuses it with any checkpoint format but
            // `fsdp_dtensor`, whether or not the run saves, and the default is `torch_dist`.
            arguments += ["--use-distributed-optimizer", "--use-megatron-fsdp",
                          "--data-parallel-sharding-strategy \(layout.zeroStage == 2 ? "optim_grads" : "optim_grads_params")",
                          "--no-gradient-accumulation-fusion", "--ckpt-format fsdp_dtensor"]
        }
        if configuration.options.overlapGradientReduction {
            arguments.append("--overlap-grad-reduce")
            if layout.zeroStage >= 1 { arguments.append("--overlap-param-gather") }
        }
        if configuration.options.overlapTensorParallelCommunication && layout.tensorParallel > 1 {
            arguments.append("--tp-comm-overlap")
        }
        if configuration.options.overlapExpertParallelCommunication { arguments.append("--overlap-moe-expert-parallel-comm") }
        // bf16 mixed precision, as priced (FP8 runs beside it, bf16 its higher precision): without it Megatron-LM trains
        // in fp32, reads --grad-reduce-in-bf16 only under it, and `validate_args` refuses --moe-grouped-gemm.
        arguments.append("--bf16")
        // The gradient buffer, and so the data-parallel reduction, in bf16 (`TrainingFramework.expressible`).
        if configuration.options.gradientPrecision == .bf16 { arguments.append("--grad-reduce-in-bf16") }
        if configuration.options.fusedCrossEntropy { arguments.append("--cross-entropy-loss-fusion") }
        if let recipe = layout.transformerEngineFP8Recipe {
            arguments += ["--fp8-format hybrid", "--fp8-recipe \(recipe)"]
            // TransformerEngine's FP8 weights (`fp8_model_init`), gathered in FP8 by the distributed optimizer.
            if configuration.options.fp8Parameters { arguments.append("--fp8-param-gather") }
        }
        arguments += ["--micro-batch-size \(layout.microBatchSize)", "--global-batch-size \(layout.globalBatch)"]
        if let sequenceLength = layout.sequenceLength { arguments.append("--seq-length \(sequenceLength)") }
        return arguments
    }

    /// The command: a comment block (`header` escaped as `CommentText`), `torchrun` and the arguments, one per
    /// line. Where the plan's devices end inside a node, the comment says what the last node's `torchrun` needs.
    public func text(header: [String]) -> String {
        let launch = layout.launch
        var lines = header.map(CommentText.line)
        lines.append("# Add your model, data, tokenizer and optimizer arguments (and, on several nodes, torchrun's rendezvous).")
        if layout.hasWindowedAttention {
            lines.append("# The model has sliding-window attention: give its window with them (--window-size, and --window-attn-skip-freq where some layers stay global).")
        }
        if layout.mixesDenseAndExpertBlocks {
            lines.append("# Some of the model's blocks are dense: say which with its arguments (--moe-layer-freq; by default every block has experts).")
        }
        if layout.hasAttentionSinks {
            lines.append("# The model has attention sinks: give them with its arguments (Megatron-Core's softmax_type 'learnable'); with context parallelism TransformerEngine runs them only under --cp-comm-type a2a.")
        }
        if let lastNode = launch.torchrunLastNode { lines.append(CommentText.line(lastNode)) }
        if layout.zeroStage >= 2 {
            lines.append("# Megatron-FSDP refuses CUDA_DEVICE_MAX_CONNECTIONS=1: leave that variable unset.")
        }
        lines.append("\(layout.torchrunEnvironment)torchrun --nnodes=\(launch.nodes) --nproc-per-node=\(launch.processesPerNode) pretrain_gpt.py \\")
        let arguments = arguments
        for (index, argument) in arguments.enumerated() {
            lines.append("    \(argument)" + (index == arguments.count - 1 ? "" : " \\"))
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
