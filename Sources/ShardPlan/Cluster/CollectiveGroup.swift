/// A set of devices that run one collective together, reduced to the figures NCCL's cost model needs: how many
/// take part, how many nodes they span and how many devices they have on each, the bus bandwidth the Simple
/// protocol reaches on a ring (bytes/s), and the latency of one Simple ring step inside a node and between nodes
/// (seconds), the line rate of its narrowest link, and the bandwidth of NVLS where its switch reduces. Every
/// collective is priced as NCCL prices it: each algorithm (ring, tree, NVLS) and protocol (LL, LL128, Simple) it
/// may use costs a latency plus the bytes over a bandwidth, and the cheapest runs
/// (`CollectiveGroup+Algorithms.swift`, Docs/clusters.md).
///
/// Message sizes are always the bytes of the FULL logical tensor: the summed tensor of an all-reduce, the gathered
/// result of an all-gather, the unreduced input of a reduce-scatter, the whole tensor being re-split by an
/// all-to-all. Bus bandwidths follow nccl-tests: a ring all-reduce of B bytes over n devices moves
/// 2(n-1)/n * B through each device's link, so its bandwidth term is that volume over the bus bandwidth.
public struct CollectiveGroup: Sendable, Equatable {
    /// Devices taking part (n).
    public var size: Int
    /// Nodes the devices span (N); the ring crosses between nodes N times per pass.
    public var nodeCount: Int
    /// The fewest devices the group has on one of its nodes (k): the NICs a node lends it, and the length of
    /// the NVLink chain a tree runs inside each node.
    public var devicesPerNode: Int
    /// Bus bandwidth of a Simple-protocol ring all-reduce, bytes/s (nccl-tests `busbw` for large messages).
    public var allReduceBusBandwidth: Double
    /// Bus bandwidth of a Simple-protocol ring all-gather and reduce-scatter, bytes/s.
    public var allGatherBusBandwidth: Double
    /// Bandwidth each device reaches sending its part of an all-to-all, bytes/s.
    public var allToAllBandwidth: Double
    /// Latency of one Simple ring step between devices of one node, seconds.
    public var intraNodeLatency: Double
    /// Latency of one Simple ring step between nodes, seconds.
    public var interNodeLatency: Double

    /// Bus bandwidth of a Simple-protocol ring all-gather inside one NVLink domain of the cluster (bytes/s): the
    /// rate at which a collective takes the most from the compute beside it (`contention(of:bytes:seconds:)`), and
    /// the rate at which a group spanning domains sends the share of an all-to-all bound for its own domain's peers
    /// (`allToAllSeconds(bytes:)`, `deduplicatedAllToAllSeconds(bytes:dispatch:)`); the presets' domains are alike.
    public var domainAllGatherBusBandwidth: Double

    /// Line rate per device per direction of the links the group's data crosses, bytes/s: the NVLink rate inside a
    /// domain; across domains the k NICs of a node's devices, at most the NVLink rate where a domain holds several.
    /// No algorithm beats it (`CollectiveGroup+Algorithms.swift`); infinite where nothing bounds the figures.
    public var lineRate: Double

    /// Algorithm bandwidth of an NVLS all-reduce inside one domain whose switch reduces (bytes of the tensor per
    /// second, whatever the group's size); nil where the switch does not reduce or the group spans domains.
    public var nvlsAlgorithmBandwidth: Double?

    public init(size: Int, nodeCount: Int, devicesPerNode: Int? = nil, allReduceBusBandwidth: Double,
                allGatherBusBandwidth: Double, allToAllBandwidth: Double, intraNodeLatency: Double,
                interNodeLatency: Double, domainAllGatherBusBandwidth: Double? = nil, lineRate: Double = .infinity,
                nvlsAlgorithmBandwidth: Double? = nil) {
        self.size = size
        self.nodeCount = nodeCount
        self.devicesPerNode = devicesPerNode ?? max(size / max(nodeCount, 1), 1)
        self.allReduceBusBandwidth = allReduceBusBandwidth
        self.allGatherBusBandwidth = allGatherBusBandwidth
        self.allToAllBandwidth = allToAllBandwidth
        self.intraNodeLatency = intraNodeLatency
        self.interNodeLatency = interNodeLatency
        self.domainAllGatherBusBandwidth = domainAllGatherBusBandwidth ?? allGatherBusBandwidth
        self.lineRate = lineRate
        self.nvlsAlgorithmBandwidth = nvlsAlgorithmBandwidth
    }

