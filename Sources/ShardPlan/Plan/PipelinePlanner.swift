import Foundation

/// `shardplan plan`: the full search. Ops are clustered into layers (`LayerClustering`), the stage DP
/// (`StageDynamicProgram`) cuts them into pipeline stages on submeshes, each stage's sharding comes from the
/// intra-operator ILP (`StageSearchOracle`), for each microbatch count tried; the plan with the least
/// predicted iteration time (`PlanEvaluator`, point-to-point transfers included) wins. Megatron-LM's
/// configurations (`MegatronGrid`) compete with the DP's plans unless `includesMegatronGrid` is off.
public struct PipelinePlanner: Sendable {
    public var graph: Graph
    public var cluster: Cluster
    public var clusterName: String
    public var options: TrainingOptions
    public var search: IntraOperatorSearch
    /// The most clustered layers the DP cuts between (coarser is faster; Alpa uses a handful to a few dozen).
    public var maximumLayerCount: Int
    /// The most pipeline stages; nil for no limit.
    public var maximumStageCount: Int?
    /// The logical mesh shape every stage must take, or nil to search them.
    public var meshShape: [Int]?
    /// Whether Megatron-LM's configurations within the same limits are priced too, and win when faster.
    public var includesMegatronGrid: Bool
    /// Whether a stage (or a Megatron configuration) that does not fit may recompute more activations than
    /// `options.recompute` says: selective or full recomputation, chosen per stage where it makes the stage fit.
    public var choosesRecomputation: Bool
    public var megatronGrid: MegatronGrid

    public init(graph: Graph, cluster: Cluster, clusterName: String, options: TrainingOptions = TrainingOptions(),
                search: IntraOperatorSearch = IntraOperatorSearch(), maximumLayerCount: Int = 8,
                maximumStageCount: Int? = nil, meshShape: [Int]? = nil, includesMegatronGrid: Bool = true,
                megatronGrid: MegatronGrid = MegatronGrid(), choosesRecomputation: Bool = false) {
        self.choosesRecomputation = choosesRecomputation
        self.meshShape = meshShape
        self.includesMegatronGrid = includesMegatronGrid
        self.megatronGrid = megatronGrid
        self.graph = graph
        self.cluster = cluster
        self.clusterName = clusterName
        self.options = options
        self.search = search
        self.maximumLayerCount = maximumLayerCount
        self.maximumStageCount = maximumStageCount
    }

    /// What the search did for one microbatch count (for `--timings` and progress).
    public struct Attempt: Sendable {
        public var microbatches: Int
        public var iterationSeconds: Double?
        /// Whether the DP's plan for this count fits in device memory once priced exactly.
        public var fitsInMemory = false
        public var stageCount: Int?
        public var oracleQuestions: Int
        public var oracleSolves: Int
        public var seconds: Double
    }

    /// What pricing the Megatron-LM grid found (for `--timings`).
    public struct GridAttempt: Sendable {
        public var configurations: Int
        public var fitting: Int
        /// The fastest configuration that fits, and its predicted iteration time.
        public var best: (summary: String, iterationSeconds: Double)?
        /// Whether it beat the DP's plans and is the answer.
        public var chosen: Bool
        public var seconds: Double
    }

