import Foundation

/// `shardplan plan --stages 1`: the whole graph as one stage on every device of the cluster. Every
/// logical mesh shape of the cluster is tried (Alpa's 2-D views, `DeviceMesh.logicalShapes`) under every
/// recomputation mode of `recomputeModes`, with the fewest microbatches that fit in memory, each solved by the
/// `IntraOperatorSearch`; the fastest plan wins, and its options name its recomputation mode. The ZeRO stage
/// of each parameter is the ILP's choice, from `options.zeroStage` up to `options.maximumZeroStage`.
///
/// The rule both planners follow (`PipelinePlanner.variants`): the searched lists choose the recomputation, and
/// `options.recompute` is replaced in every plan tried; ZeRO is bounded by the options, `options.zeroStage` below
/// and `options.maximumZeroStage` above. Both search like `plan`'s defaults, `--recompute auto --zero auto`, unless
/// told otherwise: `--recompute M` is `recomputeModes: [M]`, and `--zero N` is `options.zeroStage` and
/// `options.maximumZeroStage` both N.
public struct SingleStagePlanner: Sendable {
    public var graph: Graph
    public var cluster: Cluster
    public var clusterName: String
    public var options: TrainingOptions
    public var search: IntraOperatorSearch
    /// The logical mesh shapes to try; nil tries every 2-D view of the cluster.
    public var meshShapes: [[Int]]?
    /// Seconds after which the search answers with the best plan found so far (`plan --time-limit`): it
    /// begins no further mesh shape or microbatch count once it has a plan; nil searches everything. The search
    /// refuses one that is not positive and finite.
    public var timeLimit: Double?
    /// The recomputation modes to try, each replacing `options.recompute` in the plans it is tried for: what
    /// `options.recompute` says does not narrow them. `RecomputeMode.automaticChoices` by default, as `plan --stages 1`
    /// tries them (`--recompute auto`); `[mode]` keeps one mode, as `--recompute mode` does.
    public var recomputeModes: [RecomputeMode]

    /// A planner for `graph` on `cluster`; `recomputeModes` defaults to `RecomputeMode.automaticChoices`, as
    /// `PipelinePlanner.variants` defaults to `.automatic`. The settings are checked when the search starts.
    public init(graph: Graph, cluster: Cluster, clusterName: String, options: TrainingOptions = TrainingOptions(),
                search: IntraOperatorSearch = IntraOperatorSearch(), meshShapes: [[Int]]? = nil, timeLimit: Double? = nil,
                recomputeModes: [RecomputeMode] = RecomputeMode.automaticChoices) {
        self.graph = graph
        self.cluster = cluster
        self.clusterName = clusterName
        self.options = options
        self.search = search
        self.meshShapes = meshShapes
        self.timeLimit = timeLimit
        self.recomputeModes = recomputeModes
    }

    /// One mesh shape, recomputation mode and microbatch count the planner tried.
    public struct Attempt: Sendable {
        public var meshShape: [Int]
        public var recompute: RecomputeMode
        public var microbatches: Int
        public var iterationSeconds: Double?
        public var peakMemoryBytes: Double?
        public var result: IntraOperatorSearch.Result?
    }

    /// What a search found: the best plan, its prediction, every attempt (for `--timings`), and whether the
    /// time limit stopped it before it tried every mesh shape.
    public struct Result: Sendable {
        public var plan: TrainingPlan
        public var prediction: PlanPrediction
        public var attempts: [Attempt]
        public var stoppedEarly: Bool
    }

    /// The best plan, its prediction, and every attempt (`search(microbatches:progress:)` without its stop).
    public func plan(microbatches fixed: Int? = nil, progress: (SearchProgress) -> Void = { _ in })
        throws(InputError) -> (plan: TrainingPlan, prediction: PlanPrediction, attempts: [Attempt]) {
        let found = try search(microbatches: fixed, progress: progress)
        return (found.plan, found.prediction, found.attempts)
    }

