extension StageLayout {
    /// The ZeRO stage of each parameter the stage reads that ZeRO can shard, in first-read order, at least `planStage`
    /// (the plan's own): a parameter is stored, and its state sharded, as its first reader in the stage says
    /// (`StageCostModel`); other readers' stages change nothing. A frozen parameter counts only under ZeRO-3, the one
    /// stage that shards its weight; below it, the stage the search gave it changes nothing. A parameter whose gradient
    /// no data-parallel devices share (its first reader's gradient is partial over no mesh axis of more than one
    /// device: every device computes the whole batch's gradient of its shard, as a table split over every device does)
    /// has nothing for ZeRO to shard over at any stage and is left out.
    func parameterZeroStages(in graph: Graph, planStage: Int) -> [Int] {
        var seen = Set<ValueID>()
        var stages: [Int] = []
        for op in operations {
            let operation = graph.operations[op]
            for (operand, input) in operation.inputs.enumerated() where graph[input].isParameter && seen.insert(input).inserted {
                let stage = max(planStage, strategy(of: op).zeroStage)
                // ZeRO-1 and 2 shard state a frozen parameter does not have.
                if graph[input].isFrozen && stage < 3 { continue }
                let dataParallelAxes = strategy(of: op).gradientSpec(operand, in: operation.indexSpace).partialAxes
                if mesh.size(ofAxes: dataParallelAxes) > 1 { stages.append(stage) }
            }
        }
        return stages
    }
}
