/// Checks a plan against SPEC section 4's invariants: every op in exactly one stage (chunks of one rank in
/// order, stages in graph order without interleaving), each stage's devices distinct ids of the cluster and
/// disjoint from other ranks', its mesh holding exactly its devices, and every op's strategy valid on its mesh
/// and giving each device whole samples of a microbatch.
public enum PlanValidator {
    /// The first broken invariant, described for a person, or nil when the plan is sound.
    public static func violation(in plan: TrainingPlan) -> String? {
        let graph = plan.graph
        let roles = TensorRoles(graph)
        var owner = Array(repeating: -1, count: graph.operations.count)
        for (index, stage) in plan.stages.enumerated() {
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
}
