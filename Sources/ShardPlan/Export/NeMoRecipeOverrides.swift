/// NeMo 2.0 recipe overrides for a layout: the `key=value` pairs that `nemo llm pretrain --factory RECIPE`
/// takes after the recipe's name (or `recipe.key = value` in Python), for the trainer's `MegatronStrategy`,
/// the data module's batch and sequence, the model config's recomputation and pipeline split, and the
/// optimizer's distributed optimizer. Every key is set, defaults included, because recipes change them
/// (llama3_8b's recipe sets context parallelism to 2). Sources of every key: Docs/frameworks.md.
public struct NeMoRecipeOverrides: Sendable {
    public var layout: ParallelLayout

    public init(_ layout: ParallelLayout) { self.layout = layout }

    /// `trainer.num_nodes` and `trainer.devices`. Lightning starts `trainer.devices` processes on every node, so
    /// where the plan's devices end inside a node (`LaunchShape.partialNode`) they are the fewest of the
    /// cluster's nodes that take the world size evenly, or, where none do, the nodes and devices the plan
    /// touches (more processes than the degrees use; `text(header:)` warns of both).
    var launch: (nodes: Int, processesPerNode: Int) {
        let shape = layout.launch
        return shape.evenSpread(maximumNodes: layout.clusterNodes) ?? (shape.nodes, shape.processesPerNode)
    }

    /// The overrides in order, values as Python literals (`True`, `None`, `'full'`).
    public var overrides: [(key: String, value: String)] {
        let (nodes, perNode) = launch
        func python(_ flag: Bool) -> String { flag ? "True" : "False" }
        var overrides: [(String, String)] = [
            ("trainer.num_nodes", "\(nodes)"),
            ("trainer.devices", "\(perNode)"),
            ("trainer.strategy.tensor_model_parallel_size", "\(layout.tensorParallel)"),
            ("trainer.strategy.pipeline_model_parallel_size", "\(layout.pipelineParallel)"),
            ("trainer.strategy.virtual_pipeline_model_parallel_size", layout.virtualStages > 1 ? "\(layout.virtualStages)" : "None"),
            ("trainer.strategy.context_parallel_size", "\(layout.contextParallel)"),
            // Set either way: a recipe may have set another exchange.
            ("model.config.cp_comm_type", "'\(layout.configuration.options.contextParallelCommunication.megatronValue)'"),
            ("trainer.strategy.expert_model_parallel_size", "\(layout.expertParallel)"),
            ("trainer.strategy.sequence_parallel", python(layout.sequenceParallel)),
            ("data.micro_batch_size", "\(layout.microBatchSize)"),
            ("data.global_batch_size", "\(layout.globalBatch)"),
        ]
        // Beside expert parallelism, set either way: a recipe may overlap the experts' all-to-alls (a config field of
        // Megatron-Core 0.14 and later, which a dense model's older container may not know).
        if layout.expertParallel > 1 {
            // Set either way: the experts split by tensor parallelism or whole (a recipe may have set either).
            overrides.append(("trainer.strategy.expert_tensor_parallel_size", "\(layout.expertTensorParallel)"))
            overrides.append(("model.config.overlap_moe_expert_parallel_comm", python(layout.configuration.options.overlapExpertParallelCommunication)))
            // The dispatcher priced, set either way (Megatron-Core's default gathers every token).
            let dispatcher = layout.configuration.options.expertDispatcher
            overrides.append(("model.config.moe_token_dispatcher_type", "'\(dispatcher.megatronDispatcherType)'"))
            if let backend = dispatcher.megatronFlexBackend { overrides.append(("model.config.moe_flex_dispatcher_backend", "'\(backend)'")) }
        }
        // The experts as one grouped GEMM, as priced (`ParallelLayout.hasExperts`).
        if layout.hasExperts { overrides.append(("model.config.moe_grouped_gemm", "True")) }
        if let groups = layout.expertGroups {
            overrides += [("model.config.moe_router_num_groups", "\(groups.count)"), ("model.config.moe_router_group_topk", "\(groups.chosen)")]
        }
        if layout.refusesSharedExpertOverlap { overrides.append(("model.config.moe_shared_expert_overlap", "False")) }
        if let sequenceLength = layout.sequenceLength {
            overrides += [("data.seq_length", "\(sequenceLength)"), ("model.config.seq_length", "\(sequenceLength)")]
        }
        // Set either way: the Llama 3.1 405B recipe counts the embedding and the loss as layers.
        let split = layout.layerSplit ?? MegatronLayerSplit()
        overrides += [("model.config.num_layers_in_first_pipeline_stage", split.firstStageLayers.map(String.init) ?? "None"),
                      ("model.config.num_layers_in_last_pipeline_stage", split.lastStageLayers.map(String.init) ?? "None"),
                      ("model.config.account_for_embedding_in_pipeline_split", python(split.embeddingInPipelineSplit)),
                      ("model.config.account_for_loss_in_pipeline_split", python(split.lossInPipelineSplit))]
        switch layout.recompute {
        case .none:
            overrides += [("model.config.recompute_granularity", "None"), ("model.config.recompute_method", "None"),
                          ("model.config.recompute_num_layers", "None")]
        case .selective, .elementwise, .selectiveOperators:
            overrides += [("model.config.recompute_granularity", "'selective'"), ("model.config.recompute_method", "None"),
                          ("model.config.recompute_num_layers", "None")]
        case .mlp, .allButQKV, .normAct:
            // A Python list without spaces (`text(header:)` double-quotes it for the shell).
            let modules = "[" + (layout.recomputeModules ?? []).map { "'\($0)'" }.joined(separator: ",") + "]"
            overrides += [("model.config.recompute_granularity", "'selective'"), ("model.config.recompute_method", "None"),
                          ("model.config.recompute_num_layers", "None"), ("model.config.recompute_modules", modules)]
        // Every block, one at a time; or the first N blocks of each model chunk (the block method).
        case .full:
            let blocks = layout.recomputedBlocksPerChunk
            overrides += [("model.config.recompute_granularity", "'full'"),
                          ("model.config.recompute_method", blocks == nil ? "'uniform'" : "'block'"),
                          ("model.config.recompute_num_layers", "\(blocks ?? 1)")]
        }
        // NeMo's GPTConfig fuses the loss by default; Megatron-Core's own default does not. Written either way.
        overrides.append(("model.config.cross_entropy_loss_fusion", python(layout.configuration.options.fusedCrossEntropy)))
        overrides.append(("optim.config.use_distributed_optimizer", python(layout.zeroStage >= 1)))
        // The recipe's MegatronMixedPrecision plugin: the gradient buffer, and so the data-parallel reduction, in fp32
        // (its default) or bf16 (`TrainingFramework.expressible`).
        overrides.append(("trainer.plugins.grad_reduce_in_fp32", python(layout.configuration.options.gradientPrecision == .fp32)))
        // The recipe's MegatronMixedPrecision plugin: FP8 in the hybrid format (E4M3 forward, E5M2 backward).
        if let recipe = layout.transformerEngineFP8Recipe {
            // `fp8_params`: TransformerEngine's FP8 weights, gathered in FP8 (NVIDIA's DGX Cloud recipes set it).
            overrides += [("trainer.plugins.fp8", "'hybrid'"), ("trainer.plugins.fp8_recipe", "'\(recipe)'"),
                          ("trainer.plugins.fp8_params", python(layout.configuration.options.fp8Parameters))]
        } else {
            overrides.append(("trainer.plugins.fp8", "None"))
        }
        return overrides
    }