    /// Tries every mesh shape under every recomputation mode with the fewest microbatches that fit, and answers
    /// with the fastest plan. `progress` is told about each mesh shape, mode and microbatch count as it starts.
    /// A cluster `Cluster.validate()` refuses, options out of range or with ZeRO-3 shard groups
    /// (`TrainingOptions.checkSearching(on:)`), no recomputation mode or mesh shape to try, a mesh shape without axes
    /// or with an axis below 1, one that does not hold the cluster's devices, and a time limit that is not a positive,
    /// finite number of seconds are `InputError`s.
    public func search(microbatches fixed: Int? = nil, progress: (SearchProgress) -> Void = { _ in }) throws(InputError) -> Result {
        try options.checkSearching(on: cluster)
        try PipelinePlanner.checkTimeLimit(timeLimit)
        if let meshShapes {
            guard !meshShapes.isEmpty else {
                throw InputError(.invalidValue, at: JSONPath([.key("meshShapes")]), "the search needs at least one mesh shape to try; found none (nil tries every shape)")
            }
            for (index, shape) in meshShapes.enumerated() {
                if shape.isEmpty || shape.contains(where: { $0 < 1 }) {
                    throw InputError(.invalidValue, at: JSONPath([.key("meshShapes"), .index(index, label: nil)]),
                                     "a mesh shape has one axis or more, each of one device or more, such as [2, 4]; found \(shape)")
                }
            }
        }
        guard !recomputeModes.isEmpty else {
            throw InputError(.invalidValue, at: JSONPath([.key("recomputeModes")]), "the search needs at least one recomputation mode to try; found none")
        }
        let deadline = timeLimit.map { Date().addingTimeInterval($0) }
        var stoppedEarly = false
        // The powers of two, and the counts that give every device a whole power-of-two number of sequences
        // where the batch has odd factors (192 sequences on 64 devices: 3 microbatches of one each).
        let powers = try graph.microbatchCounts(fixed: fixed, limit: 1 << 20)
        let counts = fixed != nil ? powers : Set(powers).union(Graph.wholeSequenceCounts(batch: graph.batchSize ?? 1,
                                                                                          devices: cluster.deviceCount, limit: 1 << 20)).sorted()
        let context = AttemptContext(layers: GraphAnalysis(graph).layers, roles: TensorRoles(graph),
                                     budget: cluster.device.memoryBytes - TrainingOptions.frameworkOverheadBytes,
                                     evaluator: PlanEvaluator(cluster: cluster))
        var attempts: [Attempt] = []
        var best: (plan: TrainingPlan, prediction: PlanPrediction)?
        var smallestShortfall: Double?
        let shapes = meshShapes ?? DeviceMesh.logicalShapes(nodes: cluster.domainCount, devicesPerNode: cluster.devicesPerDomain)
        let modes = searchedModes(StageCostModel(graph: graph, kernels: context.evaluator.kernels, options: options, microbatches: counts[0]))
        shapes: for shape in shapes {
            let mesh = try DeviceMesh(devices: Array(cluster.deviceIDs), shape: shape,
                                      axisNames: Array(DeviceMesh.defaultAxisNames.prefix(shape.count)), in: cluster,
                                      at: JSONPath([.key("--mesh")]))
            // Every mode and microbatch count on this mesh changes tensor layouts alike; each change is priced once.
            let prices = ReshardingPrices(mesh: mesh)
            for mode in modes {
                var options = options
                options.recompute = mode
                for count in counts {
                    // One solve is not interrupted; the limit stops the search between them once it has a plan.
                    if best != nil, let deadline, Date() >= deadline {
                        stoppedEarly = true
                        break shapes
                    }
                    let modeNote = modes.count > 1 ? ", recompute \(mode.rawValue)" : ""
                    progress(SearchProgress(phase: "mesh \(shape.map(String.init).joined(separator: "x")) with \(count) microbatch\(count == 1 ? "" : "es")\(modeNote)",
                                            completedSteps: attempts.count, totalSteps: shapes.count * modes.count * counts.count))
                    let (attempt, outcome) = try self.attempt(mesh: mesh, prices: prices, options: options, microbatches: count, context)
                    attempts.append(attempt)
                    guard case .priced(let priced) = outcome else {
                        if case .beyondBudget(let shortfall) = outcome { smallestShortfall = min(smallestShortfall ?? .infinity, shortfall) }
                        continue
                    }
                    if priced.prediction.fitsInMemory {
                        if best == nil || priced.prediction.iterationSeconds < best!.prediction.iterationSeconds {
                            best = priced
                        }
                        break
                    }
                    smallestShortfall = min(smallestShortfall ?? .infinity, priced.prediction.peakMemoryBytesPerDevice - cluster.device.memoryBytes)
                }
            }
        }
        guard let best else {
            let shortfall = smallestShortfall.map { ", at least \(PlanPrediction.bytes($0)) per device more than the \(PlanPrediction.bytes(cluster.device.memoryBytes)) each device has" } ?? ""
            let untried = modes.contains(.full) ? "" : ", recomputation"
            throw InputError(.invalidValue, at: .root,
                             "no feasible plan: the whole graph as one stage does not fit on \(cluster.deviceCount) devices of \(clusterName) with any mesh shape\(modes.count > 1 ? ", recomputation mode" : "") or microbatch count\(shortfall); try more devices\(untried) or ZeRO")
        }
        var plan = best.plan
        plan.summary = plan.stageSummary
        return Result(plan: plan, prediction: best.prediction, attempts: attempts, stoppedEarly: stoppedEarly)
    }

