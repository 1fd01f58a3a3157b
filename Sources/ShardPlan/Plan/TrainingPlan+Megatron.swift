extension TrainingPlan {
    /// Megatron-LM's layout of `graph` on `cluster`: pipeline ranks own contiguous blocks of devices (tensor
    /// parallelism innermost, then data parallelism, as Megatron orders ranks), the repeated layers are split
    /// over the `pp x vp` chunks as the configuration's `layerSplit` says (the ops before them join the first
    /// chunk, the ops after them the last), and every op gets `MegatronLayout`'s strategy on a `[dp, tp]` mesh (`[dp/ep, ep, cp, tp]` with
    /// expert and context parallelism, the axes of size 1 left out; `[dp/g, g, cp, tp]` with ZeRO-3 shard groups
    /// of g). A cluster `Cluster.validate()` refuses, a configuration out of range, or options in a precision the
    /// cluster's devices do not run (`TrainingOptions.check(on:)`) is an `InputError`.
    public static func megatron(graph: Graph, cluster: Cluster, clusterName: String,
                                configuration: MegatronConfiguration) throws(InputError) -> TrainingPlan {
        try cluster.validate()
        try configuration.options.check(on: cluster.device)
        return try megatron(graph: graph, cluster: cluster, clusterName: clusterName, configuration: configuration,
                            layers: GraphAnalysis(graph).layers)
    }

    /// Megatron-LM's mesh of one pipeline rank: `[dp, tp]`, its data axis cut into `[dp/g, g]` by ZeRO-3 shard groups
    /// of g or into `[dp/e, e]` by expert parallelism, and a context axis before the tensor one, cut into `[cp/a, a]`
    /// by hierarchical context parallelism's all-to-all groups of `contextAllToAll` a; axes of size 1
    /// are left out. `e` is the expert-parallel size over `expertFold` (`MegatronConfiguration.expertFold`: the
    /// context- and tensor-parallel ranks expert parallelism folds over). The Megatron grid's estimates lay
    /// configurations out on the same mesh.
    static func megatronMeshShape(dataParallel dp: Int, tensorParallel tp: Int, contextParallel cp: Int = 1,
                                  contextAllToAll: Int? = nil, expertParallel ep: Int = 1, expertFold: Int = 1,
                                  shardGroup: Int? = nil) -> [Int] {
        let expertRanks = ep / expertFold
        let data = shardGroup.map { [dp / $0, $0] } ?? [dp / expertRanks] + (expertRanks > 1 ? [expertRanks] : [])
        let context = cp == 1 ? [] : contextAllToAll.map { [cp / $0, $0] } ?? [cp]
        return data + context + [tp]
    }

    /// The all-to-all group of `configuration`'s hierarchical context parallelism for attention of `heads` on a cluster
    /// of NVLink domains of `devicesPerDomain`: its own, or `MegatronConfiguration.defaultContextAllToAll`'s; nil under
    /// any other exchange or without context parallelism. An error names the option where its own does not divide the
    /// ranks between 1 and cp, or where no default fits.
    public static func contextAllToAll(of configuration: MegatronConfiguration, devicesPerDomain: Int,
                                       heads: [AttentionHeads]) throws(InputError) -> Int? {
        let cp = configuration.contextParallel
        guard configuration.options.contextParallelCommunication == .hierarchical, cp > 1 else { return nil }
        let sizes = MegatronConfiguration.contextAllToAllSizes(contextParallel: cp)
        if let group = configuration.contextAllToAll {
            guard sizes.contains(group) else {
                throw InputError(.invalidValue, at: JSONPath([.key("contextAllToAll")]), contextAllToAllRefusal(group, contextParallel: cp))
            }
            return group
        }
        let tp = configuration.tensorParallel
        guard let group = MegatronConfiguration.defaultContextAllToAll(contextParallel: cp, tensorParallel: tp,
                                                                       devicesPerDomain: devicesPerDomain, heads: heads) else {
            let preface = "a2a+p2p splits the context-parallel ranks into all-to-all groups inside a ring of more than one, and "
            guard !sizes.isEmpty else {
                throw InputError(.invalidValue, at: JSONPath([.key("options"), .key("cp_comm_type")]), preface
                                 + "cp = \(cp) has no divisor strictly between 1 and \(cp): give a cp such as 4, or --cp-comm-type a2a or p2p")
            }
            let groups = "A = " + Self.alternatives(sizes.map(String.init))
            let fitting = sizes.filter { devicesPerDomain % (tp * $0) == 0 }
            let reason: String
            if fitting.isEmpty {
                let ranks = "tp x A = " + Self.alternatives(sizes.map { String(tp * $0) })
                let divisors = "(the divisors of cp = \(cp) strictly between 1 and \(cp); A = 1 would leave no all-to-all)"
                reason = (tp >= devicesPerDomain
                    ? "tp = \(tp) fills an NVLink domain of \(devicesPerDomain) by itself, so a group of \(groups) context-parallel ranks beside it "
                        + "\(divisors) spans \(ranks) ranks across domains"
                    : "no group of \(groups) context-parallel ranks \(divisors) has \(ranks) ranks that divide an NVLink domain of \(devicesPerDomain)")
                    + ": give --cp-a2a-size for groups that cross domains, a smaller --tp, or --cp-comm-type p2p"
            } else {
                let undivided = AttentionHeads.undivided(heads, over: tp * fitting.max()!) ?? "the heads"
                reason = "the groups that fit an NVLink domain of \(devicesPerDomain) (A = \(Self.alternatives(fitting.map(String.init)))) split the model's "
                    + "heads: tp x A = \(Self.alternatives(fitting.map { String(tp * $0) })) ranks do not divide its \(undivided); "
                    + "give --cp-a2a-size for groups that split heads or cross domains, or --cp-comm-type p2p"
            }
            throw InputError(.invalidValue, at: JSONPath([.key("contextAllToAll")]), preface + reason)
        }
        return group
    }

    /// Why `group` is no all-to-all group of hierarchical context parallelism over `cp` ranks (it is not one of
    /// `MegatronConfiguration.contextAllToAllSizes`), as the rest of a sentence after the option's name.
    public static func contextAllToAllRefusal(_ group: Int, contextParallel cp: Int) -> String {
        let sizes = MegatronConfiguration.contextAllToAllSizes(contextParallel: cp)
        let choices = sizes.isEmpty ? "cp = \(cp) has none, so give a cp such as 4" : "give " + alternatives(sizes.map(String.init))
        return "hierarchical context parallelism runs an all-to-all group inside a ring of more than one: its group must divide "
            + "cp = \(cp) and lie strictly between 1 and \(cp) (1 would leave no all-to-all, \(cp) no ring), found \(group); \(choices)"
    }

    /// "2", "2 or 4", "2, 4 or 8".
    static func alternatives(_ items: [String]) -> String {
        items.count < 2 ? items.joined() : items.dropLast().joined(separator: ", ") + " or " + items.last!
    }

    /// `megatron(graph:cluster:clusterName:configuration:)` with the graph's layers already found.
    static func megatron(graph: Graph, cluster: Cluster, clusterName: String, configuration: MegatronConfiguration,
                         layers: [Layer]) throws(InputError) -> TrainingPlan {
        let tp = configuration.tensorParallel, pp = configuration.pipelineParallel, vp = configuration.virtualStages
        func invalid(_ option: String, _ message: String) -> InputError {
            // A path of the configuration's properties ("tensorParallel", "options.zero_shard_group").
            InputError(.invalidValue, at: JSONPath(option.split(separator: ".").map { .key(String($0)) }), message)
        }
        guard tp >= 1 else { throw invalid("tensorParallel", "the tensor-parallel size must be at least 1, found \(tp)") }
        guard pp >= 1 else { throw invalid("pipelineParallel", "the pipeline-parallel size must be at least 1, found \(pp)") }
        guard vp >= 1 else { throw invalid("virtualStages", "the number of virtual stages must be at least 1, found \(vp)") }
        guard configuration.microBatchSize >= 1 else {
            throw invalid("microBatchSize", "the microbatch size must be at least 1, found \(configuration.microBatchSize)")
        }
        try configuration.options.checkRanges(zeroStageAt: JSONPath([.key("options"), .key("zero_stage")]),
                                               recomputedBlocksAt: JSONPath([.key("options"), .key("recompute_blocks")]))
        let cp = configuration.contextParallel, ep = configuration.expertParallel
        guard cp >= 1 else { throw invalid("contextParallel", "the context-parallel size must be at least 1, found \(cp)") }
        guard ep >= 1 else { throw invalid("expertParallel", "the expert-parallel size must be at least 1, found \(ep)") }
        guard vp == 1 || pp > 1 else {
            throw invalid("virtualStages", "model chunks split each pipeline rank's layers: \(vp) chunks need 2 or more pipeline ranks, not \(pp)")
        }
        if let schedule = configuration.schedule, (schedule == .interleaved) != (vp > 1) {
            throw invalid("schedule", vp > 1 ? "\(vp) chunks per rank run the interleaved-1f1b schedule, not \(schedule.rawValue)"
                                               : "the interleaved-1f1b schedule runs 2 or more chunks per rank; give --virtual-stages")
        }
        guard !configuration.sequenceParallel || tp > 1 else {
            throw invalid("sequenceParallel", "sequence parallelism splits norms and dropout over the tensor-parallel group; give --tp 2 or more")
        }
        for case (let option, let layer, false) in [("vocabularyParallelEmbedding", "embedding", configuration.vocabularyParallelEmbedding),
                                                    ("vocabularyParallelLoss", "loss", configuration.vocabularyParallelLoss)] where tp < 2 {
            throw invalid(option, "a whole-vocabulary \(layer) on every tensor-parallel rank needs tensor parallelism; give --tp 2 or more")
        }
        guard ep == 1 || graph.operations.contains(where: { MegatronLayout.expertGEMMIndex($0, graph: graph) != nil }) else {
            throw invalid("expertParallel", "expert parallelism splits a mixture of experts' expert layers, and \(graph.name) has none")
        }
        let devices = cluster.deviceCount
        let modelParallel = tp * pp * cp
        guard devices % modelParallel == 0 || configuration.dataParallel != nil && modelParallel <= devices else {
            // The option at fault: cp where tp x pp alone divides the devices.
            let option = cp > 1 && devices % (tp * pp) == 0 ? "contextParallel" : "tensorParallel"
            let product = "tp x pp\(cp > 1 ? " x cp" : "") = \(modelParallel)"
            throw invalid(option, modelParallel > devices ? "\(product) is more than the cluster's \(devices) device\(devices == 1 ? "" : "s")"
                                                          : "\(product) does not divide the cluster's \(devices) devices; pass --dp")
        }
        let dp = configuration.dataParallel ?? devices / modelParallel
        guard dp >= 1, modelParallel * dp <= devices else {
            throw invalid("dataParallel", "tp x pp\(cp > 1 ? " x cp" : "") x dp = \(modelParallel * max(dp, 0)) is more than the cluster's \(devices) device\(devices == 1 ? "" : "s")")
        }
        if let etp = configuration.expertTensorParallel {
            guard etp == 1 || etp == tp else {
                throw invalid("expertTensorParallel", "the expert tensor-parallel size is 1 (whole experts, expert parallelism folded over the tensor-parallel ranks) or tp = \(tp), found \(etp)")
            }
            guard etp == tp || ep > 1 else {
                throw invalid("expertTensorParallel", "--etp 1 folds the tensor-parallel ranks into expert parallelism; give --ep \(tp) or more")
            }
        }
        // Megatron-Core's expert ranks follow the expert tensor-parallel ones: the context-parallel ranks, the
        // tensor-parallel ones under --etp 1, then data-parallel ones.
        let fold = configuration.expertFold
        let folded = [(cp > 1, "cp = \(cp)"), (configuration.foldsExpertsOverTensor, "tp = \(tp) (--etp 1)")].filter(\.0).map(\.1)
        guard ep % fold == 0 else {
            throw invalid("expertParallel", "ShardPlan lays each expert group over whole \(folded.joined(separator: " x ")) groups (Megatron-Core's expert rank order takes them first; torchtitan requires it): ep = \(ep) must be a multiple of \(fold)")
        }
        guard dp % (ep / fold) == 0 else {
            let source = fold > 1 ? "ep / \(fold) = \(ep / fold) (the expert ranks beyond the \(folded.joined(separator: " x ")) ranks)" : "ep = \(ep)"
            let hint = configuration.foldsExpertsOverTensor || tp == 1 ? "" : "; --etp 1 folds the tensor-parallel ranks into the expert groups"
            throw invalid("expertParallel", "expert parallelism takes the rest of its ranks from the data-parallel ones: \(source) must divide dp = \(dp)\(hint)")
        }
        let experts = ExpertLayers(graph)
        if ep > 1, let count = experts.expertCounts.first(where: { $0 % ep != 0 }) {
            throw invalid("expertParallel", "each expert-parallel rank holds a whole number of experts: ep = \(ep) does not divide \(count) experts")
        }
        let shardGroup = configuration.options.zeroShardGroup
        if let shardGroup {
            // The group's ZeRO stage is checked with the plan (`checkZeroShardGroup`).
            guard shardGroup >= 1, dp % shardGroup == 0 else {
                throw invalid("options.zero_shard_group", "a shard group of \(shardGroup) does not divide the \(dp) data-parallel ranks")
            }
            guard ep == 1 else {
                throw invalid("options.zero_shard_group", "ShardPlan does not lay out hybrid sharding's groups beside expert parallelism; give one of them")
            }
        }
        let contextAllToAll = try Self.contextAllToAll(of: configuration, devicesPerDomain: cluster.devicesPerDomain,
                                                       heads: AttentionHeads.all(in: graph))
        if cp > 1 {
            guard let length = StageCostModel.sequenceLength(graph, roles: TensorRoles(graph)) else {
                throw invalid("contextParallel", "context parallelism splits each sequence, and \(graph.name) has no input with a sequence dimension")
            }
            guard length % (2 * cp) == 0 else {
                throw invalid("contextParallel", "context parallelism cuts each sequence into 2 x cp load-balanced chunks: the sequence of \(length) is not a multiple of \(2 * cp)")
            }
        }
        guard tp <= cluster.devicesPerDomain || tp % cluster.devicesPerDomain == 0 else {
            throw invalid("tensorParallel", "a tensor-parallel group of \(tp) must fit in an NVLink domain of \(cluster.devicesPerDomain) or be whole domains")
        }
        let batch = graph.batchSize ?? 1
        guard batch % dp == 0 else {
            // Without --dp, dp is what the devices leave: say where it came from.
            let source = configuration.dataParallel == nil
                ? " (the cluster's \(devices) devices over tp x pp\(cp > 1 ? " x cp" : "") = \(modelParallel); pass --dp to use fewer)" : ""
            throw invalid("dataParallel", "the global batch \(batch) does not split over dp = \(dp) data-parallel replicas\(source)")
        }
        guard batch % (configuration.microBatchSize * dp) == 0 else {
            throw invalid("microBatchSize", "the global batch \(batch) is not a multiple of micro-batch-size x dp = \(configuration.microBatchSize * dp)")
        }
        let microbatches = batch / (configuration.microBatchSize * dp)
        let schedule = configuration.schedule ?? (vp > 1 ? .interleaved : .oneForwardOneBackward)
        let chunks = try chunkOperations(graph, pipelinedLayers: repeatedLayers(layers, in: graph), ranks: pp, chunks: vp,
                                         split: configuration.layerSplit)
        // Shard groups that are all the data-parallel ranks are plain ZeRO-3: one data axis.
        let groups = shardGroup.map { $0 < dp } ?? false
        let layout = configuration.layout(shardGroups: groups)
        let meshShape = megatronMeshShape(dataParallel: dp, tensorParallel: tp, contextParallel: cp, contextAllToAll: contextAllToAll,
                                          expertParallel: ep, expertFold: fold, shardGroup: groups ? shardGroup : nil)
        // Hierarchical context parallelism's groups add an axis; beside an expert axis or shard groups that is one more
        // than a mesh holds.
        guard meshShape.count <= DeviceMesh.maximumRank else {
            throw invalid(groups ? "options.zero_shard_group" : "expertParallel",
                          "hierarchical context parallelism (a2a+p2p) lays its groups out as an axis of their own, and beside "
                          + (groups ? "hybrid sharding's shard groups" : "expert parallelism beyond the context-parallel ranks")
                          + " that makes a mesh of \(meshShape.count) axes, more than ShardPlan's \(DeviceMesh.maximumRank)")
        }
        let strategies = layout.strategies(for: graph, meshShape: meshShape)
        let rankSize = dp * cp * tp
        var stages: [StageLayout] = []
        for (index, range) in chunks.enumerated() {
            let rank = index % pp
            let deviceIDs = Array(rank * rankSize ..< (rank + 1) * rankSize)
            let mesh = try DeviceMesh(devices: deviceIDs, shape: meshShape,
                                      axisNames: Array(DeviceMesh.defaultAxisNames.prefix(meshShape.count)), in: cluster)
            stages.append(StageLayout(operations: range, mesh: mesh, strategies: Array(strategies[range])))
        }
        var plan = TrainingPlan(graph: graph, cluster: cluster, clusterName: clusterName, stages: stages, pipelineRanks: pp,
                                virtualStages: vp, schedule: schedule, microbatches: microbatches, options: configuration.options)
        // The summary names the all-to-all group the plan was laid out with, given or not.
        var resolved = configuration
        resolved.contextAllToAll = contextAllToAll
        plan.summary = resolved.summary(dataParallel: dp, noSync: plan.accumulatesUnshardedGradients)
        try plan.checkZeroShardGroup(at: JSONPath([.key("options"), .key("zero_shard_group")]))
        return plan
    }

    /// The layers Megatron-LM pipelines, its `--num-layers`: every layer from the first to the last whose structure
    /// repeats, so that blocks of several structures (dense and expert layers alternating, as `--moe-layer-freq 2`
    /// runs them; a few dense layers before the experts; sliding-window layers between global ones) all count, and
    /// the embedding and the head, which occur once, do not; then the transformer blocks next to that range
    /// (`isTransformerBlock`), which count although their structure occurs once (DeepSeek-V2-Lite's one dense block
    /// before the experts). Where no structure repeats, the blocks from the first to the last; a model with neither
    /// pipelines its first layer.
    static func repeatedLayers(_ layers: [Layer], in graph: Graph) -> [Layer] {
        let keyCounts = Dictionary(grouping: layers, by: \.shapeKey).mapValues(\.count)
        let sequenceLength = ParallelLayout.sequenceLength(of: graph)
        func isBlock(_ index: Int) -> Bool { isTransformerBlock(layers[index], in: graph, sequenceLength: sequenceLength) }
        guard var first = layers.firstIndex(where: { keyCounts[$0.shapeKey]! > 1 }),
              var last = layers.lastIndex(where: { keyCounts[$0.shapeKey]! > 1 }) else {
            guard let first = layers.indices.first(where: isBlock), let last = layers.indices.last(where: isBlock) else {
                return Array(layers.prefix(1))
            }
            return Array(layers[first ... last])
        }
        while first > 0 && isBlock(first - 1) { first -= 1 }
        while last < layers.count - 1 && isBlock(last + 1) { last += 1 }
        return Array(layers[first ... last])
    }

    /// Whether `layer` is a transformer block: one of its ops is attention's core, a fused attention kernel or the
    /// softmax of explicit attention over scores with two dimensions as long as the sequence
    /// (`StageCostModel.marksTransformerBlock`, judged by the shapes alone, on the layer's ops only).
    static func isTransformerBlock(_ layer: Layer, in graph: Graph, sequenceLength: Int?) -> Bool {
        graph.operations[layer.operations].contains { operation in
            StageCostModel.marksTransformerBlock(operation) { value in
                guard let sequenceLength, sequenceLength > 1 else { return false }
                return graph[value].type.shape.filter { $0 == sequenceLength }.count >= 2
            }
        }
    }

    /// Cuts the graph into `ranks x chunks` contiguous chunks in pipeline order (chunk g on rank g mod ranks),
    /// holding the pipelined layers (`repeatedLayers`) as `split` gives them (`MegatronLayerSplit.chunkLayers`): the
    /// ops before the first of them join the first chunk and the ops after the last one the last chunk.
    static func chunkOperations(_ graph: Graph, pipelinedLayers body: [Layer], ranks: Int, chunks: Int,
                                split: MegatronLayerSplit = MegatronLayerSplit()) throws(InputError) -> [Range<Int>] {
        let count = ranks * chunks
        // A chunk holds a repeated layer, or the embedding or the loss where the split counts them as layers.
        let counted = [split.embeddingInPipelineSplit ? "the embedding" : nil, split.lossInPipelineSplit ? "the loss" : nil].compactMap { $0 }
        guard body.count + counted.count >= count else {
            let layers = "\(body.count) repeated layer\(body.count == 1 ? "" : "s")" + (counted.isEmpty ? "" :
                " and \(counted.joined(separator: " and ")) counted as \(counted.count == 1 ? "a layer" : "layers"), \(body.count + counted.count) in all")
            throw InputError(.invalidValue, at: JSONPath([.key("pipelineParallel")]), "the model has \(layers), too few for \(count) pipeline chunk\(count == 1 ? "" : "s")")
        }
        let sizes = try split.chunkLayers(layers: body.count, ranks: ranks, chunks: chunks)
        var boundaries: [Int] = [0]
        var next = 0
        for size in sizes.dropLast() {
            next += size
            // After every repeated layer, the last chunk holds the loss alone.
            boundaries.append(next < body.count ? body[next].operations.lowerBound : body[body.count - 1].operations.upperBound)
        }
        boundaries.append(graph.operations.count)
        return (0 ..< count).map { boundaries[$0] ..< boundaries[$0 + 1] }
    }
}