    /// The best plan, its prediction, one attempt per microbatch count and what the Megatron grid found.
    /// `progress` is told about each microbatch count as it starts.
    public func plan(microbatches fixed: Int? = nil, progress: (String) -> Void = { _ in })
        throws(InputError) -> (plan: TrainingPlan, prediction: PlanPrediction, attempts: [Attempt], grid: GridAttempt?) {
        let counts = try graph.microbatchCounts(fixed: fixed, limit: 1024)
        let analysis = GraphAnalysis(graph)
        let clustering = LayerClustering(analysis, maximumLayerCount: maximumLayerCount)
        let evaluator = PlanEvaluator(cluster: cluster)
        var best: (plan: TrainingPlan, prediction: PlanPrediction)?
        var attempts: [Attempt] = []
        var worseInARow = 0
        var previousStageCount = 0
        // Whole-node counts in powers of two on large clusters (Alpa's default space), every count on small ones.
        // Submeshes are cut from NVLink domains (a node, or a rack of trays), the units the fast links join.
        let nodeCounts: SubmeshShape.NodeCounts = cluster.domainCount > 8 ? .powersOfTwo : .all
        var submeshes = SubmeshShape.candidates(nodes: cluster.domainCount, devicesPerNode: cluster.devicesPerDomain, nodeCounts: nodeCounts)
        if let meshShape { submeshes = submeshes.filter { $0.logicalShapes.contains(meshShape) } }
        guard !submeshes.isEmpty else {
            throw InputError(.invalidValue, at: JSONPath([.key("--mesh")]),
                             "no stage of \(clusterName) can take the mesh shape \(meshShape!.map(String.init).joined(separator: "x"))")
        }
        for count in counts {
            // More microbatches shrink the bubble but also every kernel: for a given pipeline depth the
            // iteration time falls, then rises. Once a count does worse than the best plan without a deeper
            // pipeline than the count before it, more will not help. A count whose plan recomputes does not
            // count: smaller microbatches may fit without recomputing, which is a different trade.
            if worseInARow >= 1 { break }
            progress("searching with \(count) microbatch\(count == 1 ? "" : "es")")
            let start = Date()
            let program = StageDynamicProgram(layerCount: clustering.layers.count, nodes: cluster.domainCount,
                                              devicesPerNode: cluster.devicesPerDomain, microbatches: count,
                                              submeshes: submeshes, maximumStageCount: maximumStageCount)
            let model = StageCostModel(graph: graph, kernels: evaluator.kernels, options: options, microbatches: count)
            let stageOracle = StageSearchOracle(model: model, cluster: cluster, clustering: clustering, analysis: analysis, search: search,
                                                submeshes: program.submeshes, meshShape: meshShape, includesMegatronLayouts: false,
                                                choosesRecomputation: choosesRecomputation)
            // No plan holds less than the whole model's state and one microbatch's activations (under the
            // lightest recomputation allowed, the oracle's floor) spread over every device; skip counts below that.
            let least = ParameterState(elements: Double(analysis.parameterCount), dataParallel: Double(cluster.deviceCount), zeroStage: 3).totalBytes
                + stageOracle.activationFloor.bytes(layers: 0..<clustering.layers.count, inFlight: 1) / Double(cluster.deviceCount)
            if least > cluster.device.memoryBytes - TrainingOptions.frameworkOverheadBytes {
                attempts.append(Attempt(microbatches: count, oracleQuestions: 0, oracleSolves: 0, seconds: Date().timeIntervalSince(start)))
                continue
            }
            let oracle = CachedStageCostOracle(stageOracle, structureKeys: clustering.structureKeys)
            var attempt = Attempt(microbatches: count, oracleQuestions: 0, oracleSolves: 0, seconds: 0)
            if let partition = program.solve(oracle, structureKeys: clustering.structureKeys) {
                let plan = try trainingPlan(partition, clustering: clustering, microbatches: count)
                let prediction = evaluator.evaluate(plan)
                attempt.iterationSeconds = prediction.iterationSeconds
                attempt.fitsInMemory = prediction.fitsInMemory
                attempt.stageCount = plan.stages.count
                if prediction.fitsInMemory, best.map({ prediction.iterationSeconds < $0.prediction.iterationSeconds }) ?? true {
                    best = (plan, prediction)
                    worseInARow = 0
                } else if plan.stages.count <= previousStageCount && plan.stages.allSatisfy({ $0.recompute == nil }) {
                    worseInARow += 1
                }
                previousStageCount = plan.stages.count
            }
            (attempt.oracleQuestions, attempt.oracleSolves) = oracle.statistics
            attempt.seconds = Date().timeIntervalSince(start)
            attempts.append(attempt)
        }
        var grid: GridAttempt?
        if includesMegatronGrid {
            progress("pricing Megatron-LM configurations")
            let start = Date()
            var configurations = megatronGrid.configurations(for: graph, on: cluster, options: options, analysis: analysis,
                                                             maximumStageCount: maximumStageCount, meshShape: meshShape,
                                                             microbatches: fixed)
            var priced = price(configurations, analysis: analysis, evaluator: evaluator)
            if choosesRecomputation {
                // Configurations that do not fit as they are, again with more recomputation.
                let retried = zip(configurations, priced).filter { $0.1?.prediction.fitsInMemory == false }.flatMap { configuration, _ in
                    RecomputeMode.allCases.filter { $0.strength > options.recompute.strength }.map { mode in
                        var stronger = configuration
                        stronger.options.recompute = mode
                        return stronger
                    }
                }
                configurations += retried
                priced += price(retried, analysis: analysis, evaluator: evaluator)
            }
            var fastest: (plan: TrainingPlan, prediction: PlanPrediction)?
            for candidate in priced.compactMap({ $0 }) where candidate.prediction.fitsInMemory {
                if fastest.map({ candidate.prediction.iterationSeconds < $0.prediction.iterationSeconds }) ?? true { fastest = candidate }
            }
            let chosen = fastest.map { found in best.map { found.prediction.iterationSeconds < $0.prediction.iterationSeconds } ?? true } ?? false
            if chosen { best = fastest }
            grid = GridAttempt(configurations: configurations.count,
                               fitting: priced.filter { $0?.prediction.fitsInMemory == true }.count,
                               best: fastest.map { ($0.plan.summary ?? "", $0.prediction.iterationSeconds) }, chosen: chosen,
                               seconds: Date().timeIntervalSince(start))
        }
        guard let best else {
            throw InputError(.invalidValue, at: .root,
                             "no feasible plan: no partition of \(graph.name) into pipeline stages fits in the \(PlanPrediction.bytes(cluster.device.memoryBytes)) of each device of \(clusterName) with any microbatch count tried; try more devices, recomputation (--recompute) or ZeRO (--zero)")
        }
        return (best.plan, best.prediction, attempts, grid)
    }

