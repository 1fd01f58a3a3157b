/// The configurations a Megatron-LM user would try: every tensor-parallel size up to a node that splits attention
/// by whole heads, every pipeline depth up to the repeated layers that divides the devices (with lighter or heavier
/// first and last ranks, `--decoder-first/last-pipeline-num-layers`, where the layers do not split evenly or where
/// the ends deserve fewer, and, interleaved, with the embedding or the loss counted as a layer,
/// `--account-for-embedding/loss-in-pipeline-split`), for long sequences every context-parallel size that leaves each
/// rank `minimumContextShare` tokens or more (`--context-parallel-size`; with sliding-window attention, which
/// Megatron-Core's default ring refuses, under the all-gather exchange, `--cp-comm-type all_gather`; under the
/// all-to-all, `--cp-comm-type a2a`, only sizes whose `tp x cp` divides the heads), the data
/// parallelism the devices leave, for a
/// mixture of experts every expert-parallel size that divides it and the experts (`--expert-model-parallel-size`), microbatch
/// sizes, interleaving, sequence parallelism and the distributed optimizer (ZeRO-1), and, without a pipeline where
/// data or context parallelism shards, Megatron-FSDP's ZeRO-2 and 3 too. Every configuration is one
/// Megatron-Core runs: each rank's layers divide over its chunks (`MegatronLayerSplit.runs`). The pipeline
/// planner prices them next to the stage DP's plans as a check: the DP's space holds every stage of these
/// configurations, so the DP should not lose.
public struct MegatronGrid: Sendable {
    /// Samples per microbatch and data-parallel replica to try.
    public var microBatchSizes: [Int]
    /// The most model chunks per pipeline rank (interleaved 1F1B).
    public var maximumVirtualStages: Int
    /// How many layers lighter than the middle ranks' share the first and the last rank may be.
    public var maximumEndLightening: Int

    /// How many of the configurations the composed estimates rank fastest are priced exactly by `PlanEvaluator`.
    static let exactlyPricedCount = 4

    /// The fewest tokens of a sequence a context-parallel rank holds in the grid. Published long-sequence layouts keep
    /// 4,096 or more a rank: NeMo's Llama 3 8B at 8,192 tokens runs context parallelism 2 (NeMo 24.07's performance
    /// summary; the `nemo2407-llama3-8b-fp8-cp2` calibration row), Meta's Llama 3 405B at 131,072 tokens runs 16
    /// (Llama 3 paper, Table 4: 8,192 a rank). Below that share a rank's attention is too short for the ring's
    /// K/V exchange to hide behind it, and tensor or data parallelism split the same work for less.
    static let minimumContextShare = 4096

    public init(microBatchSizes: [Int] = [1, 2, 4, 8], maximumVirtualStages: Int = 8, maximumEndLightening: Int = 2) {
        self.microBatchSizes = microBatchSizes
        self.maximumVirtualStages = maximumVirtualStages
        self.maximumEndLightening = maximumEndLightening
    }

    /// The microbatch sizes to try for `batch` samples over `dp` replicas, each dividing a replica's share:
    /// `microBatchSizes`, and without a pipeline, whose microbatches only bound the activations in flight, the
    /// divisors of the share up to 8 samples or down to 8 microbatches (one microbatch a replica at most) and the
    /// powers of two between: a small model runs fastest in the fewest microbatches that fit, and GPT-3 175B's share
    /// of 6 fits in 2 microbatches of 3 where 6 does not (the memory estimate drops those that do not fit). Not every
    /// divisor: a share of 15,360 has 44, each a layer profile to price. Ascending.
    func microBatchSizes(batch: Int, dataParallel dp: Int, pipelineParallel pp: Int) -> [Int] {
        let share = batch / dp
        let unpipelined = pp == 1 ? share.divisors.filter { $0 <= 8 || share / $0 <= 8 || $0.nonzeroBitCount == 1 } : []
        return Set((microBatchSizes + unpipelined).filter { $0 > 0 && batch % ($0 * dp) == 0 }).sorted()
    }

