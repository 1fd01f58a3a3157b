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
}
