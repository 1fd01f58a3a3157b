extension OperatorCostModel {
    /// Fused attention whose queries split over `ringSize` devices under the all-gather exchange
    /// (`ContextParallelCommunication.allGather`, TransformerEngine's `AttnFuncWithCPAndKVAllGather`): each device
    /// gathers K and V whole, attends with its two load-balanced query chunks, one kernel each over the keys the chunk
    /// reads (`ContextParallelExchange.gatheredSteps`), and in the backward pass gathers K and V again before the two
    /// backward kernels (an all-gather of each on the axes that split the queries, this op's own collectives; the
    /// forward gather and the gradients' reduce-scatter are the layout changes into and out of the op, exposed).
    ///
    /// Each kernel is priced at its pairs, plus a share of a tile row for each mask edge it crosses (the causal
    /// kernel's overhead, `AttentionKernel.causalOverheadTokens`), at the rate of the keys it reads; a sliding window
    /// narrows the keys each chunk reads, so windowed layers cost their band. The ranks' work differs with a window and
    /// their rates with the keys, so the op is priced as its slowest rank. The memory-bound work around the kernels is
    /// `ContextParallelExchange.gatheredBookkeeping`. Both chunks' kernels are priced one after the other, as the
    /// ring's steps are; TransformerEngine runs them on two streams.
    func gatheredAttentionCost(_ operation: Operation, _ strategy: OpStrategy, _ sizes: [Double], causal: Bool,
                               window: Int?, ringSize: Int) -> OperatorCost {
        let space = operation.indexSpace
        let shape = AttentionShape(operation, localSizes: sizes, in: graph)
        let (batch, queries, heads, headDimension, keys, groupSize) = (shape.batch, shape.queries, shape.heads, shape.headDimension, shape.keys, shape.groupSize)
        let dtype = graph[operation.result].type.dtype
        let chunk = queries / 2
        let overhead = kernels.attentionKernel.causalOverheadTokens(on: kernels.generation)
        let perPair = 4 * batch * heads * headDimension
        // The Triton kernel runs no window (`KernelModel.attentionSeconds` prices it as full causal attention).
        let window = kernels.attentionKernel.available(on: kernels.generation) == .triton ? nil : window
        /// The seconds of one rank's kernels and, summed, the keys they read.
        func rank(_ index: Int) -> (forward: Double, backward: Double, readKeys: Double) {
            var result = (forward: 0.0, backward: 0.0, readKeys: 0.0)
            for step in ContextParallelExchange.gatheredSteps(rank: index, ringSize: ringSize, keys: keys, causal: causal, window: window) {
                let flops = perPair * min(step.pairs + Double(step.maskEdges) * overhead * chunk, chunk * step.keyLength)
                result.forward += kernels.attentionSeconds(denseFLOPs: flops, headDimension: headDimension, keyLength: step.keyLength,
                                                           causal: false, dtype: dtype, backward: false)
                let keyValue = batch * step.keyLength * heads / groupSize * headDimension
                result.backward += kernels.attentionSeconds(denseFLOPs: 2.5 * flops, headDimension: headDimension, keyLength: step.keyLength,
                                                            causal: false, dtype: dtype, backward: true)
                    + kernels.attentionBackwardSideSeconds(queryElements: batch * chunk * heads * headDimension, rows: batch * chunk * heads,
                                                           keyValueElements: keyValue, expandedKeyValueElements: keyValue * groupSize,
                                                           width: Double(dtype.byteSize))
                result.readKeys += step.keyLength
            }
            return result
        }
        let slowest = (0 ..< ringSize).map(rank).max { $0.forward + $0.backward < $1.forward + $1.backward }!
        // K and V arrive whole (gathered); a device's own chunk is 1/N of them.
        let gathered = [1, 2].map { localBytes(operation.inputs[$0], strategy.operandSpec($0, in: space)) }
        let keyValue = (gathered[0] + gathered[1]) / Double(ringSize)
        let work = ContextParallelExchange.gatheredBookkeeping(
            ringSize: ringSize, query: localBytes(operation.result, strategy.resultSpec(in: space)), keyValue: keyValue,
            readKeyValue: (gathered[0] + gathered[1]) * slowest.readKeys / keys)
        return OperatorCost(
            category: .attention,
            forwardSeconds: slowest.forward + kernels.streamSeconds(bytes: work.forward.bytes) + Double(work.forward.kernels) * kernels.launchSeconds,
            backwardSeconds: slowest.backward + kernels.streamSeconds(bytes: work.backward.bytes) + Double(work.backward.kernels) * kernels.launchSeconds,
            forwardCollectives: [],
            backwardCollectives: gathered.map { Collective(.allGather, axes: ContextParallelExchange.ringAxes(operation, strategy), bytes: $0) },
            forwardFLOPs: 4 * batch * queries * keys * heads * headDimension)
    }

    /// Bytes an op keeps for its backward pass besides its statistics under the all-gather exchange: each query
    /// chunk's output (`out_per_step`, saved for the backward kernels beside the output they are copied into). 0 for any
    /// other op, or attention whose queries are whole or exchange in a ring.
    func exchangeSavedBytes(_ operation: Operation, _ strategy: OpStrategy) -> Double {
        guard contextParallelCommunication == .allGather, case .attention = operation.op,
              ContextParallelExchange.ringSize(operation, strategy, meshShape: meshShape) > 1 else { return 0 }
        return localBytes(operation.result, strategy.resultSpec(in: operation.indexSpace))
    }
}