    /// The configurations of `graph` on `cluster` with `options`, in a fixed order, without those whose
    /// parameters' training state alone, spread evenly over tensor and pipeline ranks, exceeds a device's
    /// memory. `maximumStageCount` bounds the pipeline depth, `meshShape` the `[dp, tp]` mesh of every stage (and
    /// so leaves context parallelism out) and `microbatches` the microbatch count, when given. Each configuration takes the lightest
    /// recomputation of `variants` and, where data or context parallelism leaves something to shard, its distributed
    /// optimizer (ZeRO-1) when `variants` allows it, else ZeRO-2 when it allows that (`plan --emit torchtitan`, whose
    /// FSDP has no ZeRO-1), else its least ZeRO stage up to 1; without a pipeline, also each of ZeRO-2 and ZeRO-3 that
    /// `variants` allows (Megatron-FSDP). `variants`, where given, must hold a ZeRO stage and a recomputation mode (a
    /// programmer's error otherwise, which traps; `PipelinePlanner.plan` refuses such variants with an `InputError`).
    /// Only configurations that keep `pins` are made; a pinned context-parallel size is tried wherever it cuts the
    /// sequence into its load-balanced chunks, whatever share of it each rank keeps.
    public func configurations(for graph: Graph, on cluster: Cluster, options: TrainingOptions, analysis: GraphAnalysis,
                               maximumStageCount: Int? = nil, meshShape: [Int]? = nil, microbatches fixed: Int? = nil,
                               variants: StageSearchOracle.Variants? = nil, pins: ParallelPins = ParallelPins()) -> [MegatronConfiguration] {
        let blocks = TrainingPlan.repeatedLayers(analysis.layers, in: graph).count
        let devices = cluster.deviceCount
        let batch = graph.batchSize ?? 1
        let budget = cluster.device.memoryBytes - TrainingOptions.frameworkOverheadBytes
        let recompute = variants?.recomputeModes.min { $0.strength < $1.strength } ?? options.recompute
        let zeroStages = variants?.zeroStages ?? [options.zeroStage]
        let heads = AttentionHeads.all(in: graph)
        let experts = ExpertLayers(graph)
        let sequenceLength = StageCostModel.sequenceLength(graph, roles: TensorRoles(graph))
        let contextSizes = meshShape != nil ? [1]
            : pins.contextParallel.map { cp in cp == 1 || sequenceLength.map { $0 % (2 * cp) == 0 } == true ? [cp] : [] }
                ?? Self.contextParallelSizes(sequenceLength: sequenceLength)
        let windowed = MegatronConfiguration.hasWindowedAttention(graph), sinks = MegatronConfiguration.hasAttentionSinks(graph)
        var result: [MegatronConfiguration] = []
        for (tp, pp, cp) in Self.modelParallelDegrees(heads: heads, blocks: blocks, contextSizes: contextSizes, devices: devices,
                                                      devicesPerDomain: cluster.devicesPerDomain, maximumStageCount: maximumStageCount)
        where pins.tensorParallel.map({ $0 == tp }) ?? true && pins.pipelineParallel.map({ $0 == pp }) ?? true {
            let exchanges = Self.contextExchanges(contextParallel: cp, tensorParallel: tp, options: options, variants: variants,
                                                  windowed: windowed, sinks: sinks, heads: heads,
                                                  devicesPerDomain: cluster.devicesPerDomain)
            if exchanges.isEmpty { continue }
            let dp = devices / (tp * pp * cp)
            if let meshShape, meshShape != [dp, tp] { continue }
            if let pinned = pins.dataParallel, pinned != dp { continue }
            let sizes = microBatchSizes(batch: batch, dataParallel: dp, pipelineParallel: pp)
            // The distributed optimizer shards over the data- and context-parallel ranks together; where it is not
            // allowed (torchtitan has none), FSDP that keeps the gathered weights is the nearest.
            let sharded = dp * cp > 1
            let lightest = sharded && zeroStages.contains(1) ? 1 : sharded && zeroStages.contains(2) ? 2
                : zeroStages.filter { $0 <= 1 }.min() ?? zeroStages.min()!
            // Without a pipeline, Megatron-FSDP's ZeRO-2 and ZeRO-3 as well where allowed (`--use-megatron-fsdp`): the
            // one-stage layouts FSDP runs; pipelined ones keep the lightest stage, which keeps the grid small.
            let zeros = [lightest] + (pp == 1 && sharded ? zeroStages.filter { $0 >= 2 && $0 != lightest } : [])
            // Megatron-Core takes the expert-parallel ranks from the context- and data-parallel ones (and the tensor-
            // parallel ones with whole experts) and refuses them beside hybrid sharding's groups; a fixed mesh is
            // the `[dp, tp]` one.
            let expertLayouts = options.zeroShardGroup == nil && meshShape == nil
                ? experts.parallelLayouts(dataParallel: dp, contextParallel: cp, tensorParallel: tp) : [(1, nil)]
            for ((ep, etp), zero) in expertLayouts.flatMap({ layout in zeros.map { (layout, $0) } })
            where pins.expertParallel.map({ $0 == ep }) ?? true {
                // A bound: every weight counted as an FP8 one where the options keep FP8 weights, the experts' split over
                // their ranks (and over the tensor-parallel ones where each expert is), the other weights over the
                // tensor-parallel ones, and the optimizer state over every data- and context-parallel rank
                // (Megatron's distributed optimizer shards over both). Frozen weights, which hold no gradient or
                // optimizer state, are taken at the most a rank can hold of them: all on the ranks that split them least.
                let expertElements = experts.parameterElements / Double(ep * (etp ?? tp))
                let elements = (Double(analysis.parameterCount) - experts.parameterElements) / Double(tp * pp) + expertElements / Double(pp)
                let frozen = min(Double(analysis.frozenParameterCount) / Double(min(tp, ep * (etp ?? tp)) * pp), elements)
                let trainableState = ParameterState(elements: elements - frozen, dataParallel: Double(dp * cp), zeroStage: zero,
                                                    options: options, fp8Weight: true)
                let frozenState = ParameterState(elements: frozen, dataParallel: Double(dp * cp), zeroStage: zero, options: options,
                                                 fp8Weight: true, trainable: false)
                guard trainableState.totalBytes + frozenState.totalBytes <= budget else { continue }
                for (exchange, split) in exchanges.flatMap({ exchange in layerSplits(blocks: blocks, ranks: pp).map { (exchange, $0) } }) {
                    var configurationOptions = options
                    configurationOptions.recompute = recompute
                    configurationOptions.zeroStage = zero
                    configurationOptions.contextParallelCommunication = exchange
                    for size in sizes {
                        let microbatches = batch / (size * dp)
                        if let fixed, fixed != microbatches { continue }
                        // Megatron interleaves only when the microbatches fill whole rounds of the pipeline. Counting the
                        // embedding or the loss as a layer without interleaving is a lighter first or last rank, tried as that.
                        let interleavings = (1 ... maximumVirtualStages).filter { vp in
                            (vp == 1 ? !split.countsEmbeddingOrLoss : pp > 1 && microbatches % pp == 0)
                                && split.fillsEveryChunk(layers: blocks, ranks: pp, chunks: vp)
                        }
                        for vp in interleavings {
                            // The experts' all-to-alls overlapped too, where asked and Megatron-Core runs it
                            // (`Self.overlapsExpertCommunication`).
                            let overlaps = Self.overlapsExpertCommunication(variants: variants, expertParallel: ep, pipelineParallel: pp,
                                                                            virtualStages: vp, recompute: recompute,
                                                                            oneWorkQueue: (tp > 1 || cp > 1) && zero < 2)
                                ? [false, true] : [configurationOptions.overlapExpertParallelCommunication]
                            // Megatron-LM runs a mixture of experts beside tensor parallelism only with sequence
                            // parallelism (`validate_args`; Megatron-Core's own check is for expert parallelism).
                            let sequenceParallels = tp == 1 ? [false] : experts.expertCounts.isEmpty ? [false, true] : [true]
                            for (overlap, sequenceParallel) in overlaps.flatMap({ overlap in sequenceParallels.map { (overlap, $0) } }) {
                                var variantOptions = configurationOptions
                                variantOptions.overlapExpertParallelCommunication = overlap
                                // torchtitan's standard all-to-all where its DeepEP refuses the layout (HybridEP, priced as
                                // DeepEP, stays for the export to name).
                                if variants?.deduplicatesOnlyWholeExperts == true && ep > 1
                                    && options.expertDispatcher.inTorchTitan(expertsSplitOverTensor: tp > 1 && etp == nil) == .allToAll {
                                    variantOptions.expertDispatcher = .allToAll
                                }
                                var configuration = MegatronConfiguration(
                                    tensorParallel: tp, pipelineParallel: pp, dataParallel: dp, microBatchSize: size,
                                    virtualStages: vp, sequenceParallel: sequenceParallel, contextParallel: cp, expertParallel: ep,
                                    expertTensorParallel: etp, options: variantOptions,
                                    firstStageLayers: split.firstStageLayers, lastStageLayers: split.lastStageLayers,
                                    embeddingInPipelineSplit: split.embeddingInPipelineSplit,
                                    lossInPipelineSplit: split.lossInPipelineSplit)
                                if exchange == .hierarchical {
                                    configuration.contextAllToAll = MegatronConfiguration.defaultContextAllToAll(
                                        contextParallel: cp, tensorParallel: tp, devicesPerDomain: cluster.devicesPerDomain, heads: heads)
                                }
                                result.append(configuration)
                            }
                        }
                    }
                }
            }
        }
        return result
    }

