extension StageLayout {
    /// Whether some op of this stage splits a mixture of experts' experts over devices (an expert GEMM's expert index
    /// over mesh axes of more than one device): where the experts' all-to-alls, their overlap and their dispatcher
    /// (`TrainingOptions.expertDispatcher`) change anything.
    func splitsExperts(in graph: Graph) -> Bool {
        operations.contains { op in
            MegatronLayout.expertGEMMIndex(graph.operations[op], graph: graph)
                .map { strategy(of: op).splitFactor(of: $0.index, meshShape: mesh.shape) > 1 } ?? false
        }
    }
}

extension TrainingPlan {
    /// Whether some stage splits a mixture of experts' experts over devices (`StageLayout.splitsExperts(in:)`).
    public var splitsExperts: Bool { stages.contains { $0.splitsExperts(in: graph) } }
}