    /// The command: a comment block (`header` escaped as `CommentText`), then `nemo llm pretrain` with one
    /// override per line.
    public func text(header: [String]) -> String {
        var lines = header.map(CommentText.line)
        if let partialNode = layout.launch.partialNode {
            let (nodes, perNode) = launch
            let outcome = nodes * perNode == layout.worldSize
                ? "trainer.num_nodes=\(nodes) and trainer.devices=\(perNode) spread them evenly instead, on other devices than the prediction's"
                : "no even spread fits the cluster's \(layout.clusterNodes) nodes, and trainer.num_nodes=\(nodes) with trainer.devices=\(perNode) "
                    + "start \(nodes * perNode) processes, not the plan's \(layout.worldSize)"
            lines.append(CommentText.line("Warning: \(partialNode), but NeMo's trainer starts trainer.devices processes on every node; \(outcome)."))
        }
        lines.append("# Replace RECIPE with the recipe of your model (llama3_70b, nemotron4_340b, ...); in Python, set the same")
        lines.append("# keys on the recipe (recipe.trainer.strategy.tensor_model_parallel_size = ...).")
        if layout.configuration.options.overlapGradientReduction || layout.configuration.options.overlapTensorParallelCommunication {
            lines.append("# The prediction overlaps communication with compute: keep the recipe's MegatronCommOverlapCallback.")
        }
        lines.append("nemo llm pretrain --factory RECIPE \\")
        let overrides = overrides
        for (index, override) in overrides.enumerated() {
            // A list is double-quoted whole: the shell would otherwise strip its strings' quotes (and could glob
            // its brackets), and NeMo-Run would read the rest as a string, not a list.
            let word = "\(override.key)=\(override.value)"
            lines.append("    " + (override.value.hasPrefix("[") ? "\"\(word)\"" : word) + (index == overrides.count - 1 ? "" : " \\"))
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