extension MegatronConfiguration {
    /// Why Megatron-Core cannot run this configuration's split of `graph`'s pipelined layers
    /// (`TrainingPlan.repeatedLayers`) over its pipeline chunks, which `TrainingPlan.megatron` still lays out and
    /// prices (where the layers do not divide, each chunk takes the floor or the ceiling of their share, the lighter
    /// chunks spread over the pipeline: 3/3/4/3/4/3/4 for 24 over 7), or nil where some setting of
    /// Megatron-Core's gives the same counts (`MegatronLayerSplit(chunkLayers:ranks:)`: 4/5/5/5/5 is
    /// `--decoder-first-pipeline-num-layers 4`, which the exports write).
    public func unrunnableLayerSplit(of graph: Graph) -> String? {
        let chunks = pipelineParallel * virtualStages
        guard chunks > 1 else { return nil }
        let layers = TrainingPlan.repeatedLayers(GraphAnalysis(graph).layers, in: graph).count
        guard let sizes = try? layerSplit.chunkLayers(layers: layers, ranks: pipelineParallel, chunks: virtualStages),
              MegatronLayerSplit(chunkLayers: sizes, ranks: pipelineParallel) == nil else { return nil }
        return "Megatron-Core splits \(layers) repeated layers over pp x vp = \(chunks) chunks only evenly, evenly but for the "
            + "first and last rank (--decoder-first-pipeline-num-layers, --decoder-last-pipeline-num-layers) or with the "
            + "embedding or the loss counted as a layer; the prediction is of \(sizes.map(String.init).joined(separator: "/")) "
            + "a chunk, which it refuses"
    }

