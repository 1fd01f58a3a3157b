/// What the collective model predicts for one line of an nccl-tests table (`all_reduce_perf`, `all_gather_perf`,
/// `reduce_scatter_perf`, `alltoall_perf`) on a cluster: the time, nccl-tests' algorithm and bus bandwidths, the
/// algorithm and protocol the model picks, and the links the group's data crosses (`Cluster.predictCollective`).
///
/// `bytes` is nccl-tests' `size` column: the whole buffer for an all-reduce, an all-gather (its output) and a
/// reduce-scatter (its input), as `CollectiveGroup` prices them; each rank's send buffer for an all-to-all, so the
/// tensor the model re-splits is `ranks` times it.
public struct CollectivePrediction: Sendable, Equatable {
    /// A link a collective's data crosses, named as a `shardplan.cluster/1` file names it.
    public enum Link: String, CaseIterable, Sendable {
        /// The fast links inside one NVLink domain (NVLink, Infinity Fabric).
        case intraNode = "intra_node"
        /// The network between domains.
        case interNode = "inter_node"
    }

    public var kind: CollectiveKind
    /// Devices taking part (nccl-tests' ranks).
    public var ranks: Int
    /// The most of them on one node (`mpirun -N`): the node's share of the ranks, or all of them inside one node.
    public var ranksPerNode: Int
    /// nccl-tests' `size` column, bytes.
    public var bytes: Double
    /// Predicted time, seconds (nccl-tests' `time` column, in microseconds there).
    public var seconds: Double
    /// The algorithm the model picks; nil for an all-to-all, which NCCL runs as grouped sends and receives.
    public var algorithm: CollectiveAlgorithm?
    /// The protocol the model picks; nil for an all-to-all.
    public var wireProtocol: CollectiveProtocol?
    /// The links the group's data crosses: the intra-node link inside one domain; across domains the network, and
    /// the intra-node link too where a domain holds several of the group's devices.
    public var links: [Link]

    /// nccl-tests' `algbw`: `size / time`, bytes/s.
    public var algorithmBandwidth: Double { bytes / seconds }

    /// nccl-tests' `busbw`, bytes/s: `algbw x 2(n-1)/n` for an all-reduce, `algbw x (n-1)/n` for the others.
    public var busBandwidth: Double { algorithmBandwidth * kind.busBandwidthFactor(ranks: ranks) }
}

extension CollectiveKind {
    /// nccl-tests' bus-bandwidth factor: the bytes each rank's link carries per byte of the `size` column, `2(n-1)/n`
    /// for an all-reduce and `(n-1)/n` for an all-gather, a reduce-scatter or an all-to-all (1 for a send).
    public func busBandwidthFactor(ranks: Int) -> Double {
        let share = Double(ranks - 1) / Double(ranks)
        switch self {
        case .allReduce: return 2 * share
        case .allGather, .reduceScatter, .allToAll: return share
        case .sendReceive: return 1
        }
    }
}

extension Cluster {
    /// The collectives nccl-tests times that the model prices.
    public static let predictableCollectives: [CollectiveKind] = [.allReduce, .allGather, .reduceScatter, .allToAll]

    /// The devices of an nccl-tests group of `ranks` laid out as the planner lays out its groups, whole NVLink
    /// domains first: the first `ranks` devices, inside one domain or over whole domains. `ranks` must be 2 or
    /// more, at most the cluster's devices, and at most a domain's devices or a whole number of domains; another
    /// is an `InputError` (a group over part of a domain and part of another is one the planner never prices).
    public func collectiveRanks(_ ranks: Int) throws(InputError) -> Range<Int> {
        guard ranks >= 2 else {
            throw InputError(.invalidValue, at: .root, "a collective takes 2 or more ranks; "
                             + (deviceCount < 2 ? "\(name) has \(deviceCount) device" : "\(ranks) on \(name)"))
        }
        guard ranks <= deviceCount else {
            throw InputError(.invalidValue, at: .root, "\(ranks) ranks on \(name), which has \(deviceCount) devices")
        }
        guard ranks <= devicesPerDomain || ranks % devicesPerDomain == 0 else {
            let domain = devicesPerDomain == devicesPerNode ? "node" : "NVLink domain"
            throw InputError(.invalidValue, at: .root,
                             "\(ranks) ranks on \(name) fill part of a \(domain); give at most \(devicesPerDomain) (one \(domain)) "
                             + "or a multiple of \(devicesPerDomain) (whole \(domain)s)")
        }
        return 0 ..< ranks
    }

