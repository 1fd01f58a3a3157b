/// A graph's mixture-of-experts layers as Megatron-LM's expert parallelism sees them: how many experts each expert
/// GEMM holds (`MegatronLayout.expertGEMMIndex`), and the elements of those GEMMs' weights, which expert
/// parallelism splits over its ranks. Without experts both are empty.
struct ExpertLayers: Sendable {
    /// The expert counts of the graph's expert GEMMs.
    let expertCounts: Set<Int>
    /// Elements of the expert GEMMs' weights, each weight counted once.
    let parameterElements: Double

    init(_ graph: Graph) {
        var counts = Set<Int>(), seen = Set<ValueID>(), elements = 0.0
        for operation in graph.operations {
            guard let expert = MegatronLayout.expertGEMMIndex(operation, graph: graph) else { continue }
            counts.insert(operation.indexSpace.indices[expert.index].size)
            let weight = operation.inputs[expert.weightOperand]
            if seen.insert(weight).inserted { elements += Double(graph[weight].type.elementCount) }
        }
        expertCounts = counts
        parameterElements = elements
    }

    /// The expert-parallel sizes a Megatron-LM user would try over `dataParallel` replicas: 1, and each power of two
    /// that divides the replicas and every layer's experts (Megatron-Core requires both: the experts' ranks are
    /// cut from the data-parallel ones, and each holds a whole number of experts).
    func parallelSizes(dividing dataParallel: Int) -> [Int] {
        guard let fewest = expertCounts.min() else { return [1] }
        var sizes = [1], size = 2
        while size <= min(dataParallel, fewest) {
            if dataParallel % size == 0 && expertCounts.allSatisfy({ $0 % size == 0 }) { sizes.append(size) }
            size *= 2
        }
        return sizes
    }
}
