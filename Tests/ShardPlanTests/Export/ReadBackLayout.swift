@testable import ShardPlan

/// What a framework's settings say about the layout, read back by the readers in this folder: the values
/// the round-trip tests compare with the plan's.
struct ReadBackLayout: Equatable, CustomStringConvertible {
    var tensorParallel: Int
    var pipelineParallel: Int
    var dataParallel: Int
    var contextParallel: Int
    var expertParallel: Int
    /// The experts' tensor-parallel degree beside expert parallelism: 1 (whole experts) or the tensor-parallel one;
    /// the tensor-parallel degree without expert parallelism.
    var expertTensorParallel: Int
    var virtualStages: Int
    var microBatchSize: Int
    var recompute: RecomputeMode
    /// Under full recomputation, the blocks of each model chunk that rerun (`TrainingOptions.recomputedBlocks`); nil
    /// for every block.
    var recomputedBlocks: Int?
    /// Whether the linear layers run in FP8.
    var fp8: Bool
    /// How the settings split the repeated layers over the pipeline chunks: first and last stage layers, or the
    /// embedding and the loss counted as layers; nothing set for an even split.
    var layerSplit: MegatronLayerSplit
    /// Whether the loss reads the logits split along the vocabulary (torchtitan's `disable_loss_parallel` says not).
    var vocabularyParallelLoss = true
    /// The kernels that carry the experts' tokens, beside expert parallelism; NCCL's all-to-all without it.
    var expertDispatcher = ExpertDispatcher.allToAll

    /// The values `layout` should read back as.
    init(_ layout: ParallelLayout) {
        self.init(tensorParallel: layout.tensorParallel, pipelineParallel: layout.pipelineParallel, dataParallel: layout.dataParallel,
                  contextParallel: layout.contextParallel, expertParallel: layout.expertParallel,
                  expertTensorParallel: layout.expertTensorParallel, virtualStages: layout.virtualStages,
                  microBatchSize: layout.microBatchSize, recompute: layout.recompute,
                  recomputedBlocks: layout.recompute == .full ? layout.configuration.options.recomputedBlocks : nil,
                  fp8: layout.configuration.options.precision == .fp8, layerSplit: layout.layerSplit ?? MegatronLayerSplit())
        vocabularyParallelLoss = layout.tensorParallel == 1 || layout.configuration.vocabularyParallelLoss
        expertDispatcher = layout.expertParallel > 1 ? layout.configuration.options.expertDispatcher : .allToAll
    }

    /// The dispatcher Megatron-Core's `moe_token_dispatcher_type` and `moe_flex_dispatcher_backend` name, beside
    /// expert parallelism `ep`: the flex dispatcher needs a backend, a backend needs the flex dispatcher.
    static func megatronDispatcher(type: String?, backend: String?, expertParallel ep: Int) throws -> ExpertDispatcher {
        guard ep > 1 else { return .allToAll }
        switch (type, backend) {
        case ("alltoall", nil): return .allToAll
        case ("flex", let backend?):
            guard let dispatcher = ExpertDispatcher(rawValue: backend), dispatcher.deduplicates else { throw ReadBackError("flex backend \(backend)") }
            return dispatcher
        default: throw ReadBackError("dispatcher \(type ?? "unset") with backend \(backend ?? "unset"): expected alltoall, or flex with deepep or hybridep")
        }
    }

    init(tensorParallel: Int, pipelineParallel: Int, dataParallel: Int, contextParallel: Int, expertParallel: Int,
         expertTensorParallel: Int? = nil, virtualStages: Int, microBatchSize: Int, recompute: RecomputeMode, recomputedBlocks: Int? = nil, fp8: Bool,
         layerSplit: MegatronLayerSplit = MegatronLayerSplit()) {
        self.tensorParallel = tensorParallel
        self.pipelineParallel = pipelineParallel
        self.dataParallel = dataParallel
        self.contextParallel = contextParallel
        self.expertParallel = expertParallel
        self.expertTensorParallel = expertParallel > 1 ? expertTensorParallel ?? tensorParallel : tensorParallel
        self.virtualStages = virtualStages
        self.microBatchSize = microBatchSize
        self.recompute = recompute
        self.recomputedBlocks = recomputedBlocks
        self.fp8 = fp8
        self.layerSplit = layerSplit
    }