    /// Why the frameworks cannot run this tensor-parallel degree on `graph`: Megatron-Core, NeMo and torchtitan split
    /// attention by whole heads over the tensor-parallel ranks (Megatron-Core's `TransformerConfig` asserts that
    /// `num_attention_heads` and `num_query_groups` are multiples of the tensor-parallel size; torchtitan's attention
    /// views each rank's share of q, k and v as whole heads), where the cost model also prices a degree that splits
    /// heads (`MegatronLayout`); nil where the degree divides every head count.
    public func unrunnableHeadSplit(of graph: Graph) -> String? {
        Self.headSplitProblem(tensorParallel: tensorParallel, heads: AttentionHeads.all(in: graph))
    }

    /// Why Megatron-Core cannot run this context-parallel degree on `graph`: TransformerEngine's context parallelism
    /// refuses sliding-window attention in its default ring (`cp_comm_type` p2p, Megatron-LM's `--cp-comm-type`
    /// default; `context_parallel.py` asserts "cannot support sliding window attention" unless the type is `a2a` or
    /// `all_gather`); nil without context parallelism or windowed attention, or under another exchange.
    public func unrunnableContextWindow(of graph: Graph) -> String? {
        Self.contextWindowProblem(contextParallel: contextParallel, windowed: Self.hasWindowedAttention(graph),
                                  communication: options.contextParallelCommunication)
    }

