/// Reads a `TrainingPlan` back into a uniform `ParallelLayout`: the plan is exactly that layout when
/// `TrainingPlan.megatron` of it gives the same stages (ops, devices, meshes), the same op shardings, the
/// same recomputation and the same microbatches; otherwise the layout is the nearest one and `differences`
/// says, in a sentence each, where the plan departs from it.
///
/// Nearest means: the plan's pipeline ranks, chunks per rank and microbatch count; the tensor-parallel,
/// context-parallel (axes splitting every attention's queries) and expert-parallel (axes splitting every expert
/// GEMM's expert index) degrees of most of its ops; the data-parallel degree that fills a rank's devices; sequence parallelism if
/// the plan splits the sequence of ops outside the tensor-parallel regions; the heaviest recomputation and ZeRO stage any
/// stage uses (so that what fitted still fits); and the plan's split of the repeated layers where Megatron-Core
/// can be told it (`MegatronLayerSplit`), else an even split.
public struct LayoutRecognition: Sendable {
    public var layout: ParallelLayout
    /// The nearest layout's plan.
    public var plan: TrainingPlan
    /// Where the recognised plan departs from `layout`; empty when it is exactly that layout.
    public var differences: [String]

    public var isExact: Bool { differences.isEmpty }

    /// Hierarchical context parallelism's all-to-all group in `plan`: the innermost of the mesh axes that split the
    /// queries of its first attention op that splits them over two or more (`ContextParallelExchange.hierarchy`), where
    /// that group divides `contextParallel` ranks into a ring of more than one; nil for none (the layout then takes
    /// `MegatronConfiguration.defaultContextAllToAll`'s).
    static func contextAllToAll(of plan: TrainingPlan, contextParallel: Int) -> Int? {
        plan.stages.lazy.compactMap { $0.hierarchicalContextGroup(in: plan.graph) }
            .first { $0 < contextParallel && contextParallel % $0 == 0 }
    }