    var description: String {
        "tp=\(tensorParallel) pp=\(pipelineParallel) dp=\(dataParallel) cp=\(contextParallel) ep=\(expertParallel) etp=\(expertTensorParallel) "
            + "vp=\(virtualStages) mbs=\(microBatchSize) recompute=\(recompute.rawValue)"
            + (recomputedBlocks.map { "(\($0) blocks)" } ?? "") + (fp8 ? " fp8" : "")
            + (layerSplit.firstStageLayers.map { " first=\($0)" } ?? "") + (layerSplit.lastStageLayers.map { " last=\($0)" } ?? "")
            + (layerSplit.countedLayersText.map { " \($0)" } ?? "") + (vocabularyParallelLoss ? "" : " whole-loss")
            + (expertDispatcher == .allToAll ? "" : " \(expertDispatcher.rawValue)")
    }
}

/// A setting a reader could not make sense of.
struct ReadBackError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

extension ReadBackLayout {
    /// Megatron-Core's checks of a pipeline split (`TransformerConfig`, `validate_args`) on `layers` repeated layers
    /// over `ranks` ranks of `chunks` chunks: the embedding or the loss counted as layers only without first or last
    /// stage layers, and every count dividing as the split needs; first or last stage layers or a counted embedding
    /// or loss over several chunks take the chunk count per rank, not the layers per chunk.
    static func checkLayerSplit(_ split: MegatronLayerSplit, layers: Int, ranks: Int, chunks: Int, layersPerChunkGiven: Bool) throws {
        if split.isEven { return }
        if layersPerChunkGiven { throw ReadBackError("an uneven pipeline split with the layers per virtual stage: Megatron-LM takes the chunks per rank") }
        let embedding = split.embeddingInPipelineSplit ? 1 : 0, loss = split.lossInPipelineSplit ? 1 : 0
        if embedding + loss > 0 {
            guard split.firstStageLayers == nil && split.lastStageLayers == nil else {
                throw ReadBackError("the embedding or the loss counted as a layer beside first or last stage layers: Megatron-Core refuses it")
            }
            guard (layers + embedding + loss) % (ranks * chunks) == 0 else {
                throw ReadBackError("\(layers) layers and \(embedding + loss) counted do not divide over \(ranks * chunks) chunks")
            }
            return
        }
        let middleRanks = ranks - (split.firstStageLayers == nil ? 0 : 1) - (split.lastStageLayers == nil ? 0 : 1)
        let rest = layers - (split.firstStageLayers ?? 0) - (split.lastStageLayers ?? 0)
        guard middleRanks > 0 ? rest % middleRanks == 0 && rest / middleRanks % chunks == 0 : rest == 0 else {
            throw ReadBackError("\(rest) layers do not split equally over \(middleRanks) middle ranks of \(chunks) chunks")
        }
        for case let count? in [split.firstStageLayers, split.lastStageLayers] where count % chunks != 0 {
            throw ReadBackError("\(count) layers on an end rank are not a multiple of \(chunks) chunks: Megatron-Core refuses it")
        }
    }

    /// Megatron-Core's selective recomputation as its submodule list reads back (`--recompute-modules`,
    /// `model.config.recompute_modules`): none listed is the attention core alone (selective); the feed-forward
    /// submodules (a dense MLP, a mixture of experts, or both), after the attention core or not, are `mlp` or
    /// `all-but-qkv`; the norms alone, or with the experts' activation, `norm-act`. `TransformerConfig` refuses the
    /// norms' and the activation's recomputation beside FP8 with delayed scaling.
    static func selectiveRecompute(modules: [String]?, delayedFP8: Bool) throws -> RecomputeMode {
        guard let modules else { return .selective }
        if (modules.contains("layernorm") || modules.contains("moe_act")) && delayedFP8 {
            throw ReadBackError("recompute modules with layernorm or moe_act under delayed FP8 scaling: TransformerConfig refuses it")
        }
        if modules == ["layernorm"] || modules == ["layernorm", "moe_act"] { return .normAct }
        let rest = modules.filter { $0 != "layernorm" }
        let feedForward = Array(rest.drop { $0 == "core_attn" })
        guard [["mlp"], ["moe"], ["mlp", "moe"]].contains(feedForward) else {
            throw ReadBackError("recompute modules the emitter does not write: \(modules)")
        }
        return rest.first == "core_attn" ? .allButQKV : .mlp
    }

    /// Megatron-Core's full recomputation as its method and layer count read back (`--recompute-method`,
    /// `--recompute-num-layers`; `model.config.recompute_method`, `recompute_num_layers`): the uniform method over
    /// one layer at a time is every block (nil), the block method over N layers the first N blocks of each chunk.
    static func fullRecomputedBlocks(method: String?, layers: Int?) throws -> Int? {
        switch (method, layers) {
        case ("uniform", 1): return nil
        case ("block", let blocks?): return blocks
        default: throw ReadBackError("full recomputation by method \(method ?? "none") over \(layers.map(String.init) ?? "no") layers: the emitter does not write it")
        }
    }
}