    /// `unrunnableContextWindow` for `contextParallel` ranks exchanging by `communication` and a model with (`windowed`)
    /// or without windowed attention.
    static func contextWindowProblem(contextParallel: Int, windowed: Bool, communication: ContextParallelCommunication) -> String? {
        // Megatron-Core runs its own ring where a plan prices PyTorch's (`TrainingFramework.expressible`).
        guard contextParallel > 1, windowed, communication == .ring || communication == .hierarchical || communication.isPyTorchRing else { return nil }
        let priced = switch communication {
        case .ring: "that ring"
        case .hierarchical: "a2a+p2p, whose groups exchange by that ring"
        default: "PyTorch's ring, which Megatron-Core runs as that one"
        }
        return "TransformerEngine's context-parallel ring (Megatron-Core's default --cp-comm-type p2p) refuses "
            + "sliding-window attention, and the model has some; the prediction is of \(priced), which it refuses "
            + "(its all_gather and a2a types run windows: --cp-comm-type all-gather or all-to-all prices them)"
    }

    /// Why TransformerEngine cannot run this configuration's all-to-all exchange on `graph`: it re-splits each
    /// tensor-parallel rank's query and key/value heads over the context-parallel ranks (`AttnFuncWithCPAndQKVOA2A`
    /// asserts that they divide), or under hierarchical context parallelism over an all-to-all group
    /// (`contextAllToAll`), where the cost model prices any split; nil without context parallelism, under another
    /// exchange, or where `tp x cp` (`tp x` the group) divides every head count.
    public func unrunnableContextHeads(of graph: Graph) -> String? {
        Self.contextHeadProblem(tensorParallel: tensorParallel, contextParallel: contextParallel, contextAllToAll: contextAllToAll,
                                heads: AttentionHeads.all(in: graph), communication: options.contextParallelCommunication)
    }

