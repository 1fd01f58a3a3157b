extension StageLayout {
    /// The ZeRO stage of each parameter the stage reads, in first-read order, at least `planStage` (the plan's own):
    /// a parameter is stored, and its state sharded, as its first reader in the stage says (`StageCostModel`); other
    /// readers' stages change nothing. A frozen parameter counts only under ZeRO-3, the one stage that shards its
    /// weight; below it, the stage the search gave it changes nothing.
    func parameterZeroStages(in graph: Graph, planStage: Int) -> [Int] {
        var seen = Set<ValueID>()
        var stages: [Int] = []
        for op in operations {
            for input in graph.operations[op].inputs where graph[input].isParameter && seen.insert(input).inserted {
                let stage = max(planStage, strategy(of: op).zeroStage)
                // ZeRO-1 and 2 shard state a frozen parameter does not have.
                if graph[input].isFrozen && stage < 3 { continue }
                stages.append(stage)
            }
        }
        return stages
    }
}