    /// The uniform layout `original` runs. A plan `PlanValidator` refuses (put together or edited in code: no stages,
    /// a strategy per op missing, another graph's ops) is an `InputError`, as `PlanEvaluator.evaluate(checking:)` has it.
    public init(_ original: TrainingPlan) throws(InputError) {
        if let violation = PlanValidator.violation(in: original) {
            throw InputError(.invalidValue, at: .root, "the plan is not sound: \(violation)")
        }
        let graph = original.graph
        let analysis = GraphAnalysis(graph)
        let tensorRoles = TensorRoles(graph)
        let ranks = original.pipelineRanks
        var notes: [String] = []

        // Devices and roles per rank (a rank's chunks share its mesh).
        let rankStages = (0 ..< ranks).map { rank in original.stages.indices.filter { original.rank(ofStage: $0) == rank } }
        let roles = original.stages.map { MegatronSummary.roles(of: $0, graph: graph, roles: tensorRoles) }
        let rankDevices = rankStages.map { original.stages[$0[0]].mesh.deviceCount }
        let degrees = zip(original.stages, roles).map { Self.degrees(of: $0, roles: $1, graph: graph, tensorRoles: tensorRoles) }
        /// The degree of most ops over the stages that show it (`shows`: a stage of the embedding alone, or of the loss
        /// alone, holds no product with a weight, attention or expert to tell it by), with a note where they differ.
        func mostOps(_ stageDegrees: [Int], shows: [Bool], _ name: String) -> Int {
            let voting = shows.contains(true) ? original.stages.indices.filter { shows[$0] } : Array(original.stages.indices)
            var weights: [Int: Int] = [:]
            for stage in voting { weights[stageDegrees[stage], default: 0] += original.stages[stage].operations.count }
            let degree = weights.max { ($0.value, -$0.key) < ($1.value, -$1.key) }!.key
            if Set(voting.map { stageDegrees[$0] }).count > 1 {
                notes.append("stages differ in \(name) degree (\(stageDegrees.map(String.init).joined(separator: ", "))); all take \(degree), the degree of most ops")
            }
            return degree
        }
        let tensorParallel = mostOps(degrees.map(\.tensor), shows: degrees.map(\.showsTensor), "tensor-parallel")
        var contextParallel = mostOps(degrees.map(\.context), shows: degrees.map(\.showsContext), "context-parallel")
        var expertParallel = mostOps(degrees.map(\.expert), shows: degrees.map(\.showsExperts), "expert-parallel")
        // Said only beside another difference: where the nearest layout shards every op as the plan does, a
        // mixed axis (a last chunk whose head reads a weight the tensor axis cannot split) is tensor parallelism.
        let mixedNotesIndex = notes.count
        let mixedAxisNotes = degrees.enumerated().filter { !$0.element.mixedAxes.isEmpty && $0.element.showsTensor }.map { index, degree in
            "stage \(index) splits neither batch nor weights consistently along \(degree.mixedAxes.joined(separator: ", ")); each such axis becomes the parallelism most of its ops take"
        }
        let devicesPerRank = rankDevices.min()!
        if Set(rankDevices).count > 1 {
            notes.append("pipeline ranks have \(rankDevices.map(String.init).joined(separator: ", ")) devices; every rank gets \(devicesPerRank)")
        }
        let batch = graph.batchSize ?? 1
        // Megatron cuts each sequence into 2 x cp load-balanced chunks.
        if contextParallel > 1, let length = ParallelLayout.sequenceLength(of: graph), length % (2 * contextParallel) != 0 {
            notes.append("the sequence of \(length) does not cut into 2 x \(contextParallel) chunks; context parallelism is dropped")
            contextParallel = 1
        }
        if devicesPerRank % (tensorParallel * contextParallel) != 0 {
            notes.append("a rank's \(devicesPerRank) devices do not hold tp x cp = \(tensorParallel * contextParallel); context parallelism is dropped")
            contextParallel = 1
        }
        var dataParallel = max(devicesPerRank / (tensorParallel * contextParallel), 1)
        // The data-parallel replicas must split the global batch.
        while dataParallel > 1 && batch % dataParallel != 0 { dataParallel -= 1 }
        if dataParallel * tensorParallel * contextParallel != devicesPerRank {
            notes.append("a rank's \(devicesPerRank) devices become tp=\(tensorParallel)\(contextParallel > 1 ? " x cp=\(contextParallel)" : "") x dp=\(dataParallel)")
        }
        // Expert parallelism takes the context-parallel ranks first, the tensor-parallel ones where the experts are whole
        // on their ranks (expert tensor parallelism 1), then data-parallel ones.
        var expertTensorParallel: Int? = expertParallel > 1 && tensorParallel > 1 && degrees.contains(where: \.expertsOverTensor) ? 1 : nil
        let experts = MegatronConfiguration(tensorParallel: tensorParallel, pipelineParallel: ranks, contextParallel: contextParallel,
                                            expertParallel: expertParallel, expertTensorParallel: expertTensorParallel)
        if !experts.laysOutExpertGroups(dataParallel: dataParallel) {
            notes.append("expert parallelism over \(expertParallel) devices does not take whole context-\(expertTensorParallel == 1 ? " and tensor-" : "")parallel groups and a divisor of dp=\(dataParallel); the experts are not split")
            expertParallel = 1
            expertTensorParallel = nil
        }
        let perReplica = batch / dataParallel
        let target = max(perReplica / max(original.microbatches, 1), 1)
        // The divisor of a replica's batch closest to the plan's samples per microbatch.
        let microBatchSize = perReplica.divisors.min { abs($0 - target) < abs($1 - target) } ?? 1

        // Recomputation and ZeRO: the heaviest any stage uses.
        let stageRecompute = original.stages.map { $0.recompute ?? original.options.recompute }
        let recompute = stageRecompute.max { $0.strength < $1.strength } ?? original.options.recompute
        if Set(stageRecompute).count > 1 {
            notes.append("stages recompute differently (\(stageRecompute.map(\.rawValue).joined(separator: ", "))); every stage recomputes \(recompute.rawValue)")
        }
        // ZeRO shards over the data- and context-parallel devices: without any, the stages' own stages shard nothing.
        let opZero = dataParallel * contextParallel > 1 ? roles.map(\.zeroStage).max() ?? 0 : 0
        let zeroStage = max(original.options.zeroStage, opZero)
        // Where every parameter already takes the stages' heaviest stage, the plan is that stage throughout.
        let readerStages = original.stages.flatMap { $0.parameterZeroStages(in: graph, planStage: original.options.zeroStage) }
        if opZero > original.options.zeroStage, let lowest = readerStages.min(), lowest < opZero {
            notes.append("ZeRO-\(opZero) shards only some parameters, " + (lowest == 0 ? "none the rest" : "ZeRO-\(lowest) the rest")
                         + "; the settings run ZeRO-\(opZero) on all of them")
        }

        // Repeated layers per rank.
        let (chunkCounts, aligned) = ParallelLayout.chunkLayers(of: original, layers: analysis.layers)
        if !aligned { notes.append("a stage boundary falls inside a repeated layer; stages are cut at layer boundaries") }
        var options = original.options
        options.recompute = recompute
        // A block count is full recomputation's: where the stages recompute less, no block reruns whole.
        if recompute != .full { options.recomputedBlocks = nil }
        // A count above every chunk's blocks reruns every block, as the plan is priced: the settings say that, in
        // their header as in their arguments (Megatron's uniform method over one layer), rather than the count.
        if let blocks = options.recomputedBlocks, let most = chunkCounts.max(), blocks > most {
            notes.append("the plan's count of \(blocks) recomputed blocks a stage is more than the \(most) block\(most == 1 ? "" : "s") any stage holds, "
                         + "so every block reruns, as the plan is priced; the settings recompute every block")
            options.recomputedBlocks = nil
        }
        options.zeroStage = zeroStage
        // Context parallelism whose attention splits the heads (`MegatronSummary.Roles.contextByHeads`) runs Megatron's
        // all-to-all exchange, whatever the plan's options name.
        if contextParallel > 1, roles.contains(where: \.contextByHeads),
           options.contextParallelCommunication != .allToAll && options.contextParallelCommunication != .hierarchical {
            notes.append("attention splits its heads over the context-parallel ranks, as Megatron's all-to-all exchange runs it; the nearest layout takes that exchange")
            options.contextParallelCommunication = .allToAll
        }
        // Sequence parallelism: norms, dropout and residual adds (ops that contract nothing) split the sequence
        // along an axis other than context parallelism's, which splits every op's sequence.
        let sequenceParallel = tensorParallel > 1 && zip(original.stages, degrees).contains { stage, degree in
            stage.operations.contains { op in
                guard !graph.operations[op].op.isContraction, let sequence = tensorRoles.sequenceIndex[op] else { return false }
                return stage.strategy(of: op).indexOfAxis.enumerated().contains { axis, index in
                    index == sequence && stage.mesh.shape[axis] > 1 && !degree.contextAxes.contains(axis)
                }
            }
        }
        // Megatron-LM's chunks hold repeated layers, but for a first chunk of the counted embedding alone and a last of
        // the counted loss alone; the search's may hold the embedding or the head alone elsewhere.
        let repeated = TrainingPlan.repeatedLayers(analysis.layers, in: graph).count
        let expressible = aligned ? MegatronLayerSplit(chunkLayers: chunkCounts, ranks: ranks) : nil
        let virtualStages = expressible != nil ? original.virtualStages : max(1, min(original.virtualStages, repeated / ranks))
        let schedule = original.schedule == .interleaved && virtualStages == 1 ? .oneForwardOneBackward : original.schedule
        // The split Megatron-Core can be told, else the even one (which may give the same counts, priced only).
        let split = virtualStages == original.virtualStages ? expressible ?? MegatronLayerSplit() : MegatronLayerSplit()
        var configuration = MegatronConfiguration(
            tensorParallel: tensorParallel, pipelineParallel: ranks, dataParallel: dataParallel, microBatchSize: microBatchSize,
            virtualStages: virtualStages, sequenceParallel: sequenceParallel, contextParallel: contextParallel,
            expertParallel: expertParallel, expertTensorParallel: expertTensorParallel, schedule: schedule, options: options,
            firstStageLayers: split.firstStageLayers, lastStageLayers: split.lastStageLayers,
            embeddingInPipelineSplit: split.embeddingInPipelineSplit, lossInPipelineSplit: split.lossInPipelineSplit)
        if options.contextParallelCommunication == .hierarchical, contextParallel > 1 {
            configuration.contextAllToAll = Self.contextAllToAll(of: original, contextParallel: contextParallel)
        }
        var nearest: TrainingPlan
        do {
            nearest = try TrainingPlan.megatron(graph: graph, cluster: original.cluster, clusterName: original.clusterName,
                                                configuration: configuration, layers: analysis.layers)
            // The embedding or the loss whole on every tensor-parallel rank (KempnerForge's layout, torchtitan's
            // `disable_loss_parallel`): the variant whose ops are sharded as the plan's are, if one is closer.
            if tensorParallel > 1 {
                var fewest = Self.differingOperations(nearest, original)
                for (embedding, loss) in [(false, true), (true, false), (false, false)] where fewest > 0 {
                    var variant = configuration
                    variant.vocabularyParallelEmbedding = embedding
                    variant.vocabularyParallelLoss = loss
                    guard let plan = try? TrainingPlan.megatron(graph: graph, cluster: original.cluster, clusterName: original.clusterName,
                                                                configuration: variant, layers: analysis.layers) else { continue }
                    let differing = Self.differingOperations(plan, original)
                    if differing < fewest { (fewest, configuration, nearest) = (differing, variant, plan) }
                }
            }
        } catch {
            throw InputError(.invalidValue, at: .root,
                             "no framework layout expresses this plan: the nearest, \(configuration.summary(dataParallel: dataParallel, noSync: original.accumulatesUnshardedGradients)), does not lay out \(graph.name) on \(original.clusterName): \(error.message)")
        }
        let nearestLayers = ParallelLayout.chunkLayers(of: nearest, layers: analysis.layers).counts
        if nearestLayers != chunkCounts {
            notes.append("repeated layers per chunk \(chunkCounts.map(String.init).joined(separator: "/")) become \(nearestLayers.map(String.init).joined(separator: "/"))")
        }
        if original.microbatches != nearest.microbatches {
            notes.append("\(original.microbatches) microbatches become \(nearest.microbatches) (\(microBatchSize) sample\(microBatchSize == 1 ? "" : "s") each on \(dataParallel) replicas)")
        }
        if aligned && nearestLayers == chunkCounts {
            notes += Self.layoutDifferences(nearest, original)
        } else if virtualStages != original.virtualStages {
            notes.append("\(original.virtualStages) chunks per rank become \(virtualStages): the model has \(repeated) repeated layers for \(ranks) ranks")
        }
        if !notes.isEmpty { notes.insert(contentsOf: mixedAxisNotes, at: mixedNotesIndex) }
        layout = ParallelLayout(configuration: configuration, plan: nearest)
        plan = nearest
        differences = notes
    }