    /// `unrunnableContextHeads` for attention of `heads` over `tensorParallel` and `contextParallel` ranks (in all-to-all
    /// groups of `contextAllToAll` under hierarchical context parallelism) exchanging by `communication`.
    static func contextHeadProblem(tensorParallel: Int, contextParallel: Int, contextAllToAll: Int?, heads: [AttentionHeads],
                                   communication: ContextParallelCommunication) -> String? {
        // Under hierarchical context parallelism a group not yet resolved (`TrainingPlan.contextAllToAll`) says nothing.
        let (group, name) = communication == .hierarchical ? (contextAllToAll, "a2a+p2p") : (contextParallel, "a2a")
        guard contextParallel > 1, communication == .allToAll || communication == .hierarchical, let group,
              let counts = AttentionHeads.undivided(heads, over: tensorParallel * group) else { return nil }
        let product = communication == .hierarchical ? "tp x its all-to-all group" : "tp x cp"
        return "TransformerEngine's all-to-all exchange (--cp-comm-type \(name)) gives each rank of its group whole heads of "
            + "each tensor-parallel rank's share, and \(product) = \(tensorParallel * group) does not divide the model's "
            + "\(counts); the prediction is of a split it refuses"
    }

    /// Whether any attention op of `graph` reads a sliding window of keys.
    static func hasWindowedAttention(_ graph: Graph) -> Bool {
        graph.operations.contains { if case .attention(_, .some, _) = $0.op { true } else { false } }
    }

