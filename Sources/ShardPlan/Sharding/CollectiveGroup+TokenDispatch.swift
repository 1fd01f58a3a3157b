extension CollectiveGroup {
    /// A token dispatcher's all-to-all that sends each token once per destination rank and node
    /// (`TokenDispatch.deduplicates`: DeepEP's and HybridEP's dispatch and combine), `bytes` being the whole permuted
    /// buffer the NCCL all-to-all would re-split (`topK` copies of every token, `allToAllSeconds(bytes:)`).
    ///
    /// With `t` the bytes of one copy of a device's tokens, `n` devices on `N` nodes of `g`, the experts in equal
    /// contiguous shares, and `reached(u)` the shares of `u` that hold one of a token's experts
    /// (`TokenDispatch.reachedShares`: `u (1 - miss(E / u))` without group-limited routing): across nodes a token
    /// travels once to each node other than its own that holds one of its experts, `t reached(N) (N - 1) / N` over the
    /// device's own NIC; over NVLink it is forwarded to each rank that holds one of its experts but the one it lands
    /// on, `t reached(n) (g - 1) / g`; the two run at once, and the slower sets the time. Inside one node that is
    /// `t reached(g) (g - 1) / g` against the all-to-all's `t k (g - 1) / g`. Latency as the all-to-all's: one step
    /// for each peer on the node, one for each other node.
    public func deduplicatedAllToAllSeconds(bytes: Double, dispatch: TokenDispatch) -> Double {
        guard size > 1 else { return 0 }
        let devices = Double(size), nodes = Double(nodeCount), perNode = Double(size / nodeCount)
        let tokenBytes = bytes / devices / Double(dispatch.topK)
        let reachedRanks = dispatch.reachedShares(of: size)
        let forwarded = tokenBytes * reachedRanks * (perNode - 1) / perNode
        let latency = (perNode - 1) * intraNodeLatency + (nodes - 1) * interNodeLatency
        guard nodeCount > 1 else { return forwarded / allToAllBandwidth + latency }
        // The token's own node is one of the nodes, reached or not, as likely as any: (N - 1) / N of those reached.
        let acrossNodes = tokenBytes * dispatch.reachedShares(of: nodeCount) * (nodes - 1) / nodes
        return max(acrossNodes / allToAllBandwidth, forwarded / domainAllGatherBusBandwidth) + latency
    }
}
