import Foundation

/// Prices a rewritten graph under the plan of the graph it was rewritten from (its parent): the same stages
/// (each new op joins the stage of the op whose place it takes), meshes, microbatches, schedule and options.
/// In each stage a rewrite touched, the ops the rewrite added are sharded by the ILP around the parent's
/// layout of the others, which stay as they were (a local re-parallelization: the ILP sees one candidate for
/// every kept op, so it solves in a fraction of a full stage search); Megatron's layout and ZeRO-1/3 are
/// tried as the stage oracle tries them. Stages the rewrite did not touch keep their layouts. The result is
/// a complete plan of the rewritten graph, priced exactly by `PlanEvaluator`: what the joint search compares.
struct PinnedStagePricing: Sendable {
    let cluster: Cluster
    let search: IntraOperatorSearch
    let evaluator: PlanEvaluator
    /// Layout changes priced on each stage's mesh, remembered across candidates (by stage index).
    private let prices: [ReshardingPrices]

    init(base: TrainingPlan, search: IntraOperatorSearch) {
        cluster = base.cluster
        self.search = search
        evaluator = PlanEvaluator(cluster: base.cluster)
        prices = base.stages.map { ReshardingPrices(mesh: $0.mesh) }
    }

    /// The plan of `graph`, a rewrite of `parent.graph`, with `stageOf` giving each op's stage (by name), or
    /// nil when the ops do not fall into the parent's stages in order or the plan does not fit in memory.
    /// `added` names the ops the rewrite added (the only ops re-sharded) and `touched` the stages they are in.
    /// Once `isCancelled` says so, no further stage is re-sharded and the answer is nil.
    func price(_ graph: Graph, stageOf: [String: Int], added: Set<String>, touched: Set<Int>,
               parent: TrainingPlan, isCancelled: () -> Bool = { false }) -> (plan: TrainingPlan, prediction: PlanPrediction)? {
        if isCancelled() { return nil }
        var ranges: [Range<Int>] = []
        var start = 0
        for stage in parent.stages.indices {
            var end = start
            while end < graph.operations.count && stageOf[graph.operations[end].name] == stage { end += 1 }
            guard end > start else { return nil }
            ranges.append(start..<end)
            start = end
        }
        guard start == graph.operations.count else { return nil }
        var kept: [String: OpStrategy] = [:]
        for stage in parent.stages {
            for op in stage.operations { kept[parent.graph.operations[op].name] = stage.strategy(of: op) }
        }
        let model = StageCostModel(graph: graph, kernels: evaluator.kernels, options: parent.options, microbatches: parent.microbatches)
        let analysis = GraphAnalysis(graph)
        let roles = TensorRoles(graph)
        // Megatron's layouts of the whole rewritten graph, made once per view and read by every stage on it.
        var megatronLayouts: [[Int]: [[OpStrategy]]] = [:]
        var stages: [StageLayout] = []
        for (index, range) in ranges.enumerated() {
            let original = parent.stages[index]
            guard touched.contains(index) else {
                guard range.count == original.operations.count else { return nil }
                let strategies = range.compactMap { kept[graph.operations[$0].name] }
                guard strategies.count == range.count else { return nil }
                stages.append(StageLayout(operations: range, mesh: original.mesh, strategies: strategies, recompute: original.recompute))
                continue
            }
            if isCancelled() { return nil }
            var pinned: [Int: OpStrategy] = [:]
            for op in range where !added.contains(graph.operations[op].name) {
                guard let strategy = kept[graph.operations[op].name] else { return nil }
                pinned[op] = strategy
            }
            let inFlight = parent.schedule.microbatchesInFlight(stage: parent.rank(ofStage: index), stages: parent.pipelineRanks,
                                                                microbatches: parent.microbatches, virtualStages: parent.virtualStages,
                                                                extraWarmUp: parent.options.overlapExpertParallelCommunication ? 1 : 0)
            let shape = original.mesh.shape
            if shape.count == 2 && megatronLayouts[shape] == nil {
                megatronLayouts[shape] = [false, true].map { MegatronLayout(sequenceParallel: $0).strategies(for: graph, meshShape: shape, roles: roles) }
            }
            guard let layout = bestLayout(range, original, pinned: pinned, prices: prices[index], megatron: megatronLayouts[shape] ?? [],
                                          model: original.recompute.map { model.recomputing($0) } ?? model,
                                          microbatches: parent.microbatches, inFlight: inFlight, layers: analysis.layers)
            else { return nil }
            stages.append(layout)
        }
        var plan = parent
        plan.graph = graph
        plan.stages = stages
        let prediction = evaluator.evaluate(plan, model: model, modelTrainingFLOPs: analysis.modelTrainingFLOPs,
                                   causalHalvedTrainingFLOPs: analysis.causalHalvedTrainingFLOPs)
        return prediction.fitsInMemory ? (plan, prediction) : nil
    }

    /// The fastest layout of ops `range` on the parent stage's mesh, with the ops of `pinned` kept, that fits
    /// with `inFlight` microbatches; `megatron` holds Megatron's layouts of the graph on that mesh (without and
    /// with sequence parallelism), or none on a 1-D mesh.
    private func bestLayout(_ range: Range<Int>, _ original: StageLayout, pinned: [Int: OpStrategy], prices: ReshardingPrices,
                            megatron: [[OpStrategy]], model: StageCostModel, microbatches: Int, inFlight: Double,
                            layers: [Layer]) -> StageLayout? {
        let mesh = original.mesh
        let budget = cluster.device.memoryBytes - TrainingOptions.frameworkOverheadBytes
        var layouts: [(layout: StageLayout, cost: StageCost)] = []
        if let found = try? search.search(model: model, operations: range, mesh: mesh, inFlight: inFlight,
                                          memoryBudget: nil, layers: layers, prices: prices, pinned: pinned) {
            layouts.append((found.layout, found.cost))
        }
        for strategies in megatron {
            let layout = StageLayout(operations: range, mesh: mesh, strategies: Array(strategies[range]))
            layouts.append((layout, model.cost(of: layout)))
        }
        var best: (layout: StageLayout, seconds: Double)?
        func consider(_ layout: StageLayout, cost: StageCost) {
            guard cost.peakMemoryBytes(inFlight: inFlight) <= cluster.device.memoryBytes else { return }
            let seconds = (cost.forwardSeconds + cost.backwardSeconds) * Double(microbatches)
                + cost.gradientSynchronizationSeconds + cost.lastMicrobatchSeconds + cost.optimizerSeconds
            if best.map({ seconds < $0.seconds }) ?? true {
                var chosen = layout
                chosen.recompute = original.recompute
                best = (chosen, seconds)
            }
        }
        for (layout, cost) in layouts { consider(layout, cost: cost) }
        // As the stage oracle does when no layout fits: ZeRO-1, then ZeRO-3, then the ILP with the budget.
        for zero in [1, 3] where best == nil {
            for (layout, _) in layouts {
                let sharded = StageLayout(operations: range, mesh: mesh, strategies: layout.strategies.map {
                    OpStrategy(indexOfAxis: $0.indexOfAxis, zeroStage: max($0.zeroStage, zero))
                })
                consider(sharded, cost: model.cost(of: sharded))
            }
        }
        if best == nil, let found = try? search.search(model: model, operations: range, mesh: mesh, inFlight: inFlight,
                                                       memoryBudget: budget, layers: layers, prices: prices, pinned: pinned) {
            consider(found.layout, cost: found.cost)
        }
        return best?.layout
    }
}