    /// One device alone: every collective is free.
    public static let singleDevice = CollectiveGroup(size: 1, nodeCount: 1, allReduceBusBandwidth: .infinity,
                                                     allGatherBusBandwidth: .infinity, allToAllBandwidth: .infinity,
                                                     intraNodeLatency: 0, interNodeLatency: 0)

    /// All-reduce of a `bytes`-byte tensor: the fastest of NCCL's ring, tree and NVLS algorithms and its protocols.
    public func allReduceSeconds(bytes: Double) -> Double {
        fastest(.allReduce, bytes: bytes).seconds
    }

    /// All-gather producing a `bytes`-byte tensor: the fastest ring protocol.
    public func allGatherSeconds(bytes: Double) -> Double {
        fastest(.allGather, bytes: bytes).seconds
    }

    /// Reduce-scatter of a `bytes`-byte tensor: the same ring, volume and steps as an all-gather of it.
    public func reduceScatterSeconds(bytes: Double) -> Double {
        fastest(.reduceScatter, bytes: bytes).seconds
    }

    /// All-to-all re-splitting a `bytes`-byte tensor: each device holds B/n and sends (n-1)/n of it, so
    /// `(n-1)/n * (B/n) / bw` (nccl-tests' alltoall convention with its per-device size B/n), plus one step per
    /// peer: those on the device's own node at the intra-node latency, the others at the inter-node latency.
    /// Across nodes NCCL's all-to-all is a group of sends and receives, one a peer, each over its own path: the
    /// `(n - g) / n` of the buffer bound for other nodes leaves through the device's own NIC while the `(g - 1) / n`
    /// for its node's peers crosses NVLink at the same time, and the slower of the two sets the time.
    public func allToAllSeconds(bytes: Double) -> Double {
        guard size > 1 else { return 0 }
        let localPeers = size / nodeCount - 1
        let remotePeers = size - 1 - localPeers
        let perDevice = bytes / Double(size)
        let latency = Double(localPeers) * intraNodeLatency + Double(remotePeers) * interNodeLatency
        guard nodeCount > 1 else { return Double(size - 1) / Double(size) * perDevice / allToAllBandwidth + latency }
        return max(Double(remotePeers) / Double(size) * perDevice / allToAllBandwidth,
                   Double(localPeers) / Double(size) * perDevice / domainAllGatherBusBandwidth) + latency
    }

    /// The slowest of several groups that run the same collective at once (the groups along a mesh axis): the
    /// collective ends when the last of them does, so take the lowest bandwidths and the highest latencies (NVLS
    /// only where every group has it).
    public static func slowest(of groups: [CollectiveGroup]) -> CollectiveGroup {
        precondition(!groups.isEmpty, "at least one group")
        return CollectiveGroup(size: groups.map(\.size).max()!, nodeCount: groups.map(\.nodeCount).max()!,
                               devicesPerNode: groups.map(\.devicesPerNode).min()!,
                               allReduceBusBandwidth: groups.map(\.allReduceBusBandwidth).min()!,
                               allGatherBusBandwidth: groups.map(\.allGatherBusBandwidth).min()!,
                               allToAllBandwidth: groups.map(\.allToAllBandwidth).min()!,
                               intraNodeLatency: groups.map(\.intraNodeLatency).max()!,
                               interNodeLatency: groups.map(\.interNodeLatency).max()!,
                               domainAllGatherBusBandwidth: groups.map(\.domainAllGatherBusBandwidth).max()!,
                               lineRate: groups.map(\.lineRate).min()!,
                               nvlsAlgorithmBandwidth: groups.contains { $0.nvlsAlgorithmBandwidth == nil } ? nil
                                   : groups.compactMap(\.nvlsAlgorithmBandwidth).min())
    }

    /// The share of the most a collective running beside compute takes from it (NCCL's kernels occupy SMs and
    /// read and write memory at the rate they move data, Docs/cost-model.md): the bus bandwidth a ring all-gather or
    /// reduce-scatter of `bytes` (the full tensor) reaches in `seconds`, over what one inside an NVLink domain
    /// reaches, at most 1. A ring over the network with one device a node moves a tenth of what NVLink does and
    /// takes a tenth as much; a latency-bound one less still.
    public func contention(of kind: CollectiveKind, bytes: Double, seconds: Double) -> Double {
        guard size > 1, seconds > 0, domainAllGatherBusBandwidth > 0 else { return 0 }
        let busBytes = kind == .allReduce ? 2 * Double(size - 1) / Double(size) * bytes : Double(size - 1) / Double(size) * bytes
        return min(busBytes / seconds / domainAllGatherBusBandwidth, 1)
    }
}