    /// `recomputeModes`, lightest first (a search stopped at its time limit has the plans of the lighter modes),
    /// less selective recomputation and norm-act where they cannot differ from none
    /// (`StageSearchOracle.Variants.searched`).
    ///
    /// Selective recomputation reruns only attention: explicit attention's scores and softmax, and a fused kernel
    /// (`StageCostModel.rerunsUnderSelectiveRecomputation`), in the ILP's terms and in the evaluator's alike; in a
    /// graph without attention every layout costs under it what it costs under none, in time and memory. Its plans
    /// would then only tie none's, which are tried first and kept on a tie, so leaving it out loses no plan.
    private func searchedModes(_ model: StageCostModel) -> [RecomputeMode] {
        var tiesNone: Set<RecomputeMode> = []
        if recomputeModes.contains(.none) {
            if !graph.operations.indices.contains(where: model.rerunsUnderSelectiveRecomputation) { tiesNone.insert(.selective) }
            if model.normActivationRecomputation.isEmpty { tiesNone.insert(.normAct) }
        }
        return RecomputeMode.allCases.filter { recomputeModes.contains($0) && !tiesNone.contains($0) }
    }

    /// What every attempt of one search shares.
    private struct AttemptContext {
        var layers: [Layer]
        var roles: TensorRoles
        /// Bytes per device the ILP may fill: device memory less the framework's overhead.
        var budget: Double
        var evaluator: PlanEvaluator
    }

    /// How one attempt ended.
    private enum Outcome {
        /// The fastest layout found and its prediction, which may still not fit once priced exactly.
        case priced((plan: TrainingPlan, prediction: PlanPrediction))
        /// No layout fits the ILP's budget; the least it lacks, bytes per device.
        case beyondBudget(Double)
    }

    /// The ILP's layout on `mesh` with `options` and `count` microbatches, or Megatron's layout on the same mesh
    /// where that prices faster; `prices` remembers the mesh's layout changes.
    private func attempt(mesh: DeviceMesh, prices: ReshardingPrices, options: TrainingOptions, microbatches count: Int, _ context: AttemptContext)
        throws(InputError) -> (Attempt, Outcome) {
        let shape = mesh.shape
        var attempt = Attempt(meshShape: shape, recompute: options.recompute, microbatches: count)
        let model = StageCostModel(graph: graph, kernels: context.evaluator.kernels, options: options, microbatches: count)
        let result: IntraOperatorSearch.Result
        do throws(ShardingSolver.Failure) {
            result = try search.search(model: model, operations: 0..<graph.operations.count, mesh: mesh,
                                       inFlight: 1, memoryBudget: context.budget, layers: context.layers, prices: prices)
        } catch {
            switch error {
            case .doesNotFit(let minimum):
                return (attempt, .beyondBudget(minimum - context.budget))
            case .solverFailure(let message):
                throw InputError(.invalidValue, at: .root, "the sharding solver failed on mesh \(shape) with \(count) microbatches: \(message)")
            }
        }
        let plan = TrainingPlan(graph: graph, cluster: cluster, clusterName: clusterName, stages: [result.layout],
                                pipelineRanks: 1, virtualStages: 1, schedule: .oneForwardOneBackward,
                                microbatches: count, options: options)
        var prediction = context.evaluator.evaluate(plan)
        var chosen = plan
        // Megatron's layout on the same mesh (with and without sequence parallelism) is in the search space;
        // pricing it exactly guards against the ILP's approximations.
        if shape.count == 2 {
            for sequenceParallel in [false, true] {
                let strategies = MegatronLayout(sequenceParallel: sequenceParallel).strategies(for: graph, meshShape: shape, roles: context.roles)
                var expert = plan
                expert.stages = [StageLayout(operations: 0..<graph.operations.count, mesh: mesh, strategies: strategies)]
                let expertPrediction = context.evaluator.evaluate(expert)
                if expertPrediction.fitsInMemory && (!prediction.fitsInMemory || expertPrediction.iterationSeconds < prediction.iterationSeconds) {
                    chosen = expert
                    prediction = expertPrediction
                }
            }
        }
        attempt.result = result
        attempt.iterationSeconds = prediction.iterationSeconds
        attempt.peakMemoryBytes = prediction.peakMemoryBytesPerDevice
        return (attempt, .priced((chosen, prediction)))
    }
}
