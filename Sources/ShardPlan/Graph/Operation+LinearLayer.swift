extension Operation {
    /// Whether the op is a linear layer: a product (einsum or matmul) that reads a parameter of `graph`. Megatron's
    /// layouts split these, and tensor parallelism's overlap hides their collectives behind their GEMMs.
    public func isLinearLayer(in graph: Graph) -> Bool {
        op.isContraction && inputs.contains { graph[$0].isParameter }
    }
}
