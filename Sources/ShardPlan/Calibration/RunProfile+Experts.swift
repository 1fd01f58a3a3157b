extension RunProfile {
    /// The parameters one token's forward pass multiplies by in `graph`: every parameter element, less the share of
    /// each expert GEMM's weight a token does not reach. A weight read by `b x c` rows per element (the GEMM's index
    /// space over the weight's elements: `c` tokens per sample routed to each expert) serves `c / s` of the `s` tokens
    /// of a sample, a dense weight all of them: `k / E` for top-k routing over E experts without a capacity limit
    /// (moe-tiny: 8 experts top-2 give 8 of 32 tokens an expert, 1/4), the capacity factor times it with one. Without a
    /// `[batch, sequence]` input every parameter counts.
    public static func activeParameterCount(of graph: Graph) -> Double {
        let total = Double(ModelCatalog.parameterCount(of: graph))
        guard let sequence = ParallelLayout.sequenceLength(of: graph) else { return total }
        let tokens = Double((graph.batchSize ?? 1) * sequence)
        var seen = Set<ValueID>(), idle = 0.0
        for operation in graph.operations {
            guard let expert = MegatronLayout.expertGEMMIndex(operation, graph: graph) else { continue }
            let weight = operation.inputs[expert.weightOperand]
            guard seen.insert(weight).inserted else { continue }
            let elements = Double(graph[weight].type.elementCount)
            let rows = operation.indexSpace.indices.reduce(1.0) { $0 * Double($1.size) } / elements
            idle += elements * max(0, 1 - rows / tokens)
        }
        return total - idle
    }

    /// The most ranks any stage of `plan` splits an expert GEMM's experts over: its expert parallelism (1 without).
    static func expertParallel(of plan: TrainingPlan) -> Int {
        plan.stages.flatMap { stage in
            stage.operations.compactMap { op in
                MegatronLayout.expertGEMMIndex(plan.graph.operations[op], graph: plan.graph)
                    .map { stage.strategy(of: op).splitFactor(of: $0.index, meshShape: stage.mesh.shape) }
            }
        }.max() ?? 1
    }
}