    /// A stage's parallel degrees in Megatron's terms. An axis that splits every expert GEMM's expert index is
    /// expert parallelism, and where `MegatronSummary` names it tensor or context parallelism that too, expert
    /// parallelism folded over those ranks (`expertsOverTensor` where the tensor axis splits the experts: expert
    /// tensor parallelism 1); one `MegatronSummary` names tensor or context parallelism is that (`MegatronLayout`'s
    /// context axis splits every attention op's queries), and the mixed ones that split weights at least as often
    /// as the batch add to tensor parallelism. `mixedAxes` are the mixed axes; `contextAxes` the indices of the
    /// context-parallel axes. `showsTensor`, `showsContext` and `showsExperts` say whether the stage holds what tells
    /// each degree (a product with a weight, attention, an expert GEMM): a chunk of the embedding alone or of the loss
    /// alone does not vote on them.
    static func degrees(of stage: StageLayout, roles: MegatronSummary.Roles, graph: Graph, tensorRoles: TensorRoles)
        -> (tensor: Int, context: Int, expert: Int, expertsOverTensor: Bool, mixedAxes: [String], contextAxes: [Int],
            showsTensor: Bool, showsContext: Bool, showsExperts: Bool) {
        let ops = stage.operations
        let contractions = ops.filter { graph.operations[$0].isLinearLayer(in: graph) }
        var tensor = 1, context = 1, expert = 1, expertsOverTensor = false
        var mixedAxes: [String] = []
        var contextAxes: [Int] = []
        for axis in stage.mesh.shape.indices where stage.mesh.shape[axis] > 1 {
            let size = stage.mesh.shape[axis]
            // An axis that splits the experts (`MegatronSummary.Roles.expertAxes`) is expert parallelism, and also the
            // tensor or context parallelism the other ops take along it where expert parallelism folds over those ranks
            // (a mixed axis too: latent attention's down-projections and the router, whole on Megatron's tensor-parallel
            // ranks, leave too few products splitting weights for the axis to read as tensor parallelism outright).
            let splitsExperts = roles.expertAxes.contains(axis)
            if splitsExperts { expert *= size }
            if splitsExperts && roles.axes[axis] != .tensor && roles.axes[axis] != .context && roles.axes[axis] != .mixed {
                continue
            } else if roles.axes[axis] == .tensor {
                if splitsExperts { expertsOverTensor = true }
                // Tensor parallelism may split attention's queries too, where the heads do not divide (sequence
                // parallelism's fallback), so weights decide first.
                tensor *= size
            } else if roles.axes[axis] == .context {
                context *= size
                contextAxes.append(axis)
            } else if roles.axes[axis] == .mixed {
                mixedAxes.append("\(stage.mesh.axisNames[axis])=\(size)")
                // As `MegatronSummary` divides mixed axes: tensor parallelism if weights split at least as often.
                var batchSplits = 0, weightSplits = 0
                // The expert GEMMs split their experts along an expert axis: the other products say what else it is.
                for op in contractions where !(splitsExperts && MegatronLayout.expertGEMMIndex(graph.operations[op], graph: graph) != nil) {
                    guard let index = stage.strategy(of: op).indexOfAxis[axis] else { continue }
                    // Splitting a product's batch or sequence is data or context parallelism, never Megatron's tensor
                    // parallelism, whose products take the whole sequence (a chunk of the loss alone beside context
                    // parallelism has no attention to name its context axis).
                    if index == tensorRoles.batchIndex[op] || index == tensorRoles.sequenceIndex[op] { batchSplits += 1; continue }
                    let operation = graph.operations[op]
                    if operation.inputs.indices.contains(where: { graph[operation.inputs[$0]].isParameter && operation.indexSpace.operandIndices[$0].contains(index) }) {
                        weightSplits += 1
                    }
                }
                if weightSplits >= batchSplits {
                    tensor *= size
                    if splitsExperts { expertsOverTensor = true }
                }
            }
        }
        let attends = ops.contains { if case .attention = graph.operations[$0].op { true } else { false } }
        return (tensor, context, expert, expertsOverTensor, mixedAxes, contextAxes, !contractions.isEmpty, attends,
                ops.contains { MegatronLayout.expertGEMMIndex(graph.operations[$0], graph: graph) != nil })
    }

