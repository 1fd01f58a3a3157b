/// How NCCL moves a collective's data around its group: along a ring through every device, (all-reduce across
/// nodes only) up and down a tree whose depth grows with the logarithm of the node count, or (all-reduce inside an
/// NVLink domain whose switch reduces, NVLink SHARP) as NVLS: each device has the switch sum its share of the
/// buffer from every peer and multicasts the sum back, one step whatever the group's size.
///
/// NCCL prices every algorithm and protocol it may use with a latency and a bandwidth and runs the cheapest
/// (`ncclTopoTuneModel` and `ncclTopoGetAlgoTime` in NVIDIA/nccl `src/graph/tuning.cc`); ShardPlan follows
/// the same model (Docs/clusters.md, "Collective costs").
public enum CollectiveAlgorithm: String, CaseIterable, Sendable {
    case ring
    case tree
    case nvls
}

/// The wire protocols NCCL chooses between for every collective. They trade bandwidth for latency: LL sends
/// 8-byte lines of 4 data bytes and a flag, so a step costs well under a microsecond but reaches a quarter of
/// the link; LL128 packs 120 data bytes into 128-byte lines and reaches most of it; Simple moves large chunks
/// behind memory fences, the full bandwidth at the highest latency per step.
///
/// Latencies are in seconds, as NCCL's tuning tables give them (microseconds there): `baseLatency` once per
/// collective (the kernel's own start), `hopLatency` per step between two devices, by link and algorithm.
public enum CollectiveProtocol: String, CaseIterable, Sendable {
    case lowLatency = "LL"
    case lowLatency128 = "LL128"
    case simple = "Simple"

    /// Seconds every collective of this algorithm and protocol pays once (NCCL `baseLat`: ring LL 6.6,
    /// LL128 14.0, Simple 8.4 us; tree LL 6.8, LL128 14.0, Simple 0 us, its per-hop figure holding a chunk's
    /// whole latency; NVLS 0, its one step holding it).
    public func baseLatency(_ algorithm: CollectiveAlgorithm) -> Double {
        switch (algorithm, self) {
        case (.ring, .lowLatency): 6.6e-6
        case (.ring, .lowLatency128): 14.0e-6
        case (.ring, .simple): 8.4e-6
        case (.tree, .lowLatency): 6.8e-6
        case (.tree, .lowLatency128): 14.0e-6
        case (.tree, .simple): 0
        case (.nvls, _): 0
        }
    }

    /// NCCL's per-step latency over NVLink (`hwLat[NVLINK]`): ring LL 0.6, LL128 1.9, Simple 3.4 us; tree LL
    /// 0.6, LL128 1.25, Simple 28 us; NVLS (Simple only) 25 us (NCCL 2.19 and later).
    static func nvlinkHopLatency(_ algorithm: CollectiveAlgorithm, _ wireProtocol: CollectiveProtocol) -> Double {
        switch (algorithm, wireProtocol) {
        case (.ring, .lowLatency): 0.6e-6
        case (.ring, .lowLatency128): 1.9e-6
        case (.ring, .simple): 3.4e-6
        case (.tree, .lowLatency): 0.6e-6
        case (.tree, .lowLatency128): 1.25e-6
        case (.tree, .simple): 28e-6
        case (.nvls, _): 25e-6
        }
    }

    /// NCCL's per-step latency over the network (`hwLat[NET]`): ring LL 2.7, LL128 4.0, Simple 14 us; tree LL
    /// 5.0, LL128 8.5, Simple 28 us; NVLS 18 us (its step between domains, which ShardPlan does not price: NVLS
    /// is offered inside a domain only).
    static func networkHopLatency(_ algorithm: CollectiveAlgorithm, _ wireProtocol: CollectiveProtocol) -> Double {
        switch (algorithm, wireProtocol) {
        case (.ring, .lowLatency): 2.7e-6
        case (.ring, .lowLatency128): 4.0e-6
        case (.ring, .simple): 14e-6
        case (.tree, .lowLatency): 5.0e-6
        case (.tree, .lowLatency128): 8.5e-6
        case (.tree, .simple): 28e-6
        case (.nvls, _): 18e-6
        }
    }