    /// The devices of an nccl-tests group of `ranks` run `perNode` to a node (`mpirun -N perNode`): the first
    /// `perNode` GPUs of each of the first `ranks / perNode` nodes. `perNode` must be 1 to a node's devices and
    /// divide `ranks`, and the cluster must have the nodes; another is an `InputError` saying which. One GPU a node
    /// is how nccl-tests measures the network alone; `perNode` equal to the node's devices is `collectiveRanks(_:)`'s
    /// layout of whole nodes.
    public func collectiveRanks(_ ranks: Int, perNode: Int) throws(InputError) -> [Int] {
        guard ranks >= 2 else {
            throw InputError(.invalidValue, at: .root, "a collective takes 2 or more ranks; \(ranks) at \(perNode) per node on \(name), "
                             + "which has \(nodes) node\(nodes == 1 ? "" : "s") of \(devicesPerNode) device\(devicesPerNode == 1 ? "" : "s")")
        }
        guard (1 ... devicesPerNode).contains(perNode) else {
            throw InputError(.invalidValue, at: .root, "\(perNode) ranks per node on \(name), whose nodes hold "
                             + "\(devicesPerNode) device\(devicesPerNode == 1 ? "" : "s"); give 1 to \(devicesPerNode)")
        }
        guard ranks % perNode == 0 else {
            throw InputError(.invalidValue, at: .root, "\(ranks) ranks do not fill nodes of \(perNode) ranks each; give a multiple of \(perNode)")
        }
        guard ranks / perNode <= nodes else {
            throw InputError(.invalidValue, at: .root, "\(ranks) ranks at \(perNode) per node take \(ranks / perNode) nodes; "
                             + "\(name) has \(nodes)")
        }
        return (0 ..< ranks / perNode).flatMap { node in node * devicesPerNode ..< node * devicesPerNode + perNode }
    }

    /// The devices of an nccl-tests group of `ranks` laid out `perNode` to a node (`collectiveRanks(_:perNode:)`)
    /// or, where `perNode` is nil, filling nodes first (`collectiveRanks(_:)`).
    public func collectiveDevices(_ ranks: Int, perNode: Int?) throws(InputError) -> [Int] {
        if let perNode { try collectiveRanks(ranks, perNode: perNode) } else { Array(try collectiveRanks(ranks)) }
    }

    /// What the model predicts for nccl-tests' `kind` test of `bytes` (its `size` column) on `ranks` devices laid
    /// out `perNode` to a node (`collectiveRanks(_:perNode:)`), or where `perNode` is nil filling nodes first
    /// (`collectiveRanks(_:)`): the cheapest algorithm and protocol `CollectiveGroup.fastest` picks for the group
    /// `collectiveGroup(devices:)` makes of them, or for an all-to-all `CollectiveGroup.allToAllSeconds` of the
    /// `ranks x bytes` tensor. A send, a size that is not positive and finite, or a layout the cluster cannot
    /// hold are `InputError`s.
    public func predictCollective(_ kind: CollectiveKind, ranks: Int, perNode: Int? = nil,
                                  bytes: Double) throws(InputError) -> CollectivePrediction {
        guard Self.predictableCollectives.contains(kind) else {
            throw InputError(.invalidValue, at: .root, "\(kind.rawValue) is not a collective; the model prices "
                             + Self.predictableCollectives.map(\.rawValue).joined(separator: ", "))
        }
        guard bytes > 0, bytes.isFinite else {
            throw InputError(.invalidValue, at: .root, "a message of \(bytes) bytes; sizes are positive")
        }
        let devices = try collectiveDevices(ranks, perNode: perNode)
        let span = linkSpan(of: devices)
        let links: [CollectivePrediction.Link] = span.staysInDomain ? [.intraNode]
            : span.mostPerDomain > 1 ? [.interNode, .intraNode] : [.interNode]
        let group = collectiveGroup(devices: devices)
        let mostOnANode = Dictionary(grouping: devices, by: node(ofDevice:)).values.map(\.count).max() ?? 0
        var prediction = CollectivePrediction(kind: kind, ranks: ranks, ranksPerNode: mostOnANode, bytes: bytes,
                                              seconds: 0, algorithm: nil, wireProtocol: nil, links: links)
        if kind == .allToAll {
            prediction.seconds = group.allToAllSeconds(bytes: bytes * Double(ranks))
        } else {
            let choice = group.fastest(kind, bytes: bytes)
            prediction.seconds = choice.seconds
            prediction.algorithm = choice.algorithm
            prediction.wireProtocol = choice.wireProtocol
        }
        return prediction
    }
}