    /// Each configuration's plan and prediction, priced on all cores; nil where the graph does not admit it.
    private func price(_ configurations: [MegatronConfiguration], analysis: GraphAnalysis,
                       evaluator: PlanEvaluator) -> [(plan: TrainingPlan, prediction: PlanPrediction)?] {
        // One stage cost model per microbatch count, made once (a configuration's recomputation is applied to it).
        var models: [Int: StageCostModel] = [:]
        let batch = graph.batchSize ?? 1
        for configuration in configurations {
            let count = batch / (configuration.microBatchSize * (configuration.dataParallel ?? 1))
            if models[count] == nil { models[count] = StageCostModel(graph: graph, kernels: evaluator.kernels, options: options, microbatches: count) }
        }
        let results = SharedTable<Int, (plan: TrainingPlan, prediction: PlanPrediction)>()
        let modelsByCount = models
        DispatchQueue.concurrentPerform(iterations: configurations.count) { index in
            guard let plan = try? TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: clusterName,
                                                        configuration: configurations[index], layers: analysis.layers),
                  let model = modelsByCount[plan.microbatches]?.recomputing(plan.options.recompute) else { return }
            results[index] = (plan, evaluator.evaluate(plan, model: model, forwardFLOPs: analysis.forwardFLOPs))
        }
        return configurations.indices.map { results[$0] }
    }

    /// The training plan a DP partition describes.
    func trainingPlan(_ partition: PipelinePartition<StageSearchOracle.Layout>, clustering: LayerClustering,
                      microbatches: Int) throws(InputError) -> TrainingPlan {
        var stages: [StageLayout] = []
        for stage in partition.stages {
            let layout = stage.candidate.payload
            let mesh = try DeviceMesh(devices: stage.devices, shape: layout.meshShape,
                                      axisNames: Array(DeviceMesh.defaultAxisNames.prefix(layout.meshShape.count)), in: cluster)
            stages.append(StageLayout(operations: clustering.operations(of: stage.layers), mesh: mesh, strategies: layout.strategies,
                                      recompute: layout.recompute))
        }
        var plan = TrainingPlan(graph: graph, cluster: cluster, clusterName: clusterName, stages: stages,
                                pipelineRanks: stages.count, virtualStages: 1, schedule: .oneForwardOneBackward,
                                microbatches: microbatches, options: options)
        let summaries = stages.map { stage in
            MegatronSummary.describe(stage, graph: graph) + (stage.recompute.map { " recompute=\($0.rawValue)" } ?? "")
        }
        plan.summary = Set(summaries).count == 1 ? "\(summaries[0]) pp=\(stages.count)"
            : "pp=\(stages.count): " + summaries.enumerated().map { "stage \($0.offset) \($0.element)" }.joined(separator: "; ")
        return plan
    }
}
