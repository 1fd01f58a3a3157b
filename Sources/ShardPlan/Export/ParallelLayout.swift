/// A plan in the terms training frameworks take on their command lines and in their configs: one tensor,
/// pipeline, data, context and expert parallel degree for the whole model, model chunks per pipeline rank,
/// sequence parallelism, recomputation, ZeRO, the microbatch size and global batch, and how many of the
/// model's repeated layers (transformer blocks) each pipeline chunk runs.
///
/// Every layout is a `MegatronConfiguration` laid out on a graph by `TrainingPlan.megatron`, so whatever a
/// framework is told can be priced with the same cost model as the plan it came from.
public struct ParallelLayout: Sendable, Equatable {
    /// The configuration, its data-parallel degree resolved.
    public var configuration: MegatronConfiguration
    /// Samples per iteration.
    public var globalBatch: Int
    /// Tokens per sample, for graphs with token inputs `[batch, seq]`.
    public var sequenceLength: Int?
    /// Repeated layers on each pipeline chunk in pipeline order (`pipelineParallel x virtualStages` chunks;
    /// chunk c runs on rank c mod pp). The ops before the first and after the last repeated layer (embedding,
    /// head) run on the first and the last chunk.
    public var chunkLayers: [Int]
    /// Devices per node of the cluster, for the launcher's processes per node.
    public var devicesPerNode: Int
    /// Nodes of the cluster: the most a launcher may start processes on.
    public var clusterNodes: Int
    /// Megatron-Core's names for the blocks' feed-forward submodules (`recompute_modules`): `mlp` for a dense
    /// MLP, `moe` for a mixture of experts, both where some blocks have experts and others not.
    public var feedForwardModules: [String]
    /// The group-limited routing of the model's routers (a top-k slice's `ExpertGroups`), which the dispatch is
    /// priced with: Megatron-Core's `moe_router_num_groups` and `moe_router_group_topk`; nil for none.
    public var expertGroups: ExpertGroups?
    /// The routing the model's expert layers are priced with (`TensorRoles.dispatchedTokens`, the first expert layer's):
    /// how many experts a layer routes among and how many of them each token goes to, Megatron-LM's `--num-experts` and
    /// `--moe-router-topk`; nil without experts.
    public var expertRouting: TokenDispatch?
    /// How many structures the repeated layers hold: 1 for a model of identical blocks, more where dense and expert
    /// blocks, or sliding-window and global ones, alternate.
    public var blockStructures: Int
    /// The head counts of the model's attention ops: the tensor-parallel degree must divide each
    /// (`MegatronConfiguration.unrunnableHeadSplit`).
    public var attentionHeads: [AttentionHeads]
    /// Whether some attention op reads a sliding window of keys, which TransformerEngine's context-parallel ring
    /// refuses (`MegatronConfiguration.unrunnableContextWindow`).
    public var hasWindowedAttention: Bool
    /// Whether some attention op has sinks, which TransformerEngine's context parallelism runs only under its all-to-all
    /// exchange (`MegatronConfiguration.unrunnableContextSinks`).
    public var hasAttentionSinks: Bool
    /// The graph's LoRA adapters as Megatron-Bridge's PEFT classes take them, where it has some they express.
    var bridgeAdapters: BridgeLowRankAdapters?
    /// The Megatron-Bridge recipe of the graph's model or its family, where it has one the settings' comment can name.
    var bridgeRecipe: BridgeRecipe?
    /// The layout `TrainingPlan.megatron` gives `plan`'s configuration: `plan` must be that plan.
    init(configuration: MegatronConfiguration, plan: TrainingPlan) {
        var resolved = configuration
        // The mesh is [dp / ep, (ep), (cp or cp / a, a), tp]: the data-parallel ranks are the rank's devices over tp x cp.
        resolved.dataParallel = plan.stages[0].mesh.deviceCount / (configuration.tensorParallel * configuration.contextParallel)
        resolved.schedule = plan.schedule
        // Hierarchical context parallelism's all-to-all group, as `TrainingPlan.megatron` resolved it for the plan.
        resolved.contextAllToAll = try? TrainingPlan.contextAllToAll(of: configuration, devicesPerDomain: plan.cluster.devicesPerDomain,
                                                                     heads: AttentionHeads.all(in: plan.graph))
        self.configuration = resolved
        globalBatch = plan.graph.batchSize ?? 1
        sequenceLength = Self.sequenceLength(of: plan.graph)
        let layers = GraphAnalysis(plan.graph).layers
        chunkLayers = Self.chunkLayers(of: plan, layers: layers).counts
        devicesPerNode = plan.cluster.devicesPerNode
        clusterNodes = plan.cluster.nodes
        feedForwardModules = Self.feedForwardModules(of: plan.graph)
        expertGroups = plan.graph.operations.lazy.compactMap { operation -> ExpertGroups? in
            if case .slice(_, _, _, let groups?) = operation.op { groups } else { nil }
        }.first
        expertRouting = TensorRoles(plan.graph).dispatchedTokens.lazy.compactMap { $0 }.first
        blockStructures = Set(TrainingPlan.repeatedLayers(layers, in: plan.graph).map(\.shapeKey)).count
        attentionHeads = AttentionHeads.all(in: plan.graph)
        hasWindowedAttention = MegatronConfiguration.hasWindowedAttention(plan.graph)
        hasAttentionSinks = MegatronConfiguration.hasAttentionSinks(plan.graph)
        bridgeAdapters = BridgeLowRankAdapters(graph: plan.graph)
        bridgeRecipe = BridgeRecipe(graphName: plan.graph.name)
    }