    /// The tensor-, pipeline- and context-parallel degrees a configuration may take on `devices` devices, in the
    /// grid's order: tp a power of two within an NVLink domain that splits every attention of `heads` by whole heads
    /// (Megatron-Core's rule, `MegatronConfiguration.unrunnableHeadSplit`), pp up to the `blocks` repeated layers (and
    /// `maximumStageCount`), cp one of `contextSizes`, their product dividing the devices (the data-parallel degree
    /// is the quotient).
    static func modelParallelDegrees(heads: [AttentionHeads], blocks: Int, contextSizes: [Int], devices: Int,
                                     devicesPerDomain: Int, maximumStageCount: Int? = nil) -> [(tp: Int, pp: Int, cp: Int)] {
        var degrees: [(tp: Int, pp: Int, cp: Int)] = []
        var tp = 1
        while tp <= devicesPerDomain {
            defer { tp *= 2 }
            guard heads.allSatisfy({ $0.divide(over: tp) }) else { continue }
            for pp in 1 ... max(blocks, 1) where pp <= (maximumStageCount ?? pp) {
                for cp in contextSizes where devices % (tp * pp * cp) == 0 { degrees.append((tp, pp, cp)) }
            }
        }
        return degrees
    }

    /// Where no configuration of `graph` on `cluster` splits the global batch, because every degree the grid may
    /// take (`modelParallelDegrees`) leaves a data-parallel degree that does not divide it: the fewest data-parallel
    /// ranks any takes, and the most devices, fewer than the cluster's, over which some configuration would split
    /// the batch (nil where there are none). Nil where some configuration splits it.
    public static func batchObstacle(of graph: Graph, on cluster: Cluster) -> (leastDataParallel: Int, fewerDevices: Int?)? {
        let batch = graph.batchSize ?? 1
        let heads = AttentionHeads.all(in: graph)
        let blocks = TrainingPlan.repeatedLayers(GraphAnalysis(graph).layers, in: graph).count
        let contextSizes = contextParallelSizes(sequenceLength: StageCostModel.sequenceLength(graph, roles: TensorRoles(graph)))
        func degrees(on devices: Int) -> [Int] {
            modelParallelDegrees(heads: heads, blocks: blocks, contextSizes: contextSizes, devices: devices,
                                 devicesPerDomain: cluster.devicesPerDomain).map { devices / ($0.tp * $0.pp * $0.cp) }
        }
        let dataParallel = degrees(on: cluster.deviceCount)
        guard !dataParallel.contains(where: { batch % $0 == 0 }), let least = dataParallel.min() else { return nil }
        let fewer = stride(from: cluster.deviceCount - 1, to: 0, by: -1).first { devices in degrees(on: devices).contains { batch % $0 == 0 } }
        return (least, fewer)
    }

