extension StageLayout {
    /// The ZeRO stage of each parameter the stage reads, in first-read order, at least `planStage` (the plan's own):
    /// a parameter is stored, and its state sharded, as its first reader in the stage says (`StageCostModel`); other
    /// readers' stages change nothing.
    func parameterZeroStages(in graph: Graph, planStage: Int) -> [Int] {
        var seen = Set<ValueID>()
        var stages: [Int] = []
        for op in operations {
            for input in graph.operations[op].inputs where graph[input].isParameter && seen.insert(input).inserted {
                stages.append(max(planStage, strategy(of: op).zeroStage))
            }
        }
        return stages
    }
}
