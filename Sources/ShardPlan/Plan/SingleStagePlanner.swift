import Foundation

/// `shardplan plan --stages 1`: the whole graph as one stage on every device of the cluster. Every
/// logical mesh shape of the cluster is tried (Alpa's 2-D views, `DeviceMesh.logicalShapes`) with the
/// fewest microbatches that fit in memory, each solved by the `IntraOperatorSearch`; the fastest plan wins.
public struct SingleStagePlanner: Sendable {
    public var graph: Graph
    public var cluster: Cluster
    public var clusterName: String
    public var options: TrainingOptions
    public var search: IntraOperatorSearch
    /// The logical mesh shapes to try; nil tries every 2-D view of the cluster.
    public var meshShapes: [[Int]]?
    /// Seconds after which the search answers with the best plan found so far (`plan --time-limit`): it
    /// begins no further mesh shape or microbatch count once it has a plan; nil searches everything.
    public var timeLimit: Double?

    public init(graph: Graph, cluster: Cluster, clusterName: String, options: TrainingOptions = TrainingOptions(),
                search: IntraOperatorSearch = IntraOperatorSearch(), meshShapes: [[Int]]? = nil, timeLimit: Double? = nil) {
        self.graph = graph
        self.cluster = cluster
        self.clusterName = clusterName
        self.options = options
        self.search = search
        self.meshShapes = meshShapes
        self.timeLimit = timeLimit
    }

    /// One mesh shape and microbatch count the planner tried.
    public struct Attempt: Sendable {
        public var meshShape: [Int]
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

    /// Tries every mesh shape with the fewest microbatches that fit, fastest plan first. `progress` is told
    /// about each mesh shape and microbatch count as it starts.
    public func search(microbatches fixed: Int? = nil, progress: (SearchProgress) -> Void = { _ in }) throws(InputError) -> Result {
        let deadline = timeLimit.map { Date().addingTimeInterval($0) }
        var stoppedEarly = false
        // The powers of two, and the counts that give every device a whole power-of-two number of sequences
        // where the batch has odd factors (192 sequences on 64 devices: 3 microbatches of one each).
        let powers = try graph.microbatchCounts(fixed: fixed, limit: 1 << 20)
        let counts = fixed != nil ? powers : Set(powers).union(Graph.wholeSequenceCounts(batch: graph.batchSize ?? 1,
                                                                                          devices: cluster.deviceCount, limit: 1 << 20)).sorted()
        let layers = GraphAnalysis(graph).layers
        let budget = cluster.device.memoryBytes - TrainingOptions.frameworkOverheadBytes
        let evaluator = PlanEvaluator(cluster: cluster)
        var attempts: [Attempt] = []
        var best: (plan: TrainingPlan, prediction: PlanPrediction)?
        var smallestShortfall: Double?
        let shapes = meshShapes ?? DeviceMesh.logicalShapes(nodes: cluster.domainCount, devicesPerNode: cluster.devicesPerDomain)
        shapes: for shape in shapes {
            let mesh = try DeviceMesh(devices: Array(cluster.deviceIDs), shape: shape,
                                      axisNames: Array(DeviceMesh.defaultAxisNames.prefix(shape.count)), in: cluster,
                                      at: JSONPath([.key("--mesh")]))
            for count in counts {
                // One solve is not interrupted; the limit stops the search between them once it has a plan.
                if best != nil, let deadline, Date() >= deadline {
                    stoppedEarly = true
                    break shapes
                }
                progress(SearchProgress(phase: "mesh \(shape.map(String.init).joined(separator: "x")) with \(count) microbatch\(count == 1 ? "" : "es")",
                                        completedSteps: attempts.count, totalSteps: shapes.count * counts.count))
                let model = StageCostModel(graph: graph, kernels: evaluator.kernels, options: options, microbatches: count)
                var attempt = Attempt(meshShape: shape, microbatches: count)
                do throws(ShardingSolver.Failure) {
                    let result = try search.search(model: model, operations: 0..<graph.operations.count, mesh: mesh,
                                                   inFlight: 1, memoryBudget: budget, layers: layers)
                    let plan = TrainingPlan(graph: graph, cluster: cluster, clusterName: clusterName, stages: [result.layout],
                                            pipelineRanks: 1, virtualStages: 1, schedule: .oneForwardOneBackward,
                                            microbatches: count, options: options)
                    var prediction = evaluator.evaluate(plan)
                    var chosen = plan
                    // Megatron's layout on the same mesh (with and without sequence parallelism) is in the
                    // search space; pricing it exactly guards against the ILP's approximations.
                    if shape.count == 2 {
                        let roles = TensorRoles(graph)
                        for sequenceParallel in [false, true] {
                            let strategies = MegatronLayout(sequenceParallel: sequenceParallel).strategies(for: graph, meshShape: shape, roles: roles)
                            var expert = plan
                            expert.stages = [StageLayout(operations: 0..<graph.operations.count, mesh: mesh, strategies: strategies)]
                            let expertPrediction = evaluator.evaluate(expert)
                            if expertPrediction.fitsInMemory && (!prediction.fitsInMemory || expertPrediction.iterationSeconds < prediction.iterationSeconds) {
                                chosen = expert
                                prediction = expertPrediction
                            }
                        }
                    }
                    attempt.result = result
                    attempt.iterationSeconds = prediction.iterationSeconds
                    attempt.peakMemoryBytes = prediction.peakMemoryBytesPerDevice
                    attempts.append(attempt)
                    if prediction.fitsInMemory {
                        if best == nil || prediction.iterationSeconds < best!.prediction.iterationSeconds {
                            best = (chosen, prediction)
                        }
                        break
                    }
                    smallestShortfall = min(smallestShortfall ?? .infinity, prediction.peakMemoryBytesPerDevice - cluster.device.memoryBytes)
                } catch {
                    switch error {
                    case .doesNotFit(let minimum):
                        attempts.append(attempt)
                        smallestShortfall = min(smallestShortfall ?? .infinity, minimum - budget)
                    case .solverFailure(let message):
                        throw InputError(.invalidValue, at: .root, "the sharding solver failed on mesh \(shape) with \(count) microbatches: \(message)")
                    }
                }
            }
        }
        guard let best else {
            let shortfall = smallestShortfall.map { ", at least \(PlanPrediction.bytes($0)) per device more than the \(PlanPrediction.bytes(cluster.device.memoryBytes)) each device has" } ?? ""
            throw InputError(.invalidValue, at: .root,
                             "no feasible plan: the whole graph as one stage does not fit on \(cluster.deviceCount) devices of \(clusterName) with any mesh shape or microbatch count\(shortfall); try more devices, recomputation or ZeRO")
        }
        var plan = best.plan
        plan.summary = plan.describe(plan.stages[0])
        return Result(plan: plan, prediction: best.prediction, attempts: attempts, stoppedEarly: stoppedEarly)
    }
}
