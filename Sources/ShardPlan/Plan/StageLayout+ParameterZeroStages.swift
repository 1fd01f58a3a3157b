extension StageLayout {
    /// The ZeRO stage of each parameter the stage reads that ZeRO can shard, in first-read order, at least `planStage`
    /// (the plan's own): a parameter is stored, and its state sharded, as its first reader in the stage says
    /// (`StageCostModel`); other readers' stages change nothing. A frozen parameter counts only under ZeRO-3, the one
    /// stage that shards its weight; below it, the stage the search gave it changes nothing. A parameter with no
    /// data-parallel devices (`storedParameters(in:planStage:)`) is left out.
    func parameterZeroStages(in graph: Graph, planStage: Int) -> [Int] {
        storedParameters(in: graph, planStage: planStage).compactMap { stored in
            // ZeRO-1 and 2 shard state a frozen parameter does not have.
            guard stored.isDataParallel, !(graph[stored.parameter].isFrozen && stored.zeroStage < 3) else { return nil }
            return stored.zeroStage
        }
    }

    /// Every parameter the stage reads, in first-read order, with its first reader (which stores it), its ZeRO stage
    /// there (at least `planStage`) and whether it has data-parallel devices for ZeRO to shard its state over: its
    /// first reader's gradient is partial over some mesh axis of more than one device. Without one (a stage that
    /// replicates the whole computation, a table split over every device) every device computes the whole batch's
    /// gradient of its copy, nothing is reduced, and `StageCostModel` prices its state unsharded at every stage.
    func storedParameters(in graph: Graph, planStage: Int) -> [(parameter: ValueID, operation: Int, zeroStage: Int, isDataParallel: Bool)] {
        var seen = Set<ValueID>()
        var stored: [(parameter: ValueID, operation: Int, zeroStage: Int, isDataParallel: Bool)] = []
        for op in operations {
            let operation = graph.operations[op]
            for (operand, input) in operation.inputs.enumerated() where graph[input].isParameter && seen.insert(input).inserted {
                let dataParallelAxes = strategy(of: op).gradientSpec(operand, in: operation.indexSpace).partialAxes
                stored.append((input, op, max(planStage, strategy(of: op).zeroStage), mesh.size(ofAxes: dataParallelAxes) > 1))
            }
        }
        return stored
    }
}
