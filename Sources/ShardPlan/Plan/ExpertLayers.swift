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

    /// The expert-parallel layouts a Megatron-LM user would try over `dataParallel` replicas of `contextParallel` x
    /// `tensorParallel` ranks, as expert-parallel size and expert tensor-parallel size (nil: the tensor-parallel
    /// size): none (1, nil); each size that folds over the context-parallel ranks (Megatron-Core's expert rank
    /// order takes them first) and a power of two of the data-parallel ones; and, beside tensor parallelism, each
    /// size that folds over the tensor-parallel ranks too, with whole experts (`--expert-tensor-parallel-size 1`).
    /// Every size divides every layer's experts, so that each rank holds a whole number of them.
    func parallelLayouts(dataParallel: Int, contextParallel: Int = 1, tensorParallel: Int = 1) -> [(size: Int, tensor: Int?)] {
        guard !expertCounts.isEmpty else { return [(1, nil)] }
        var layouts: [(size: Int, tensor: Int?)] = [(1, nil)]
        for (fold, tensor) in [(contextParallel, nil), (contextParallel * tensorParallel, 1)] where tensor == nil || tensorParallel > 1 {
            var ranks = 1
            while ranks <= dataParallel {
                let size = fold * ranks
                if size > 1 && dataParallel % ranks == 0 && expertCounts.allSatisfy({ $0 % size == 0 }) { layouts.append((size, tensor)) }
                ranks *= 2
            }
        }
        return layouts
    }
}