    /// The context-parallel exchanges to try for `cp` context-parallel ranks beside `tp` tensor-parallel ones: the
    /// options' own, or, where the search may choose, each of `variants.contextParallelCommunications`; a model with
    /// sliding windows takes the all-gather where the ring is asked for (TransformerEngine's ring refuses windows,
    /// `unrunnableContextWindow`), one with attention sinks the all-to-all where any of TransformerEngine's exchanges is
    /// (`unrunnableContextSinks`), and the all-to-all is left out where `tp x cp` does not divide the heads
    /// (`unrunnableContextHeads`); hierarchical context parallelism is the all-gather beside windows and is left out
    /// where `cp` has no all-to-all group that fits (`MegatronConfiguration.defaultContextAllToAll` on NVLink domains of
    /// `devicesPerDomain`, whole heads). Without context parallelism, the options' own
    /// (it exchanges nothing).
    static func contextExchanges(contextParallel cp: Int, tensorParallel tp: Int, options: TrainingOptions,
                                 variants: StageSearchOracle.Variants?, windowed: Bool, sinks: Bool,
                                 heads: [AttentionHeads], devicesPerDomain: Int) -> [ContextParallelCommunication] {
        guard cp > 1 else { return [options.contextParallelCommunication] }
        let choices = variants?.contextParallelCommunications ?? []
        var result: [ContextParallelCommunication] = []
        for asked in choices.isEmpty ? [options.contextParallelCommunication] : choices {
            let exchange = runnableExchange(asked, windowed: windowed, sinks: sinks)
            if exchange == .allToAll && !heads.allSatisfy({ $0.divide(over: tp * cp) }) { continue }
            if exchange == .hierarchical {
                guard MegatronConfiguration.defaultContextAllToAll(contextParallel: cp, tensorParallel: tp, devicesPerDomain: devicesPerDomain,
                                                                   heads: heads) != nil else { continue }
            }
            if !result.contains(exchange) { result.append(exchange) }
        }
        return result
    }

