/// A Megatron-LM style parallel configuration, as a user writes it on the command line: tensor, pipeline
/// and data-parallel degrees, microbatch size, interleaving, sequence parallelism and training options.
public struct MegatronConfiguration: Sendable, Equatable {
    public var tensorParallel: Int
    public var pipelineParallel: Int
    /// Data-parallel degree; nil means every device the cluster has left: devices / (tp x pp).
    public var dataParallel: Int?
    /// Samples per microbatch on each data-parallel replica.
    public var microBatchSize: Int
    /// Model chunks per pipeline rank (1: plain 1F1B; more: interleaved 1F1B).
    public var virtualStages: Int
    public var sequenceParallel: Bool
    /// Context-parallel size: ranks sharing each sequence (Megatron-Core `--context-parallel-size`).
    public var contextParallel: Int
    /// Expert-parallel size: ranks sharing the experts (`--expert-model-parallel-size`), laid out as Megatron-Core
    /// orders them after the expert tensor-parallel ranks: the context-parallel ranks first, then data-parallel ones
    /// (`expertFold`).
    public var expertParallel: Int
    /// Expert tensor-parallel size (`--expert-tensor-parallel-size`): 1, where each expert is whole on its rank and
    /// expert parallelism folds over the tensor-parallel ranks too, or nil for Megatron-Core's default, the
    /// tensor-parallel size (each expert split as the dense layers are).
    public var expertTensorParallel: Int?
    public var schedule: PipelineSchedule?
    public var options: TrainingOptions
    /// Repeated layers on the first and the last pipeline rank when they differ from the others'
    /// (Megatron-LM's `--decoder-first-pipeline-num-layers` and `--decoder-last-pipeline-num-layers`): a lighter
    /// first rank makes room for the embedding and the warm-up's activations, a lighter last one for the head.
    /// The other ranks split the rest evenly. Nil: every rank the same (the first ranks one fewer when the
    /// layers do not divide).
    public var firstStageLayers: Int?
    public var lastStageLayers: Int?
    /// Whether the embedding counts as a repeated layer when the layers are split (Megatron-LM's
    /// `--account-for-embedding-in-pipeline-split`): the layers and the embedding split equally over every chunk,
    /// and the first chunk holds one layer fewer (`MegatronLayerSplit`).
    public var embeddingInPipelineSplit: Bool
    /// Whether the loss counts as a repeated layer when the layers are split (`--account-for-loss-in-pipeline-split`):
    /// the last chunk holds one layer fewer.
    public var lossInPipelineSplit: Bool
    /// Whether the embedding and the loss split the vocabulary over the tensor-parallel ranks (Megatron-LM's
    /// layout, the default) or run whole on each (`MegatronLayout.vocabularyParallelEmbedding` and
    /// `vocabularyParallelLoss`: `--no-vocab-parallel-embedding`, `--no-loss-parallel`).
    public var vocabularyParallelEmbedding = true
    public var vocabularyParallelLoss = true
    /// Under hierarchical context parallelism (`ContextParallelCommunication.hierarchical`), the context-parallel ranks of
    /// each all-to-all group (Megatron-Core's first `--hierarchical-context-parallel-sizes`; the ring runs over
    /// `contextParallel / contextAllToAll` of them); nil for `defaultContextAllToAll`'s choice on the cluster.
    public var contextAllToAll: Int?

    /// `contextAllToAll` where it shapes the mesh: under hierarchical context parallelism with context parallelism; nil
    /// otherwise, whatever the field holds (an exchange changed since it was set).
    public var contextGroup: Int? {
        options.contextParallelCommunication == .hierarchical && contextParallel > 1 ? contextAllToAll : nil
    }

