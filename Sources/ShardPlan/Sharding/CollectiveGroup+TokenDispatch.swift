extension CollectiveGroup {
    /// A token dispatcher's all-to-all that sends each token once per destination rank and node
    /// (`TokenDispatch.deduplicates`: DeepEP's and HybridEP's dispatch and combine), `bytes` being the whole permuted
    /// buffer the NCCL all-to-all would re-split (`topK` copies of every token, `allToAllSeconds(bytes:)`).
    ///
    /// With `t` the bytes of one copy of a device's tokens, `n` devices on `N` nodes of `g`, and the experts in equal
    /// contiguous shares: across nodes a token travels once to each node other than its own that holds one of its
    /// experts, `t (N - 1) (1 - miss(E / N))` over the device's own NIC; over NVLink it is forwarded to each rank that
    /// holds one of its experts but the one it lands on, `t n (1 - miss(E / n)) (g - 1) / g`; the two run at once, and
    /// the slower sets the time. Inside one node that is `t (g - 1) (1 - miss(E / g))` against the all-to-all's
    /// `t k (g - 1) / g`. Latency as the all-to-all's: one step for each peer on the node, one for each other node.
    public func deduplicatedAllToAllSeconds(bytes: Double, dispatch: TokenDispatch) -> Double {
        guard size > 1 else { return 0 }
        let devices = Double(size), nodes = Double(nodeCount), perNode = Double(size / nodeCount)
        let tokenBytes = bytes / devices / Double(dispatch.topK)
        let experts = Double(dispatch.experts)
        let reachedRanks = devices * (1 - dispatch.missChance(held: experts / devices))
        let forwarded = tokenBytes * reachedRanks * (perNode - 1) / perNode
        let latency = (perNode - 1) * intraNodeLatency + (nodes - 1) * interNodeLatency
        guard nodeCount > 1 else { return forwarded / allToAllBandwidth + latency }
        let acrossNodes = tokenBytes * (nodes - 1) * (1 - dispatch.missChance(held: experts / nodes))
        return max(acrossNodes / allToAllBandwidth, forwarded / domainAllGatherBusBandwidth) + latency
    }
}
