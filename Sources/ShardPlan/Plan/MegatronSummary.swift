/// Describes a searched stage layout in Megatron's terms when it matches them: a mesh axis that splits the
/// batch of (nearly) every weight-reading contraction is data parallelism, one that splits their weights is
/// tensor parallelism ("tp=8 dp=2"); anything else is named as a mixed axis.
public enum MegatronSummary {
    /// The share of weight-reading contractions an axis must split the same way to be named tp or dp.
    static let agreement = 0.9

    public static func describe(_ stage: StageLayout, graph: Graph) -> String {
        let roles = TensorRoles(graph)
        let contractions = stage.operations.filter { op in
            graph.operations[op].op.isContraction && graph.operations[op].inputs.contains { graph[$0].isParameter }
        }
        var parts: [String] = []
        var tensor = 1, data = 1
        for axis in stage.mesh.shape.indices where stage.mesh.shape[axis] > 1 {
            var batchSplits = 0, weightSplits = 0
            for op in contractions {
                let operation = graph.operations[op]
                guard let index = stage.strategy(of: op).indexOfAxis[axis] else { continue }
                if index == roles.batchIndex[op] { batchSplits += 1; continue }
                let weights = operation.inputs.indices.filter { graph[operation.inputs[$0]].isParameter }
                if weights.contains(where: { operation.indexSpace.operandIndices[$0].contains(index) }) { weightSplits += 1 }
            }
            let total = Double(max(contractions.count, 1))
            let size = stage.mesh.shape[axis]
            if Double(batchSplits) >= agreement * total { data *= size }
            else if Double(weightSplits) >= agreement * total { tensor *= size }
            else { parts.append("\(stage.mesh.axisNames[axis])=\(size) mixed") }
        }
        let zero = stage.operations.map { stage.strategy(of: $0).zeroStage }.max() ?? 0
        if zero > 0 { parts.append("zero=\(zero) on some parameters") }
        return (["tp=\(tensor)", "dp=\(data)"] + parts).joined(separator: " ")
    }
}