    public init(tensorParallel: Int, pipelineParallel: Int, dataParallel: Int? = nil, microBatchSize: Int = 1,
                virtualStages: Int = 1, sequenceParallel: Bool = false, contextParallel: Int = 1, expertParallel: Int = 1,
                expertTensorParallel: Int? = nil, schedule: PipelineSchedule? = nil, options: TrainingOptions = TrainingOptions(),
                firstStageLayers: Int? = nil, lastStageLayers: Int? = nil, embeddingInPipelineSplit: Bool = false,
                lossInPipelineSplit: Bool = false) {
        self.tensorParallel = tensorParallel
        self.pipelineParallel = pipelineParallel
        self.dataParallel = dataParallel
        self.microBatchSize = microBatchSize
        self.virtualStages = virtualStages
        self.sequenceParallel = sequenceParallel
        self.contextParallel = contextParallel
        self.expertParallel = expertParallel
        // The tensor-parallel size is Megatron-Core's default: one configuration, however it is written.
        self.expertTensorParallel = expertTensorParallel == tensorParallel ? nil : expertTensorParallel
        self.schedule = schedule
        self.options = options
        self.firstStageLayers = firstStageLayers
        self.lastStageLayers = lastStageLayers
        self.embeddingInPipelineSplit = embeddingInPipelineSplit
        self.lossInPipelineSplit = lossInPipelineSplit
    }

    /// The all-to-all group hierarchical context parallelism takes where none is given (`contextAllToAll` nil): the
    /// largest divisor A of `cp` between 1 and `cp` whose `tp x A` ranks divide an NVLink domain of `devicesPerDomain`
    /// (each group inside one domain: the all-to-all runs over NVLink and the ring alone crosses the network) and divide
    /// every head count of `heads` (TransformerEngine gives each rank of the group whole heads); nil where none does
    /// (`cp` of 2 or a prime has no divisor between 1 and itself; tensor parallelism may fill the domain).
    public static func defaultContextAllToAll(contextParallel cp: Int, tensorParallel tp: Int, devicesPerDomain: Int,
                                              heads: [AttentionHeads]) -> Int? {
        contextAllToAllSizes(contextParallel: cp).last { group in
            devicesPerDomain % (tp * group) == 0 && heads.allSatisfy { $0.divide(over: tp * group) }
        }
    }

    /// The all-to-all groups hierarchical context parallelism over `cp` ranks may take, smallest first: the divisors of
    /// `cp` strictly between 1 (no all-to-all) and `cp` (no ring); none for a `cp` of 2 or a prime.
    public static func contextAllToAllSizes(contextParallel cp: Int) -> [Int] {
        (2 ..< max(cp, 2)).filter { cp % $0 == 0 }
    }

    /// Whether the experts are whole on their ranks, expert parallelism folded over the tensor-parallel ranks
    /// (`expertTensorParallel` 1 beside tensor parallelism).
    public var foldsExpertsOverTensor: Bool { expertTensorParallel == 1 && tensorParallel > 1 && expertParallel > 1 }

    /// The ranks of each expert-parallel group that are not data-parallel: the context-parallel ranks, and the
    /// tensor-parallel ones where `foldsExpertsOverTensor`; the expert axis cut from the data-parallel ranks is
    /// `expertParallel / expertFold` (Megatron-Core's expert rank order, `tp-ep-dp-pp`, after the expert
    /// tensor-parallel ranks). 1 without expert parallelism.
    public var expertFold: Int {
        guard expertParallel > 1 else { return 1 }
        return contextParallel * (foldsExpertsOverTensor ? tensorParallel : 1)
    }

    /// `MegatronLayout` of this configuration, with hybrid sharding's groups as an axis of their own where
    /// `shardGroups` says so: an expert axis where the expert groups reach past their folded ranks, a context axis,
    /// and the experts split over the folded axes.
    public func layout(shardGroups: Bool = false) -> MegatronLayout {
        MegatronLayout(sequenceParallel: sequenceParallel, shardGroups: shardGroups,
                       expertParallel: expertParallel / expertFold > 1, contextParallel: contextParallel > 1,
                       contextGroups: options.contextParallelCommunication == .hierarchical,
                       expertsOverContext: expertParallel > 1 && contextParallel > 1, expertsOverTensor: foldsExpertsOverTensor,
                       vocabularyParallelEmbedding: vocabularyParallelEmbedding, vocabularyParallelLoss: vocabularyParallelLoss)
    }