    /// The exchange TransformerEngine runs where `asked` is asked for, on a model with sliding windows (`windowed`) or
    /// attention sinks (`sinks`): the all-to-all beside sinks (for any exchange but PyTorch's ring), the all-gather
    /// beside windows where the ring or hierarchical context parallelism is asked for; else `asked`.
    static func runnableExchange(_ asked: ContextParallelCommunication, windowed: Bool, sinks: Bool) -> ContextParallelCommunication {
        sinks && !asked.isPyTorchRing ? .allToAll : windowed && (asked == .ring || asked == .hierarchical) ? .allGather : asked
    }

    /// Why `plan`, a plan the grid laid out with `asked` asked for, exchanges keys and values otherwise: the model's
    /// sliding windows or attention sinks, which TransformerEngine runs only under another exchange
    /// (`runnableExchange`); nil where the plan splits no sequence or runs what was asked.
    public static func exchangeSubstitution(asked: ContextParallelCommunication, in plan: TrainingPlan) -> String? {
        let runs = plan.options.contextParallelCommunication
        let sinks = MegatronConfiguration.hasAttentionSinks(plan.graph)
        guard plan.splitsContext, runs != asked,
              runs == runnableExchange(asked, windowed: MegatronConfiguration.hasWindowedAttention(plan.graph), sinks: sinks) else { return nil }
        return "the plan exchanges keys and values by \(runs.rawValue), not the --cp-comm-type \(asked.rawValue) asked for: "
            + (sinks ? "TransformerEngine runs the model's attention sinks only under its all-to-all"
                     : "TransformerEngine's ring refuses the model's sliding windows, which its all-gather runs")
    }

    /// Whether to try a configuration with the experts' all-to-alls overlapped besides the one without: where
    /// `variants` asks (`triesExpertParallelOverlap`) and Megatron-Core's TransformerConfig runs it, with expert
    /// parallelism, without full recomputation and, beside pipelining, under the interleaved schedule; not where the
    /// launch leaves one work queue (`oneWorkQueue`: `CUDA_DEVICE_MAX_CONNECTIONS=1` beside tensor or context
    /// parallelism, `ParallelLayout.torchrunEnvironment`), on which the all-to-alls cannot run beside the compute.
    static func overlapsExpertCommunication(variants: StageSearchOracle.Variants?, expertParallel ep: Int, pipelineParallel pp: Int,
                                            virtualStages vp: Int, recompute: RecomputeMode, oneWorkQueue: Bool) -> Bool {
        variants?.triesExpertParallelOverlap == true && ep > 1 && recompute != .full && (pp == 1 || vp > 1) && !oneWorkQueue
    }

    /// The context-parallel sizes to try for sequences of `sequenceLength` tokens: 1, and each power of two that cuts
    /// a sequence into its `2 x cp` load-balanced chunks evenly and leaves each rank `minimumContextShare` tokens or
    /// more. A graph without a sequence dimension takes 1 only.
    static func contextParallelSizes(sequenceLength: Int?) -> [Int] {
        guard let length = sequenceLength else { return [1] }
        var sizes = [1], size = 2
        while length / size >= minimumContextShare {
            if length % (2 * size) == 0 { sizes.append(size) }
            size *= 2
        }
        return sizes
    }

    /// How `blocks` repeated layers may split over `ranks` ranks: evenly when they divide; with the first and the
    /// last rank lighter by up to `maximumEndLightening` layers each where the rest divides evenly over the middle
    /// ranks; and with the embedding, the loss or both counted as a layer. Which chunk counts each runs with is
    /// `MegatronLayerSplit.runs`'s to say.
    func layerSplits(blocks: Int, ranks: Int) -> [MegatronLayerSplit] {
        guard ranks > 1 else { return [MegatronLayerSplit()] }
        var splits: [MegatronLayerSplit] = []
        if blocks % ranks == 0 { splits.append(MegatronLayerSplit()) }
        for lighterFirst in 0 ... maximumEndLightening {
            for lighterLast in 0 ... maximumEndLightening where lighterFirst + lighterLast > 0 {
                guard (blocks + lighterFirst + lighterLast) % ranks == 0 else { continue }
                let share = (blocks + lighterFirst + lighterLast) / ranks
                guard share - max(lighterFirst, lighterLast) >= 1 else { continue }
                splits.append(MegatronLayerSplit(firstStageLayers: share - lighterFirst, lastStageLayers: share - lighterLast))
            }
        }
        for (embedding, loss) in [(true, false), (false, true), (true, true)] {
            splits.append(MegatronLayerSplit(embeddingInPipelineSplit: embedding, lossInPipelineSplit: loss))
        }
        return splits
    }
}
