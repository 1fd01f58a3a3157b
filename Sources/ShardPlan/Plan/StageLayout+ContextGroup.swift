extension StageLayout {
    /// Hierarchical context parallelism's all-to-all group in this stage: the devices of the innermost mesh axis of its
    /// first attention op whose queries split over two axes or more (`ContextParallelExchange.hierarchySizes`); nil where
    /// none does (a split over one axis is the all-to-all alone).
    func hierarchicalContextGroup(in graph: Graph) -> Int? {
        operations.lazy.compactMap { op -> Int? in
            let sizes = ContextParallelExchange.hierarchySizes(graph.operations[op], strategy(of: op), meshShape: mesh.shape)
            return sizes.ring > 1 ? sizes.allToAll : nil
        }.first
    }
}