    /// How `stage` splits `op`: for each mesh axis of more than one device, in order, its size and the index
    /// it splits. Axes of one device split nothing, so a 1x8 and an 8x1 mesh that split the same index agree.
    static func splits(_ stage: StageLayout, _ op: Int) -> [[Int?]] {
        let strategy = stage.strategy(of: op)
        return stage.mesh.shape.indices.filter { stage.mesh.shape[$0] > 1 }.map { [stage.mesh.shape[$0], strategy.indexOfAxis[$0]] }
    }

    /// The sizes of a mesh's axes of more than one device.
    static func nontrivialShape(_ mesh: DeviceMesh) -> [Int] { mesh.shape.filter { $0 > 1 } }

    /// Ops that `nearest` shards otherwise than `original`, over the stages whose ops, devices and mesh agree.
    static func differingOperations(_ nearest: TrainingPlan, _ original: TrainingPlan) -> Int {
        zip(nearest.stages, original.stages).reduce(0) { $0 + (Self.differingOperations($1.0, $1.1) ?? 0) }
    }

    /// Ops of `stage` that `other` shards otherwise, or nil where the two differ in ops, devices or mesh.
    static func differingOperations(_ stage: StageLayout, _ other: StageLayout) -> Int? {
        guard stage.operations == other.operations, stage.mesh.devices == other.mesh.devices,
              Self.nontrivialShape(stage.mesh) == Self.nontrivialShape(other.mesh) else { return nil }
        return stage.operations.count { Self.splits(stage, $0) != Self.splits(other, $0) }
    }