    /// Whether the expert groups lay out over `dataParallel` replicas: whole `expertFold` groups and a divisor of the
    /// replicas beyond them (`TrainingPlan.megatron` refuses the rest, saying which).
    public func laysOutExpertGroups(dataParallel: Int) -> Bool {
        expertParallel % expertFold == 0 && dataParallel % (expertParallel / expertFold) == 0
    }

    /// How the repeated layers split over the pipeline chunks.
    public var layerSplit: MegatronLayerSplit {
        MegatronLayerSplit(firstStageLayers: firstStageLayers, lastStageLayers: lastStageLayers,
                           embeddingInPipelineSplit: embeddingInPipelineSplit, lossInPipelineSplit: lossInPipelineSplit)
    }

    /// "tp=8 pp=8 dp=1" with the options that are on (`cp-comm=all-gather` where context parallelism does not use the
    /// ring, `ep-overlap` where the experts' all-to-alls overlap another microbatch's compute, `deepep` or `hybridep`
    /// beside expert parallelism where that dispatcher carries the tokens); "no-sync" where `noSync` says the plan's ZeRO-3 gradients
    /// accumulate unsharded (`TrainingPlan.accumulatesUnshardedGradients`, which the plan `TrainingPlan.megatron` lays
    /// out says in its own `summary`); then the settings that differ from `TrainingOptions`' defaults
    /// (`TrainingOptions.settingsText(gathersWeights:)`), so that the line names every option `score` needs to price
    /// the same plan.
    public func summary(dataParallel: Int, noSync: Bool = false) -> String {
        var text = "tp=\(tensorParallel) pp=\(pipelineParallel) dp=\(dataParallel) mbs=\(microBatchSize)"
        if virtualStages > 1 { text += " vp=\(virtualStages)" }
        if let firstStageLayers { text += " first=\(firstStageLayers)" }
        if let lastStageLayers { text += " last=\(lastStageLayers)" }
        if let counted = layerSplit.countedLayersText { text += " \(counted)" }
        if contextParallel > 1 {
            text += " cp=\(contextParallel)"
            if options.contextParallelCommunication != .ring { text += " cp-comm=\(options.contextParallelCommunication.rawValue)" }
            if options.contextParallelCommunication == .hierarchical, let contextAllToAll { text += " cp-a2a=\(contextAllToAll)" }
        }
        if expertParallel > 1 { text += " ep=\(expertParallel)" }
        if foldsExpertsOverTensor { text += " etp=1" }
        if options.overlapExpertParallelCommunication { text += " ep-overlap" }
        if expertParallel > 1 && options.expertDispatcher != .allToAll { text += " \(options.expertDispatcher.rawValue)" }
        if sequenceParallel { text += " sp" }
        if tensorParallel > 1 && !vocabularyParallelEmbedding { text += " whole-embedding" }
        if tensorParallel > 1 && !vocabularyParallelLoss { text += " whole-loss" }
        if options.recompute != .none { text += " recompute=\(options.recomputeName(options.recompute))" }
        if options.zeroStage > 0 { text += " zero=\(options.zeroStage)" }
        if let group = options.zeroShardGroup { text += " shard=\(group)" }
        if noSync { text += " no-sync" }
        // Without tensor parallelism there is nothing for its overlap to hide (`TrainingPlan.ineffectiveOptions`).
        var shown = options
        shown.overlapTensorParallelCommunication = options.overlapTensorParallelCommunication && tensorParallel > 1
        text += shown.settingsText(gathersWeights: options.zeroStage >= 3)
        return text
    }

}
