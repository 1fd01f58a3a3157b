/// One kind of link between devices (NVLink inside a node, the network between nodes), as seen by one device:
/// bandwidth in bytes per second per device per direction, latency in seconds per collective step, and optional
/// measured figures that replace the nominal bandwidth where they apply.
///
/// The network is described per device even where several devices share one NIC: a node with one 25 Gb/s NIC
/// for 8 GPUs has 3.125 GB/s / 8 per device, the share each gets when they all communicate at once (they do in
/// SPMD collectives and in stage-to-stage resharding). Docs/clusters.md explains the convention.
public struct LinkSpec: Sendable, Equatable {
    /// Nominal (line-rate) bandwidth per device per direction, bytes per second.
    public var bandwidth: Double
    /// Latency of one step of a ring collective or of one send, seconds.
    public var latency: Double
    /// The fraction of `bandwidth` that ring collectives, all-to-all and sends reach where no measured figure
    /// applies; nil means `defaultCollectiveEfficiency`.
    public var collectiveEfficiency: Double?
    /// Measured NCCL all-reduce bus bandwidth (nccl-tests `busbw`, large messages, over a whole NVLink domain) per
    /// device, bytes per second. May exceed `bandwidth` where the switch reduces (`reducesInSwitch`), never
    /// twice it (`Cluster.validate()`).
    public var allReduceBusBandwidth: Double?
    /// Measured NCCL all-gather / reduce-scatter bus bandwidth (ring) per device, bytes per second.
    public var allGatherBusBandwidth: Double?
    /// Measured point-to-point copy bandwidth between two devices, one direction, bytes per second.
    public var pointToPointBandwidth: Double?
    /// Whether the switch joining the link's domain reduces in the network (NVLink SHARP: NVSwitch of the third
    /// generation and later, H100 to GB200), so that NCCL runs an all-reduce inside the domain as NVLS
    /// (`CollectiveAlgorithm.nvls`); `allReduceBusBandwidth` is then NVLS's figure, not the ring's.
    public var reducesInSwitch: Bool

    /// Ring collectives reach about 80% of NVLink line rate: nccl-tests all-reduce on a DGX A100 measures
    /// 232.5 GB/s of 300 (77.5%, NVIDIA/nccl-tests issue #175; ml-engineering quotes 235 = ~80%), and NCCL's
    /// maintainer puts H100 ring collectives at ~370 of 450 GB/s (82%, NVIDIA/nccl-tests issue #212).
    public static let defaultCollectiveEfficiency = 0.8

    /// A link with these figures, in SI units (bytes per second, seconds), taken as given: `Cluster.validate()`
    /// checks them (a positive bandwidth, a latency of 0 or more, efficiencies in (0, 1]) for the cluster that
    /// uses the link.
    public init(bandwidth: Double, latency: Double, collectiveEfficiency: Double? = nil,
                allReduceBusBandwidth: Double? = nil, allGatherBusBandwidth: Double? = nil,
                pointToPointBandwidth: Double? = nil, reducesInSwitch: Bool = false) {
        self.bandwidth = bandwidth
        self.latency = latency
        self.collectiveEfficiency = collectiveEfficiency
        self.allReduceBusBandwidth = allReduceBusBandwidth
        self.allGatherBusBandwidth = allGatherBusBandwidth
        self.pointToPointBandwidth = pointToPointBandwidth
        self.reducesInSwitch = reducesInSwitch
    }

    /// Bandwidth that collectives without a measured figure reach: nominal times the efficiency, bytes/s.
    public var achievedBandwidth: Double { bandwidth * (collectiveEfficiency ?? Self.defaultCollectiveEfficiency) }

    /// Bus bandwidth of ring all-gather and reduce-scatter (and all-to-all), bytes/s: measured, else achieved.
    public var effectiveAllGatherBusBandwidth: Double { allGatherBusBandwidth ?? achievedBandwidth }

    /// Bus bandwidth of all-reduce, bytes/s: measured, else that of the other ring collectives.
    public var effectiveAllReduceBusBandwidth: Double { allReduceBusBandwidth ?? effectiveAllGatherBusBandwidth }

    /// Bus bandwidth of a ring all-reduce, bytes/s: the all-reduce figure, except where the switch reduces, whose
    /// measured all-reduce is NVLS's and whose ring runs as fast as its all-gather.
    public var ringAllReduceBusBandwidth: Double {
        reducesInSwitch ? effectiveAllGatherBusBandwidth : effectiveAllReduceBusBandwidth
    }

    /// Bandwidth of a point-to-point send, bytes/s: measured, else achieved.
    public var effectivePointToPointBandwidth: Double { pointToPointBandwidth ?? achievedBandwidth }
}
