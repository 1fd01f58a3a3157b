/// A published run replayed through ShardPlan: the graph and plan that express it, and the predicted
/// against the measured iteration time.
public struct CalibrationRun: Sendable {
    public var run: PublishedRun
    public var predictedSeconds: Double
    public var peakMemoryBytes: Double
    /// The largest rank's peak of live tensors (`PlanPrediction.Rank.peakTensorBytes`).
    public var peakTensorBytes: Double { prediction.ranks.map(\.peakTensorBytes).max() ?? 0 }
    public var fitsInMemory: Bool
    /// The full prediction: where the time goes, per rank.
    public var prediction: PlanPrediction
    /// The plan that expresses the run.
    public var plan: TrainingPlan
    /// The run's Megatron configuration, which `plan` lays out.
    public var configuration: MegatronConfiguration
    /// `(predicted - measured) / measured`.
    public var relativeError: Double { predictedSeconds / run.iterationSeconds! - 1 }

    /// What replaying `run` takes: a graph of its family and dimensions with attention as the row ran it
    /// (explicit for the 2021-2022 Megatron-LM runs, which predate fused attention; the row's fused kernel
    /// otherwise), its cluster preset, and its Megatron configuration.
    public static func replay(_ run: PublishedRun) throws(InputError)
        -> (graph: Graph, cluster: Cluster, clusterName: String, configuration: MegatronConfiguration) {
        var configuration: TransformerConfiguration
        switch run.architecture {
        case "llama":
            configuration = .llama(layers: run.layers, hidden: run.hidden, heads: run.heads,
                                   keyValueHeads: run.keyValueHeads ?? run.heads, feedForwardHidden: run.feedForwardHidden,
                                   vocabulary: run.vocabulary, sequenceLength: run.sequenceLength, globalBatch: run.globalBatch)
        case "gpt", "mpt":
            configuration = .gpt(layers: run.layers, hidden: run.hidden, heads: run.heads, vocabulary: run.vocabulary,
                                 sequenceLength: run.sequenceLength, globalBatch: run.globalBatch)
            configuration.feedForwardHidden = run.feedForwardHidden
            // A row's grouped-query attention holds in any family (checked, with the heads, by the builder).
            configuration.keyValueHeads = run.keyValueHeads ?? run.heads
            if run.architecture == "mpt" {
                // MPT: no dropout. Its linear layers and LayerNorms keep their biases: llm-foundry's benchmark yamls
                // leave MPTConfig's no_bias at False, and the benchmark table's NumParams counts the biases.
                configuration.dropoutRate = 0
            }
        default:
            throw InputError(.invalidValue, at: JSONPath([.key("architecture")]), "row \(run.id): unknown architecture \"\(run.architecture)\"; known: gpt, llama, mpt")
        }
        if let dropout = run.dropout { configuration.dropoutRate = dropout }
        if let tied = run.tiedEmbeddings { configuration.tiedEmbeddings = tied }
        guard let fusion = KernelFusionLevel(rawValue: run.fusion ?? "fused") else {
            throw InputError(.invalidValue, at: JSONPath([.key("fusion")]),
                             "row \(run.id): unknown fusion \"\(run.fusion!)\"; known: \(KernelFusionLevel.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let kernel = run.attention.flatMap(AttentionKernel.init(rawValue:))
        guard run.attention == nil || run.attention == "explicit" || kernel != nil else {
            throw InputError(.invalidValue, at: JSONPath([.key("attention")]),
                             "row \(run.id): unknown attention \"\(run.attention!)\"; known: explicit, \(AttentionKernel.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if let headDimension = run.headDimension { configuration.headDimension = headDimension }
        if let moe = run.moe {
            configuration.mixtureOfExperts = .init(experts: moe.experts, topK: moe.topK, layerInterval: 1,
                                                   dispatch: .permutation(capacityFactor: nil),
                                                   expertFeedForwardHidden: moe.feedForwardHidden, sharedExperts: moe.shared)
        }
        configuration.attentionImplementation = run.attention == "explicit" ? .explicit : .fused
        configuration.repeatsKeyValueHeads = run.repeatsKeyValueHeads
        if let window = run.slidingWindow {
            configuration.slidingWindow = window.size
            configuration.globalAttentionInterval = window.globalEvery
        }
        // Autocast over fp32 weights without FSDP's 16-bit gathers keeps the residual stream in fp32.
        if run.optimizerState == .fp32Weights && run.zeroStage < 3 { configuration.residualDType = .f32 }
        let graph = try TransformerBuilder(name: run.id, configuration: configuration).build()
        let (clusterName, cluster) = try replayCluster(of: run)
        let recompute = run.recomputeMode
        // Megatron-Core's published runs state `--overlap-grad-reduce --overlap-param-gather
        // --tp-comm-overlap`: the parameter gather needs the distributed optimizer (ZeRO-1) and the
        // tensor-parallel overlap needs sequence parallelism, so both are on there.
        let overlap = run.schedule.contains("--overlap-param-gather")
        let sequenceParallel = run.sequenceParallel || (overlap && run.tensorParallel > 1)
        let zeroStage = overlap ? max(run.zeroStage, 1) : run.zeroStage
        let fp8 = run.precision.hasPrefix("fp8")
        if let recipe = run.fp8Recipe, !fp8 {
            throw InputError(.invalidValue, at: JSONPath([.key("fp8_recipe")]),
                             "row \(run.id): fp8_recipe \"\(recipe.rawValue)\" scales FP8 linear layers, but precision is \"\(run.precision)\", not fp8")
        }
        // torchtitan's and NeMo Automodel's rows run ZeRO-3 as FSDP2 (`fully_shard`), which copies each gathered
        // layer out into its parameters; llm-foundry's run FSDP1's flat parameters.
        let fsdp2 = run.schedule.contains("FSDP2")
        guard let gradientPrecision = GradientPrecision(rowName: run.gradientPrecision ?? GradientPrecision.fp32.rawValue) else {
            throw InputError(.invalidValue, at: JSONPath([.key("grad_sync_dtype")]),
                             "row \(run.id): unknown grad_sync_dtype \"\(run.gradientPrecision!)\"; known: \(GradientPrecision.rowNames.joined(separator: ", "))")
        }
        var options = TrainingOptions(recompute: recompute, recomputedBlocks: run.recomputedBlocks, zeroStage: zeroStage,
                                      overlapGradientReduction: overlap || run.overlapsGradientReduction,
                                      overlapTensorParallelCommunication: overlap, precision: fp8 ? .fp8 : .bf16,
                                      fp8Recipe: run.fp8Recipe ?? .tensorwise,
                                      fp8Parameters: run.fp8Parameters,
                                      attentionKernel: kernel, kernelFusion: fusion, fusedCrossEntropy: run.fusedCrossEntropy,
                                      eagerLoss: run.eagerLoss,
                                      gradientPrecision: gradientPrecision, optimizerState: run.optimizerState,
                                      reduceGradientsInFP32: run.reducesGradientsInFP32, copiesOutGatheredParameters: fsdp2,
                                      zeroShardGroup: run.zeroShardGroup)
        if let conflict = options.fp8ParametersConflict(flag: "fp8_params") {
            throw InputError(.invalidValue, at: JSONPath([.key("fp8_params")]), "row \(run.id): \(conflict)")
        }
        guard !run.accumulatesUnshardedGradients || zeroStage == 3 else {
            throw InputError(.invalidValue, at: JSONPath([.key("fsdp_no_sync")]),
                             "row \(run.id): fsdp_no_sync says how ZeRO-3 reduces gradients over the microbatches; zero_stage is \(zeroStage), not 3")
        }
        options.accumulatesUnshardedGradients = run.accumulatesUnshardedGradients
        options.overlapExpertParallelCommunication = run.overlapsExpertCommunication
        options.expertDispatcher = run.expertDispatcher
        // Megatron-Core's TransformerConfig refuses the experts' overlapped all-to-alls without these.
        if run.overlapsExpertCommunication,
           let problem = ExpertParallelOverlap.problem(splitsExperts: run.expertParallel > 1, fullRecomputation: recompute == .full,
                                                       schedule: run.virtualStages > 1 ? .interleaved : .oneForwardOneBackward,
                                                       pipelineRanks: run.pipelineParallel, virtualStages: run.virtualStages) {
            throw InputError(.invalidValue, at: JSONPath([.key("overlap_moe_comm")]), "row \(run.id): \(problem)")
        }
        options.upcastsLoss = run.upcastsLoss
        options.writesLossGradientInPlace = run.writesLossGradientInPlace
        if let conflict = options.lossUpcastConflict {
            throw InputError(.invalidValue, at: JSONPath([.key("loss_upcast")]), "row \(run.id): \(conflict)")
        }
        var layout = MegatronConfiguration(
            tensorParallel: run.tensorParallel, pipelineParallel: run.pipelineParallel, dataParallel: run.dataParallel,
            microBatchSize: run.microBatchSize ?? 1, virtualStages: run.virtualStages, sequenceParallel: sequenceParallel,
            contextParallel: run.contextParallel, expertParallel: run.expertParallel,
            expertTensorParallel: run.expertTensorParallel, options: options,
            firstStageLayers: run.firstStageLayers, lastStageLayers: run.lastStageLayers,
            embeddingInPipelineSplit: run.embeddingInPipelineSplit, lossInPipelineSplit: run.lossInPipelineSplit)
        layout.vocabularyParallelEmbedding = run.vocabularyParallelEmbedding
        layout.vocabularyParallelLoss = run.vocabularyParallelLoss
        return (graph, cluster, clusterName, layout)
    }

    /// The cluster `run` is replayed on: its `replay_cluster`, else the DGX preset of its GPU with as many nodes as
    /// the row's, each cut to the row's `gpus_per_node` where that is fewer than the preset's (the same GPUs, NVLink
    /// and network figures per GPU: a DGX node has one NIC a GPU), so that the cluster holds exactly the row's GPUs;
    /// the single-GPU preset for a row on one GPU. A GPU without a preset is refused at `gpu`, and nodes larger than
    /// the preset's at `gpus_per_node`: either needs a `replay_cluster`.
    static func replayCluster(of run: PublishedRun) throws(InputError) -> (name: String, cluster: Cluster) {
        if let named = run.replayCluster { return named }
        guard let preset = presetName(forGPU: run.gpu, devices: run.gpuCount) else {
            let known = knownGPUs(devices: run.gpuCount).joined(separator: ", ")
            throw InputError(.invalidReference, at: JSONPath([.key("gpu")]),
                             "row \(run.id): no cluster preset for GPU \"\(run.gpu)\"\(run.gpuCount == 1 ? " alone" : ""); the known GPUs are \(known); "
                             + "for another, name the cluster it ran on with replay_cluster (\(ClusterPreset.nameList)) or give a cluster object there")
        }
        if run.gpuCount == 1 { return (preset, try Cluster.preset(named: preset)) }
        let node = try Cluster.preset(named: preset)
        let nodes = run.gpuCount / run.gpusPerNode
        guard run.gpusPerNode < node.devicesPerNode else {
            guard run.gpusPerNode == node.devicesPerNode else {
                throw InputError(.invalidValue, at: JSONPath([.key("gpus_per_node")]),
                                 "row \(run.id): \(preset) nodes hold \(node.devicesPerNode) GPUs, not \(run.gpusPerNode); "
                                 + "name the cluster the row ran on with replay_cluster (a cluster object with devices_per_node \(run.gpusPerNode))")
            }
            let name = "\(preset):\(nodes)"
            return (name, try Cluster.preset(named: name))
        }
        let name = "\(preset):\(nodes) (nodes of \(run.gpusPerNode) GPUs)"
        return (name, Cluster(name: name, nodes: nodes, devicesPerNode: run.gpusPerNode, device: node.device,
                              intraNode: node.intraNode, interNode: node.interNode))
    }

    /// The GPUs a row may name without a `replay_cluster` (`gpu`, exactly as written), each with its DGX preset and,
    /// where there is one, its single-GPU preset. `H100-SXM5-96GB (HBM2e, 500 W)`, Meta's Grand Teton part, whose
    /// figures are not published, is replayed as an H100 SXM5 80GB on purpose: Docs/calibration/torchtitan-h100-96gb.json
    /// keeps its rows apart for their printed memory, expecting them fast.
    static let gpuPresets: [(gpu: String, node: String, single: String?)] = [
        ("A100-SXM4-80GB", "dgx-a100-80g", "single-a100-80g"), ("A100-SXM4-40GB", "dgx-a100-40g", nil),
        ("H100-SXM5-80GB", "dgx-h100", "single-h100"), ("H100-SXM5-96GB (HBM2e, 500 W)", "dgx-h100", "single-h100"),
        ("H200-SXM-141GB", "dgx-h200", "single-h200"), ("B200-180GB", "dgx-b200", nil),
    ]

    /// The GPUs `gpuPresets` replays on `devices` GPUs, for messages.
    static func knownGPUs(devices: Int) -> [String] {
        gpuPresets.filter { devices > 1 || $0.single != nil }.map(\.gpu)
    }

    /// The cluster preset of a row's GPU (`gpuPresets`, the name matched exactly): a DGX node, or the single-GPU
    /// preset for a row on one device; nil for any other name.
    public static func presetName(forGPU gpu: String, devices: Int = 8) -> String? {
        guard let known = gpuPresets.first(where: { $0.gpu == gpu }) else { return nil }
        return devices == 1 ? known.single : known.node
    }

    /// Replays `run`: a GPT graph of its dimensions (explicit attention for the 2021-2022 Megatron-LM runs,
    /// which predate fused attention; fused attention for Megatron-Core), its cluster preset, and its
    /// configuration: the same constants for every row.
    public init(_ run: PublishedRun) throws(InputError) {
        self.run = run
        let replay: (graph: Graph, cluster: Cluster, clusterName: String, configuration: MegatronConfiguration)
        let plan: TrainingPlan
        do {
            replay = try Self.replay(run)
            plan = try TrainingPlan.megatron(graph: replay.graph, cluster: replay.cluster, clusterName: replay.clusterName,
                                             configuration: replay.configuration)
        } catch {
            throw run.attributed(error)
        }
        let cluster = replay.cluster
        let prediction = PlanEvaluator(cluster: cluster).evaluate(plan)
        predictedSeconds = prediction.iterationSeconds
        peakMemoryBytes = prediction.peakMemoryBytesPerDevice
        fitsInMemory = prediction.fitsInMemory
        self.prediction = prediction
        self.plan = plan
        configuration = replay.configuration
    }
}
