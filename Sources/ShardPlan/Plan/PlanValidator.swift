/// Checks a plan against SPEC section 4's invariants: one or more pipeline ranks, each running the same number of
/// chunks (stages), one or more microbatches of equal size, every op of the graph in exactly one stage (chunks of
/// one rank in order, stages in graph order without interleaving), each stage's devices distinct ids of the
/// cluster and disjoint from other ranks', its mesh holding exactly its devices, and every op's strategy one of
/// the op's (each mesh axis splitting one of its indices or none, a ZeRO stage of 0 to 3), valid on its mesh and
/// giving each device whole samples of a microbatch.
///
/// It reads any `TrainingPlan` without trapping, a plan whose graph was swapped for another included; a plan it
/// accepts is one `PlanEvaluator.evaluate(_:)` can price.
public enum PlanValidator {
    /// The first broken invariant, described for a person, or nil when the plan is sound.
    public static func violation(in plan: TrainingPlan) -> String? {
        let graph = plan.graph
        if let problem = countsViolation(in: plan) { return problem }
        let roles = TensorRoles(graph)
        var owner = Array(repeating: -1, count: graph.operations.count)
        for (index, stage) in plan.stages.enumerated() {
            guard stage.operations.lowerBound >= 0, stage.operations.upperBound <= graph.operations.count else {
                return "stage \(index) holds ops \(stage.operations.lowerBound) ..< \(stage.operations.upperBound), but graph \"\(graph.name)\" has ops 0 ..< \(graph.operations.count)"
            }
            guard stage.strategies.count == stage.operations.count else {
                return "stage \(index) has \(stage.strategies.count) strategies for \(stage.operations.count) ops"
            }
            for op in stage.operations {
                guard owner[op] == -1 else { return "op \(graph.operations[op].name) is in stages \(owner[op]) and \(index)" }
                owner[op] = index
            }
            if index > 0 && plan.virtualStages == 1 && stage.operations.lowerBound != plan.stages[index - 1].operations.upperBound {
                return "stage \(index) does not start where stage \(index - 1) ends"
            }
            let devices = stage.mesh.devices
            guard Set(devices).count == devices.count, devices.allSatisfy({ plan.cluster.deviceIDs.contains($0) }) else {
                return "stage \(index) lists devices that repeat or are not in the cluster"
            }
            guard stage.mesh.shape.reduce(1, *) == devices.count else {
                return "stage \(index)'s mesh \(stage.mesh.shape) does not hold its \(devices.count) devices"
            }
            for op in stage.operations {
                let operation = graph.operations[op]
                let strategy = stage.strategy(of: op)
                let indexCount = operation.indexSpace.indices.count
                if let axis = strategy.indexOfAxis.firstIndex(where: { $0.map { !(0 ..< indexCount).contains($0) } ?? false }) {
                    return "op \(operation.name)'s strategy splits index \(strategy.indexOfAxis[axis]!) along mesh axis \(axis), but the op has indices 0 ..< \(indexCount)"
                }
                guard TrainingOptions.zeroStages.contains(strategy.zeroStage) else {
                    return "op \(operation.name)'s ZeRO stage is \(strategy.zeroStage), not 0, 1, 2 or 3"
                }
                guard strategy.indexOfAxis.count == stage.mesh.shape.count,
                      strategy.isValid(for: operation, operandShapes: operation.inputs.map { graph[$0].type.shape },
                                       resultShape: graph[operation.result].type.shape, meshShape: stage.mesh.shape)
                else { return "op \(operation.name)'s strategy is not valid on stage \(index)'s mesh \(stage.mesh.shape)" }
                guard strategy.splitsWholeSamples(of: operation, batchIndex: roles.batchIndex[op], microbatches: plan.microbatches,
                                                  meshShape: stage.mesh.shape)
                else { return "op \(operation.name) splits each of the \(plan.microbatches) microbatches into fractions of a sample on stage \(index)'s mesh \(stage.mesh.shape)" }
            }
        }
        if let missing = owner.firstIndex(of: -1) { return "op \(graph.operations[missing].name) is in no stage" }
        for rank in 0..<plan.pipelineRanks {
            for other in 0..<rank {
                let mine = Set(plan.stages.indices.filter { plan.rank(ofStage: $0) == rank }.flatMap { plan.stages[$0].mesh.devices })
                let theirs = Set(plan.stages.indices.filter { plan.rank(ofStage: $0) == other }.flatMap { plan.stages[$0].mesh.devices })
                if !mine.isDisjoint(with: theirs) { return "ranks \(other) and \(rank) share devices" }
            }
        }
        return nil
    }

    /// The first of the plan's counts that no plan can have, or nil: no stages, fewer than one pipeline rank or chunk
    /// a rank, stages that are not `pipelineRanks x virtualStages` chunks, fewer than one microbatch, or microbatches
    /// that do not split the global batch evenly.
    private static func countsViolation(in plan: TrainingPlan) -> String? {
        let ranks = plan.pipelineRanks, chunks = plan.virtualStages, microbatches = plan.microbatches
        guard !plan.stages.isEmpty else { return "the plan has no stages" }
        guard ranks >= 1 else { return "the plan has \(ranks) pipeline ranks; it needs 1 or more" }
        guard chunks >= 1 else { return "the plan has \(chunks) chunks a pipeline rank; it needs 1 or more" }
        let (stageCount, overflow) = ranks.multipliedReportingOverflow(by: chunks)
        guard !overflow, stageCount == plan.stages.count else {
            return "the plan has \(plan.stages.count) stage\(plan.stages.count == 1 ? "" : "s"), not the \(ranks) pipeline rank\(ranks == 1 ? "" : "s") x \(chunks) chunk\(chunks == 1 ? "" : "s") it states"
        }
        guard microbatches >= 1 else { return "the plan has \(microbatches) microbatches; it needs 1 or more" }
        let batch = plan.graph.batchSize ?? 1
        guard batch % microbatches == 0 else {
            return "the global batch of \(batch) does not split into \(microbatches) microbatches of equal size"
        }
        return nil
    }
}