    /// Seconds per step of this protocol over a link whose ring Simple step takes `simpleRingLatency`: NCCL's
    /// figure for the link kind scaled by the link's own Simple figure, so a cluster file's `latency_us` moves
    /// every protocol together (the presets give NCCL's 3.4 us for NVLink and 14 us for the network, which
    /// leave the table as it is). `network` picks the network column.
    public func hopLatency(_ algorithm: CollectiveAlgorithm, simpleRingLatency: Double, network: Bool) -> Double {
        let table = network ? Self.networkHopLatency : Self.nvlinkHopLatency
        return table(algorithm, self) * simpleRingLatency / table(.ring, .simple)
    }

    /// The host's cost of posting each network step, which bounds an intra-node step of a ring that also
    /// crosses nodes (NCCL `getNetOverhead`: 1 us on Intel and most CPUs, tripled for Simple).
    public var networkPostOverhead: Double { self == .simple ? 3e-6 : 1e-6 }

    /// Bus bandwidth this protocol reaches on a ring, from the Simple protocol's `simple` (bytes/s):
    /// LL128 loses 8 of every 128 bytes to flags (x 0.92; x 0.7 where each node has one device, which sends and
    /// receives through the same NIC); LL a half to flags and more to its small lines (x 1/4 for all-reduce and
    /// across nodes, x 1/3 for other collectives inside a node), capped at `lowLatencyCap` (NCCL
    /// `tuning.cc`).
    public func ringBusBandwidth(simple: Double, kind: CollectiveKind, nodeCount: Int, devicesPerNode: Int) -> Double {
        switch self {
        case .simple:
            return simple
        case .lowLatency128:
            return simple * (devicesPerNode < 2 ? 0.7 : 0.92)
        case .lowLatency:
            let share = nodeCount > 1 || kind == .allReduce ? 1.0 / 4 : 1.0 / 3
            return min(simple * share, Self.lowLatencyCap(nodeCount: nodeCount))
        }
    }

    /// Bus bandwidth of a tree all-reduce in this protocol from the ring Simple figure `simple` (bytes/s):
    /// NCCL gives trees 92% of the ring's figure, LL a further 1/3.8 (capped as on a ring), LL128 120/128.
    public func treeBusBandwidth(simple: Double, nodeCount: Int) -> Double {
        let tree = 0.92 * simple
        switch self {
        case .simple: return tree
        case .lowLatency128: return tree * 120 / 128
        case .lowLatency: return min(tree / 3.8, Self.lowLatencyCap(nodeCount: nodeCount))
        }
    }

    /// The most an LL collective reaches, bytes/s (NCCL `llMaxBws`, Ampere/Hopper column): 87.7 GB/s in one
    /// node, 22.5 GB/s on two nodes and 19.0 GB/s on more (the AMD-host column; Intel hosts differ little).
    public static func lowLatencyCap(nodeCount: Int) -> Double {
        nodeCount == 1 ? 87.7e9 : nodeCount == 2 ? 22.5e9 : 19.0e9
    }

    /// NCCL's correction of a tree's bandwidth for medium messages, by power of two of the size from 64 bytes
    /// (index `floor(log2(bytes / 64))`, 1 from 512 MiB on): trees pipeline poorly until the message fills them
    /// (`treeCorrectionFactor` in `tuning.cc`).
    public func treeCorrection(bytes: Double) -> Double {
        let table: [Double]
        switch self {
        case .lowLatency:
            table = [1.0, 1.0, 1.0, 1.0, 0.9, 0.8, 0.7, 0.7, 0.7, 0.7, 0.6, 0.5, 0.4, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.0, 1.0, 1.0]
        case .lowLatency128:
            table = [1.0, 1.0, 1.0, 1.0, 1.0, 0.9, 0.8, 0.8, 0.8, 0.7, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.8, 0.9, 0.9, 0.9, 0.9, 1.0, 1.0]
        case .simple:
            table = [0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.8, 0.7, 0.6, 0.6, 0.5, 0.5, 0.5, 0.5, 0.6, 0.7, 0.8, 0.7, 0.7, 0.8, 0.9, 0.9]
        }
        guard bytes >= 128 else { return table[0] }
        let index = Int((bytes / 64).exponent)
        return index < table.count ? table[index] : 1
    }
}
