extension OperatorCostModel {
    /// Fused attention whose queries split over `ringSize` devices under hierarchical context parallelism
    /// (`ContextParallelCommunication.hierarchical`, Megatron-Core's `a2a+p2p`): an all-to-all over the group of the
    /// ring's innermost mesh axis (a devices; `ContextParallelExchange.hierarchy(ringAxes:meshShape:)`) re-splits each device's
    /// chunk of q, k, v by heads, so that a device holds a chunks of the sequence for 1/a of its heads; TransformerEngine's
    /// ring then runs over the other b = N / a devices, each step's kernel over a chunk a times longer, and an
    /// all-to-all splits the output back. Backward the output and its gradient cross the group, the ring's backward runs,
    /// and the gradients of q, k and v cross back.
    ///
    /// The kernels and the ring's bookkeeping are the ring's (`attentionCost` over b steps with the local sizes regrouped:
    /// queries a times more, heads a times fewer, a device's own K and V chunk 1/N of them), the copies around each
    /// all-to-all are the all-to-all exchange's (`ContextParallelExchange.allToAllBookkeeping`), and the op's own
    /// collectives are the all-to-alls of q and the output forward and of the output, its gradient and q's gradient
    /// backward over the group; K's and V's all-to-alls and ring passes are the layout changes into and out of the op
    /// (`ContextParallelExchange.carry`). A ring over one mesh axis has no ring left: it is the all-to-all exchange.
    func hierarchicalAttentionCost(_ operation: Operation, _ strategy: OpStrategy, _ sizes: [Double], causal: Bool,
                                   window: Int?, ringSize: Int) -> OperatorCost {
        let groups = ContextParallelExchange.hierarchy(ringAxes: ContextParallelExchange.ringAxes(operation, strategy), meshShape: meshShape)
        let (group, ring) = ContextParallelExchange.hierarchySizes(operation, strategy, meshShape: meshShape)
        guard ring > 1 else { return allToAllAttentionCost(operation, strategy, sizes, causal: causal, window: window, ringSize: ringSize) }
        let space = operation.indexSpace
        var regrouped = sizes
        for (index, factor) in [("query", Double(group)), ("heads", 1 / Double(group))] {
            regrouped[space.indices.firstIndex { $0.name == index }!] *= factor
        }
        var cost = attentionCost(operation, strategy, regrouped, causal: causal, window: window, ringSize: ring, allToAllSize: group)
        let query = localBytes(operation.inputs[0], strategy.operandSpec(0, in: space))
        let output = localBytes(operation.result, strategy.resultSpec(in: space))
        // K and V are whole in the op's layout; a device holds 1/N of them before the all-to-all.
        let keyValue = [1, 2].map { localBytes(operation.inputs[$0], strategy.operandSpec($0, in: space)) }.reduce(0, +) / Double(ringSize)
        let work = ContextParallelExchange.allToAllBookkeeping(query: query, keyValue: keyValue)
        cost.forwardSeconds += kernels.streamSeconds(bytes: work.forward.bytes) + Double(work.forward.kernels) * kernels.launchSeconds
        cost.backwardSeconds += kernels.streamSeconds(bytes: work.backward.bytes) + Double(work.backward.kernels) * kernels.launchSeconds
        cost.forwardCollectives = [query, output].map { Collective(.allToAll, axes: groups.allToAll, bytes: $0) }
        cost.backwardCollectives = [output, output, query].map { Collective(.allToAll, axes: groups.allToAll, bytes: $0) }
        return cost
    }
}
