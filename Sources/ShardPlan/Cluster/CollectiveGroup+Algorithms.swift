extension CollectiveGroup {
    /// One way NCCL may run a collective, and what it would take.
    public struct Choice: Sendable, Equatable {
        public var algorithm: CollectiveAlgorithm
        public var wireProtocol: CollectiveProtocol
        /// Seconds: the latency plus the bytes over the algorithm's bandwidth.
        public var seconds: Double
    }

    /// The cheapest algorithm and protocol for a `kind` collective of `bytes` (the full tensor's size), as
    /// NCCL picks it: every candidate it offers priced, the fastest kept (ties go to the earlier of ring, tree,
    /// NVLS and LL, LL128, Simple). All-to-all and sends are not NCCL collectives and are priced elsewhere.
    public func fastest(_ kind: CollectiveKind, bytes: Double) -> Choice {
        fastest(kind, bytes: bytes, algorithms: CollectiveAlgorithm.allCases, protocols: CollectiveProtocol.allCases)!
    }

    /// The cheapest of the candidates `algorithms` x `protocols` (`NCCL_ALGO`, `NCCL_PROTO`); nil where NCCL
    /// offers none of them for `kind`.
    public func fastest(_ kind: CollectiveKind, bytes: Double, algorithms: [CollectiveAlgorithm],
                        protocols: [CollectiveProtocol]) -> Choice? {
        guard size > 1, bytes > 0 else {
            guard let algorithm = algorithms.first, let wireProtocol = protocols.first else { return nil }
            return Choice(algorithm: algorithm, wireProtocol: wireProtocol, seconds: 0)
        }
        var best: Choice?
        for algorithm in algorithms {
            for wireProtocol in protocols {
                guard let seconds = seconds(kind, bytes: bytes, algorithm: algorithm, protocol: wireProtocol) else { continue }
                if best == nil || seconds < best!.seconds {
                    best = Choice(algorithm: algorithm, wireProtocol: wireProtocol, seconds: seconds)
                }
            }
        }
        return best
    }

    /// Seconds a `kind` collective of `bytes` takes with `algorithm` and `wireProtocol`, or nil where NCCL
    /// does not offer that algorithm (trees only all-reduce, and only across nodes here: inside one node a tree
    /// is a chain no faster than the ring; NVLS only all-reduce, in Simple, inside a domain whose switch reduces).
    ///
    /// No algorithm beats the line rate L of the group's links (`lineRate`). Whatever the algorithm, every device
    /// ends an all-reduce of B bytes holding all B of the result, which it did not hold (the switch or its peers
    /// sent it), so its link carries at least B in: the time is at least B / L, the algorithm bandwidth at most L,
    /// and the bus bandwidth (algorithm bandwidth x 2(n-1)/n) at most 2(n-1)/n x L: 1 x L on 2 devices, 1.75 x L
    /// on 8. An all-gather's or reduce-scatter's device receives the (n-1)/n x B it lacks (sends it, for a
    /// reduce-scatter), so its bus bandwidth (x (n-1)/n) is at most L. A ring all-reduce's device sends and receives
    /// 2(n-1)/n x B through its link, so the ring's bus bandwidth is at most L whatever n; only NVLS, whose switch
    /// reduces, goes beyond it. Each algorithm's bandwidth is capped so.
    public func seconds(_ kind: CollectiveKind, bytes: Double, algorithm: CollectiveAlgorithm,
                        protocol wireProtocol: CollectiveProtocol) -> Double? {
        guard size > 1 else { return 0 }
        switch algorithm {
        case .ring:
            guard kind == .allReduce || kind == .allGather || kind == .reduceScatter else { return nil }
            let simple = min(kind == .allReduce ? allReduceBusBandwidth : allGatherBusBandwidth, lineRate)
            let busBandwidth = wireProtocol.ringBusBandwidth(simple: simple, kind: kind, nodeCount: nodeCount,
                                                            devicesPerNode: devicesPerNode)
            let passes = kind == .allReduce ? 2.0 : 1.0
            return ringLatency(kind, wireProtocol)
                + passes * Double(size - 1) / Double(size) * bytes / busBandwidth
        case .tree:
            guard kind == .allReduce, nodeCount > 1 else { return nil }
            let intraHop = wireProtocol.hopLatency(.tree, simpleRingLatency: intraNodeLatency, network: false)
            let interHop = wireProtocol.hopLatency(.tree, simpleRingLatency: interNodeLatency, network: true)
            let depth = Double(Int(Double(nodeCount).exponent))
            let latency = wireProtocol.baseLatency(.tree)
                + 2 * (Double(devicesPerNode - 1) * intraHop + depth * interHop)
            // Each device sends its data up the tree and receives the result down it: half the bus bandwidth.
            let algorithmBandwidth = 0.5 * wireProtocol.treeBusBandwidth(simple: allReduceBusBandwidth, nodeCount: nodeCount)
                * wireProtocol.treeCorrection(bytes: bytes)
            return latency + bytes / min(algorithmBandwidth, lineRate)
        case .nvls:
            // Two passes through the switch whatever n: each device has it sum its 1/n share from every peer, then
            // multicasts the sum back. Each pass is charged NCCL's NVLS step (25 us); NCCL's table charges one for
            // the whole, which leaves one H100 node's 8-256 MiB all-reduces 10-34% faster than measured
            // (Docs/clusters.md, "Collective costs").
            guard kind == .allReduce, nodeCount == 1, wireProtocol == .simple, let bandwidth = nvlsAlgorithmBandwidth else { return nil }
            return wireProtocol.baseLatency(.nvls)
                + 2 * wireProtocol.hopLatency(.nvls, simpleRingLatency: intraNodeLatency, network: false)
                + bytes / min(bandwidth, lineRate)
        }
    }

    /// A ring's latency: the protocol's start plus one hop per step. An all-reduce takes 2(n-1) steps, of which
    /// 2(N-1) cross nodes; an all-gather or reduce-scatter n-1, of which N-1 (NCCL's step counts). A ring that
    /// crosses nodes waits at every step for the host to post network work, and NCCL's multi-node Simple
    /// all-reduce pays its latency 1.4 times over (its "plateau" correction for Ampere and later).
    func ringLatency(_ kind: CollectiveKind, _ wireProtocol: CollectiveProtocol) -> Double {
        let passes = kind == .allReduce ? 2 : 1
        let steps = passes * (size - 1), interNodeSteps = passes * (nodeCount - 1)
        var intraHop = wireProtocol.hopLatency(.ring, simpleRingLatency: intraNodeLatency, network: false)
        if nodeCount > 1 { intraHop = max(intraHop, wireProtocol.networkPostOverhead) }
        let interHop = wireProtocol.hopLatency(.ring, simpleRingLatency: interNodeLatency, network: true)
        let latency = wireProtocol.baseLatency(.ring) + Double(steps - interNodeSteps) * intraHop
            + Double(interNodeSteps) * interHop
        return kind == .allReduce && nodeCount > 1 && wireProtocol == .simple ? 1.4 * latency : latency
    }
}