    /// `feedForwardModules` of `graph`: its blocks are the layers holding attention, its expert layers those holding
    /// an expert GEMM (`MegatronLayout.expertGEMMIndex`); a graph without attention ops counts as dense.
    static func feedForwardModules(of graph: Graph) -> [String] {
        var blocks = Set<String>(), expertLayers = Set<String>()
        for operation in graph.operations {
            guard let layer = operation.layer else { continue }
            if case .attention = operation.op { blocks.insert(layer) }
            if MegatronLayout.expertGEMMIndex(operation, graph: graph) != nil { expertLayers.insert(layer) }
        }
        let dense = blocks.isEmpty ? expertLayers.isEmpty : !blocks.subtracting(expertLayers).isEmpty
        return (dense ? ["mlp"] : []) + (expertLayers.isEmpty ? [] : ["moe"])
    }

    /// The plan and layout of `configuration` on `graph` and `cluster`.
    public static func megatron(_ configuration: MegatronConfiguration, graph: Graph, cluster: Cluster,
                                clusterName: String) throws(InputError) -> (layout: ParallelLayout, plan: TrainingPlan) {
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: clusterName, configuration: configuration)
        return (ParallelLayout(configuration: configuration, plan: plan), plan)
    }

    public var tensorParallel: Int { configuration.tensorParallel }
    public var pipelineParallel: Int { configuration.pipelineParallel }
    public var dataParallel: Int { configuration.dataParallel ?? 1 }
    /// Context-parallel degree: ranks sharing each sequence (attention's queries split, keys and values exchanged).
    public var contextParallel: Int { configuration.contextParallel }
    /// Megatron-Core's `--hierarchical-context-parallel-sizes` under hierarchical context parallelism: the all-to-all
    /// group's ranks, then the ring's; nil under any other exchange.
    public var hierarchicalContextSizes: [Int]? {
        configuration.contextAllToAll.map { [$0, contextParallel / $0] }
    }
    /// Expert-parallel degree: ranks sharing the experts of each mixture-of-experts layer.
    public var expertParallel: Int { configuration.expertParallel }
    /// Expert tensor-parallel degree: 1 where each expert is whole on its rank (expert parallelism folded over the
    /// tensor-parallel ranks), else the tensor-parallel degree.
    public var expertTensorParallel: Int { configuration.foldsExpertsOverTensor ? 1 : tensorParallel }
    /// Whether Megatron-Core refuses the shared experts' own overlap (`moe_shared_expert_overlap`) beside this layout:
    /// where the experts' all-to-alls overlap another microbatch's compute, or the flex dispatcher carries the tokens
    /// (its `TransformerConfig`), which some recipes turn on.
    var refusesSharedExpertOverlap: Bool {
        configuration.options.overlapExpertParallelCommunication || (expertParallel > 1 && configuration.options.expertDispatcher.deduplicates)
    }
    public var virtualStages: Int { configuration.virtualStages }
    public var microBatchSize: Int { configuration.microBatchSize }
    public var sequenceParallel: Bool { configuration.sequenceParallel }
    public var recompute: RecomputeMode { configuration.options.recompute }
    /// Under full recomputation, the blocks of each chunk that rerun, for Megatron's block method: nil where every
    /// block reruns, because the plan gives no count or no chunk holds as many blocks as it (`LayoutRecognition` drops
    /// such a count and names it as a difference; a chunk of fewer blocks than the count reruns them all, as
    /// Megatron-Core's block method does).
    public var recomputedBlocksPerChunk: Int? {
        guard recompute == .full, let blocks = configuration.options.recomputedBlocks,
              chunkLayers.contains(where: { $0 >= blocks }) else { return nil }
        return blocks
    }
    public var zeroStage: Int { configuration.options.zeroStage }
    public var schedule: PipelineSchedule { configuration.schedule ?? .oneForwardOneBackward }
    /// TransformerEngine's name for the FP8 recipe (Megatron-LM's `--fp8-recipe`, NeMo's `fp8_recipe`) when
    /// the linear layers run in FP8: delayed scaling is ShardPlan's tensor-wise recipe.
    public var transformerEngineFP8Recipe: String? { Self.transformerEngineFP8Recipe(for: configuration.options) }

    /// `transformerEngineFP8Recipe` of a layout with `options`.
    static func transformerEngineFP8Recipe(for options: TrainingOptions) -> String? {
        guard options.precision == .fp8 else { return nil }
        switch options.fp8Recipe {
        case .tensorwise, .rowwise: return "delayed"
        case .blockwise: return "blockwise"
        }
    }
    /// Whether the model holds a mixture of experts (`feedForwardModules`), whose experts the cost model prices as
    /// one grouped GEMM: Megatron-Core's `moe_grouped_gemm` (without it, a loop over the local experts), which its
    /// `TransformerConfig` asks for beside `moe_act` recomputation.
    public var hasExperts: Bool { feedForwardModules.contains("moe") }
    /// Whether some blocks are dense beside the expert ones (`feedForwardModules`): Megatron-LM's `--moe-layer-freq`,
    /// the model's own argument, must say which, as its default makes every block an expert one.
    public var mixesDenseAndExpertBlocks: Bool { feedForwardModules == ["mlp", "moe"] }

    /// Megatron-Core's submodules (`recompute_modules`) that run MaxText's policies that rerun products: the MLP
    /// or the mixture of experts (`feedForwardModules`) and the norms for `mlp`, the attention core besides for
    /// `all-but-qkv`; and `norm-act`'s output-discarding checkpoints, `layernorm` and, with experts, `moe_act`; nil
    /// for any other mode. Megatron-Core's
    /// `TransformerConfig` refuses `layernorm` beside FP8 with delayed scaling ("Delayed scaling does not support
    /// moe_act and layernorm recompute"), so there the norms are kept (`TrainingFramework.expressible` names it).
    public var recomputeModules: [String]? {
        let attention: [String]
        switch recompute {
        case .mlp: attention = []
        case .allButQKV: attention = ["core_attn"]
        case .normAct: return ["layernorm"] + (hasExperts ? ["moe_act"] : [])
        case .none, .selective, .elementwise, .selectiveOperators, .full: return nil
        }
        return attention + feedForwardModules + (transformerEngineFP8Recipe == "delayed" ? [] : ["layernorm"])
    }
    /// Microbatches per iteration on each data-parallel replica.
    public var microbatches: Int { globalBatch / (microBatchSize * dataParallel) }
    /// Processes the launcher starts: one per device.
    public var worldSize: Int { tensorParallel * pipelineParallel * dataParallel * contextParallel }
    /// How the launcher spreads those processes over the cluster's nodes, as the plan places them.
    public var launch: LaunchShape { LaunchShape(worldSize: worldSize, devicesPerNode: devicesPerNode) }
    /// The environment `torchrun` runs Megatron-Core's frameworks in, as a prefix of the command: Megatron-LM's
    /// `validate_args` asserts `CUDA_DEVICE_MAX_CONNECTIONS=1` with tensor or context parallelism on GPUs before
    /// Blackwell (one work queue keeps each tensor-parallel collective ordered ahead of the GEMM that waits on it;
    /// Megatron-LM's example scripts and Megatron-Bridge's launch plugins set it), except with Megatron-FSDP, which
    /// asserts the opposite.
    public var torchrunEnvironment: String {
        zeroStage < 2 && (tensorParallel > 1 || contextParallel > 1) ? "CUDA_DEVICE_MAX_CONNECTIONS=1 " : ""
    }
    /// Repeated layers of the whole model.
    public var layerCount: Int { chunkLayers.reduce(0, +) }
    /// Repeated layers on each pipeline rank, summed over its chunks.
    public var rankLayers: [Int] {
        (0 ..< pipelineParallel).map { rank in stride(from: rank, to: chunkLayers.count, by: pipelineParallel).reduce(0) { $0 + chunkLayers[$1] } }
    }

    /// How Megatron-Core is told to split the repeated layers as `chunkLayers` holds them: nothing where every
    /// chunk holds the same, the first and the last rank's layers (`--decoder-first-pipeline-num-layers`,
    /// `--decoder-last-pipeline-num-layers`) where each rank's chunks hold the same, or the embedding and the
    /// loss counted as layers (`--account-for-embedding-in-pipeline-split`, `--account-for-loss-in-pipeline-split`)
    /// where the first or the last chunk holds one fewer; nil where no setting gives this split.
    public var layerSplit: MegatronLayerSplit? {
        MegatronLayerSplit(chunkLayers: chunkLayers, ranks: pipelineParallel)
    }

    /// Tokens per sample: the second dimension of the graph's first token input (`[batch, seq]` integers).
    static func sequenceLength(of graph: Graph) -> Int? {
        graph.inputs.lazy.map { graph[$0].type }.first { $0.dtype.isInteger && $0.rank == 2 }.map { $0.shape[1] }
    }

    /// How many repeated layers start in each chunk of `plan`, and whether every chunk boundary falls on the
    /// start of a repeated layer or right after the last one (else a chunk holds part of a layer, which no framework
    /// can express).
    static func chunkLayers(of plan: TrainingPlan, layers: [Layer]? = nil) -> (counts: [Int], aligned: Bool) {
        let body = TrainingPlan.repeatedLayers(layers ?? GraphAnalysis(plan.graph).layers, in: plan.graph)
        // A chunk starts at a repeated layer, or after the last one where it holds the counted loss alone.
        let starts = Set(body.map(\.operations.lowerBound) + (body.last.map { [$0.operations.upperBound] } ?? []))
        let counts = plan.stages.map { stage in body.count { stage.operations.contains($0.operations.lowerBound) } }
        let aligned = plan.stages.dropFirst().allSatisfy { starts.contains($0.operations.lowerBound) }
        return (counts, aligned)
    }
}
