/// Context parallelism's key/value exchange (Megatron-Core's CP with `cp_comm_type p2p`, TransformerEngine's
/// ring attention): an attention op whose query sequence is split over N devices while its keys and values
/// stay whole gathers the other N - 1 chunks of K and V, one per step of a ring, computing on the chunk it
/// holds while the next one arrives; in backward the gradients of K and V travel the ring back
/// (a reduce-scatter). A step's transfer hides behind that step's attention work, so of the exchange's time
/// only what exceeds the attention kernels of the N - 1 overlapped steps is exposed:
/// `max(0, exchange - attention x (N - 1) / N)`, K and V sharing the attention's time half each. With
/// Megatron's load-balanced causal chunks (each rank holds chunks i and 2N - 1 - i of 2N), every step does the
/// same work, which is what an even split of the query index prices.
public enum ContextParallelExchange {
    /// The devices of the ring: the product of the mesh axes that split the attention's query index; 1 for an
    /// op that is not attention or whose queries are whole.
    public static func ringSize(_ operation: Operation, _ strategy: OpStrategy, meshShape: [Int]) -> Int {
        guard case .attention = operation.op,
              let query = operation.indexSpace.indices.firstIndex(where: { $0.name == "query" }) else { return 1 }
        return strategy.splitFactor(of: query, meshShape: meshShape)
    }

    /// Whether `collectives` are the ring's exchange: every one of them of `kind` (all-gathers forward,
    /// reduce-scatters backward) along exactly the axes that split the queries.
    public static func isRingExchange(_ collectives: [Collective], kind: CollectiveKind, _ operation: Operation,
                                      _ strategy: OpStrategy) -> Bool {
        guard case .attention = operation.op,
              let query = operation.indexSpace.indices.firstIndex(where: { $0.name == "query" }) else { return false }
        let ringAxes = strategy.indexOfAxis.indices.filter { strategy.indexOfAxis[$0] == query }
        return !collectives.isEmpty && collectives.allSatisfy { $0.kind == kind && $0.axes.sorted() == ringAxes }
    }

    /// Seconds of one of K's or V's exchange left exposed behind `attentionSeconds` of attention kernels on a
    /// ring of `ringSize` devices.
    public static func exposedSeconds(_ exchangeSeconds: Double, attentionSeconds: Double, ringSize: Int) -> Double {
        guard ringSize > 1 else { return exchangeSeconds }
        let hidden = attentionSeconds * Double(ringSize - 1) / Double(ringSize) / 2
        return max(0, exchangeSeconds - hidden)
    }

    /// The memory-bound work TransformerEngine's ring attention does around its attention kernels on one device,
    /// per layer and microbatch, for a ring of `ringSize` steps: bytes moved and kernels launched, forward and
    /// backward. `query` is the bytes of the local query chunk (and of the output), `keyValue` those of the local
    /// K and V chunks together, `statistics` those of the fp32 log-sum-exp (`AttnFuncWithCP` in TE 1.8's
    /// `transformer_engine/pytorch/attention.py`, cuDNN's fused attention; the rank that copies query halves, the
    /// slower one). Forward: K and V are concatenated into the exchange buffer; each later step copies half a
    /// chunk into a contiguous buffer; the bf16 output accumulator is zeroed; the log-sum-exp is cloned, widened
    /// to fp64, corrected once per later step and narrowed back; after the loop every step's output is rescaled
    /// into the accumulator (read the step's output and the accumulator, write the accumulator). Backward: half
    /// the log-sum-exp and K and V are copied; each later step copies half of q, the output and its gradient;
    /// cuDNN's dk and dv are concatenated every step; dq and dk/dv are accumulated in bf16, a copy at the first
    /// step and an add (two reads, one write) at each later one.
    public static func bookkeeping(ringSize: Int, query: Double, keyValue: Double, statistics: Double)
        -> (forward: (bytes: Double, kernels: Int), backward: (bytes: Double, kernels: Int)) {
        guard ringSize > 1 else { return ((0, 0), (0, 0)) }
        let steps = Double(ringSize), later = Double(ringSize - 1)
        let forward = 2 * keyValue + later * max(query, keyValue) + query
            + (8 + 5 * later) * statistics + steps * (3 * query + 2 * statistics)
        let backward = statistics + 2 * keyValue + 3 * later * query + 2 * steps * keyValue
            + (2 + 3 * later) * query + (2 + 3 * later) * keyValue
        return ((forward, 5 + 2 * (ringSize - 1) + ringSize), (backward, 2 + 3 * (ringSize - 1) + 3 * ringSize))
    }
}