    /// "dp x tp" for a settings' mesh of 2 axes, "dp x (cp or ep) x tp" for 3 and "dp x ... x tp" for more, outermost
    /// first, as every framework here orders its ranks (`TrainingPlan.megatron`: Megatron-Core's order, and torchtitan's
    /// `ParallelDims` mesh, its data-parallel axes before context and tensor parallelism): the sizes alone do not tell
    /// the axes between apart (shard groups, experts, context and its all-to-all groups).
    static func axisNames(of count: Int) -> String {
        switch count {
        case ...2: "dp x tp"
        case 3: "dp x (cp or ep) x tp"
        default: "dp x ... x tp"
        }
    }

    /// What separates two plans with the same degrees, batch split and layers: devices, meshes, op shardings.
    static func layoutDifferences(_ nearest: TrainingPlan, _ original: TrainingPlan) -> [String] {
        var notes: [String] = []
        for (index, (stage, other)) in zip(nearest.stages, original.stages).enumerated() {
            if stage.operations != other.operations {
                notes.append("the plan's stage \(index) runs ops \(other.operations.lowerBound)..<\(other.operations.upperBound); these settings give it \(stage.operations.lowerBound)..<\(stage.operations.upperBound)")
            } else if stage.mesh.devices != other.mesh.devices {
                notes.append("the plan's stage \(index) runs on \(DeviceListText.describe(other.mesh.devices)); these settings put it on \(DeviceListText.describe(stage.mesh.devices))")
            } else if Self.nontrivialShape(stage.mesh) != Self.nontrivialShape(other.mesh) {
                notes.append("stage \(index)'s mesh is \(other.mesh.shape.map(String.init).joined(separator: "x")); these settings' is "
                             + "\(Self.axisNames(of: stage.mesh.shape.count)) = \(stage.mesh.shape.map(String.init).joined(separator: "x"))")
            } else if let differing = Self.differingOperations(stage, other), differing > 0 {
                notes.append("stage \(index) shards \(differing) of its \(stage.operations.count) ops otherwise than these settings do")
            }
        }
        if nearest.virtualStages != original.virtualStages || nearest.schedule != original.schedule {
            notes.append("the schedule is \(nearest.schedule.rawValue) with \(nearest.virtualStages) chunks per rank, not \(original.schedule.rawValue) with \(original.virtualStages)")
        }
        return notes
    }
}
