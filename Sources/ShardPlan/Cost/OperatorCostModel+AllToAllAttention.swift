extension OperatorCostModel {
    /// Fused attention whose queries split over `ringSize` devices under the all-to-all exchange
    /// (`ContextParallelCommunication.allToAll`, TransformerEngine's `AttnFuncWithCPAndQKVOA2A`, DeepSpeed-Ulysses'
    /// scheme): an all-to-all re-splits each device's chunk of the sequence into the whole sequence for `1/N` of its
    /// heads, one kernel attends over it, and an all-to-all splits the output back; in the backward pass the output
    /// (kept split by sequence) and its gradient cross the same way, one backward kernel runs, and the gradients of q, k
    /// and v cross back. The op's own collectives are the all-to-alls of q and the output forward, and of the output,
    /// its gradient and q's gradient backward; K's and V's are the layout changes into and out of the op
    /// (`ContextParallelExchange.carry`). None hides behind a kernel.
    ///
    /// The kernel does the unsplit kernel's work over the whole sequence, causal mask and window included, for a share
    /// of the heads: the same pairs as the device's query chunk against every key, with no rank doing more than
    /// another. The backward kernel's side kernels run over the device's share of q, k and v. The copies around each
    /// all-to-all are `ContextParallelExchange.allToAllBookkeeping`.
    func allToAllAttentionCost(_ operation: Operation, _ strategy: OpStrategy, _ sizes: [Double], causal: Bool,
                               window: Int?, ringSize: Int) -> OperatorCost {
        let space = operation.indexSpace
        let shape = AttentionShape(operation, localSizes: sizes, in: graph)
        let (batch, queries, heads, headDimension, keys, groupSize) = (shape.batch, shape.queries, shape.heads, shape.headDimension, shape.keys, shape.groupSize)
        let dtype = graph[operation.result].type.dtype
        // The whole sequence for heads / N: as many pairs as the local queries against every key.
        let dense = 4 * batch * queries * keys * heads * headDimension
        func kernel(backward: Bool) -> Double {
            kernels.attentionSeconds(denseFLOPs: backward ? 2.5 * dense : dense, headDimension: headDimension, keyLength: keys,
                                     causal: causal, window: window.map(Double.init), dtype: dtype, backward: backward)
        }
        let keyValueElements = batch * keys * heads / groupSize * headDimension / Double(ringSize)
        let side = kernels.attentionBackwardSideSeconds(
            queryElements: batch * queries * heads * headDimension, rows: batch * queries * heads,
            keyValueElements: keyValueElements, expandedKeyValueElements: keyValueElements * groupSize, width: Double(dtype.byteSize))
        let query = localBytes(operation.inputs[0], strategy.operandSpec(0, in: space))
        let output = localBytes(operation.result, strategy.resultSpec(in: space))
        // K and V are whole in the op's layout (the chunks the all-to-all gathers heads of); a device holds 1/N of them.
        let keyValue = [1, 2].map { localBytes(operation.inputs[$0], strategy.operandSpec($0, in: space)) }.reduce(0, +) / Double(ringSize)
        let work = ContextParallelExchange.allToAllBookkeeping(query: query, keyValue: keyValue)
        let axes = ContextParallelExchange.ringAxes(operation, strategy)
        return OperatorCost(
            category: .attention,
            forwardSeconds: kernel(backward: false) + kernels.streamSeconds(bytes: work.forward.bytes)
                + Double(work.forward.kernels) * kernels.launchSeconds,
            backwardSeconds: kernel(backward: true) + side + kernels.streamSeconds(bytes: work.backward.bytes)
                + Double(work.backward.kernels) * kernels.launchSeconds,
            forwardCollectives: [query, output].map { Collective(.allToAll, axes: axes, bytes: $0) },
            backwardCollectives: [output, output, query].map { Collective(.allToAll, axes: axes, bytes: $0) },
            forwardFLOPs: dense)
    }
}
