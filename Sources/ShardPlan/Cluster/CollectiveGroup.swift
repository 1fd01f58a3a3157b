/// A set of devices that run one collective together, reduced to the figures of an alpha-beta cost: how many
/// take part, how many nodes they span, the bus bandwidth each collective reaches (bytes/s), and the latency of
/// one step inside a node and across nodes (seconds).
///
/// Message sizes are always the bytes of the FULL logical tensor: the summed tensor of an all-reduce, the gathered
/// result of an all-gather, the unreduced input of a reduce-scatter, the whole tensor being re-split by an
/// all-to-all. Bus bandwidths follow nccl-tests: a ring all-reduce of B bytes over n devices moves
/// 2(n-1)/n * B through each device's link, so its time is that volume over the bus bandwidth.
public struct CollectiveGroup: Sendable, Equatable {
    /// Devices taking part (n).
    public var size: Int
    /// Nodes the devices span (N); the ring crosses between nodes N times per pass.
    public var nodeCount: Int
    /// Bus bandwidth of all-reduce, bytes/s.
    public var allReduceBusBandwidth: Double
    /// Bus bandwidth of all-gather and reduce-scatter, bytes/s.
    public var allGatherBusBandwidth: Double
    /// Bandwidth each device reaches sending its part of an all-to-all, bytes/s.
    public var allToAllBandwidth: Double
    /// Latency of one collective step between devices of one node, seconds.
    public var intraNodeLatency: Double
    /// Latency of one collective step between nodes, seconds.
    public var interNodeLatency: Double

    public init(size: Int, nodeCount: Int, allReduceBusBandwidth: Double, allGatherBusBandwidth: Double,
                allToAllBandwidth: Double, intraNodeLatency: Double, interNodeLatency: Double) {
        self.size = size
        self.nodeCount = nodeCount
        self.allReduceBusBandwidth = allReduceBusBandwidth
        self.allGatherBusBandwidth = allGatherBusBandwidth
        self.allToAllBandwidth = allToAllBandwidth
        self.intraNodeLatency = intraNodeLatency
        self.interNodeLatency = interNodeLatency
    }

    /// One device alone: every collective is free.
    public static let singleDevice = CollectiveGroup(size: 1, nodeCount: 1, allReduceBusBandwidth: .infinity,
                                                     allGatherBusBandwidth: .infinity, allToAllBandwidth: .infinity,
                                                     intraNodeLatency: 0, interNodeLatency: 0)

    /// Ring all-reduce of a `bytes`-byte tensor: `2(n-1)/n * B / busbw` plus 2(n-1) steps, of which 2(N-1)
    /// cross nodes (NCCL's own latency model, src/graph/tuning.cc).
    public func allReduceSeconds(bytes: Double) -> Double {
        guard size > 1 else { return 0 }
        return 2 * fractionSent * bytes / allReduceBusBandwidth + stepLatency(steps: 2 * (size - 1), interNodeSteps: 2 * (nodeCount - 1))
    }

    /// Ring all-gather producing a `bytes`-byte tensor: `(n-1)/n * B / busbw` plus n-1 steps, N-1 across nodes.
    public func allGatherSeconds(bytes: Double) -> Double {
        guard size > 1 else { return 0 }
        return fractionSent * bytes / allGatherBusBandwidth + stepLatency(steps: size - 1, interNodeSteps: nodeCount - 1)
    }

    /// Ring reduce-scatter of a `bytes`-byte tensor: the same volume and steps as an all-gather of it.
    public func reduceScatterSeconds(bytes: Double) -> Double {
        allGatherSeconds(bytes: bytes)
    }

    /// All-to-all re-splitting a `bytes`-byte tensor: each device holds B/n and sends (n-1)/n of it, so
    /// `(n-1)/n * (B/n) / bw` (nccl-tests' alltoall convention with its per-device size B/n), plus one step per
    /// peer: those on the device's own node at the intra-node latency, the others at the inter-node latency.
    public func allToAllSeconds(bytes: Double) -> Double {
        guard size > 1 else { return 0 }
        let localPeers = size / nodeCount - 1
        return fractionSent * (bytes / Double(size)) / allToAllBandwidth
            + stepLatency(steps: size - 1, interNodeSteps: size - 1 - localPeers)
    }

    /// The slowest of several groups that run the same collective at once (the groups along a mesh axis): the
    /// collective ends when the last of them does, so take the lowest bandwidths and the highest latencies.
    public static func slowest(of groups: [CollectiveGroup]) -> CollectiveGroup {
        precondition(!groups.isEmpty, "at least one group")
        return CollectiveGroup(size: groups.map(\.size).max()!, nodeCount: groups.map(\.nodeCount).max()!,
                               allReduceBusBandwidth: groups.map(\.allReduceBusBandwidth).min()!,
                               allGatherBusBandwidth: groups.map(\.allGatherBusBandwidth).min()!,
                               allToAllBandwidth: groups.map(\.allToAllBandwidth).min()!,
                               intraNodeLatency: groups.map(\.intraNodeLatency).max()!,
                               interNodeLatency: groups.map(\.interNodeLatency).max()!)
    }

    /// (n-1)/n: the share of a tensor that passes through each device's link in one ring pass.
    private var fractionSent: Double { Double(size - 1) / Double(size) }

    private func stepLatency(steps: Int, interNodeSteps: Int) -> Double {
        Double(steps - interNodeSteps) * intraNodeLatency + Double(interNodeSteps) * interNodeLatency
    }
}