    /// Whether any attention op of `graph` has attention sinks (a learned logit in each head's softmax, gpt-oss's).
    static func hasAttentionSinks(_ graph: Graph) -> Bool {
        graph.operations.contains { if case .attention(_, _, true) = $0.op { true } else { false } }
    }

    /// Why Megatron-Core cannot run this context-parallel exchange on `graph`: TransformerEngine's context parallelism
    /// runs attention with sinks (a softmax other than the vanilla one, `softmax_type = "learnable"`) only under its
    /// all-to-all exchange, and Megatron-Bridge's gpt-oss recipe sets `cp_comm_type = "a2a"` for it; nil without context
    /// parallelism or sinks, or under the all-to-all.
    public func unrunnableContextSinks(of graph: Graph) -> String? {
        Self.contextSinkProblem(contextParallel: contextParallel, sinks: Self.hasAttentionSinks(graph),
                                communication: options.contextParallelCommunication)
    }

    /// `unrunnableContextSinks` for `contextParallel` ranks exchanging by `communication` and a model with (`sinks`) or
    /// without attention sinks.
    static func contextSinkProblem(contextParallel: Int, sinks: Bool, communication: ContextParallelCommunication) -> String? {
        guard contextParallel > 1, sinks, communication != .allToAll else { return nil }
        return "TransformerEngine's context parallelism runs attention sinks, which the model has, only under its all-to-all "
            + "exchange (--cp-comm-type a2a, as Megatron-Bridge's gpt-oss recipe sets); the prediction is of "
            + "\(communication.rawValue), which it refuses (--cp-comm-type all-to-all prices the all-to-all)"
    }

    /// `unrunnableHeadSplit` for attention of `heads`.
    static func headSplitProblem(tensorParallel: Int, heads: [AttentionHeads]) -> String? {
        guard let counts = AttentionHeads.undivided(heads, over: tensorParallel) else { return nil }
        return "Megatron-Core, NeMo and torchtitan split attention by whole heads over the tensor-parallel ranks, and tp = "
            + "\(tensorParallel) does not divide the model's \(counts); the prediction is of a split they refuse"
    }
}
