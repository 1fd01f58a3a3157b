extension Cluster {
    /// The figures of `devices` running a collective together (SPMD: every other group of the same shape runs
    /// its own copy at the same time).
    ///
    /// Inside one NVLink domain (`linkSpan(of:)`: a node, or a rack of trays such as a GB200 NVL72) the group
    /// uses the intra-node link, and NVLS where its switch reduces. A group spanning domains with k devices in each uses the
    /// k network links (NICs) of its devices in parallel, as NCCL's multi-channel rings do, so its bus bandwidth
    /// is k times the per-device network figure, capped by the intra-node ring's figure when k > 1 (the ring also hops
    /// over NVLink): 8 A100s per node over 8 HDR NICs reach min(8 x 24, 232.5) = 192 GB/s, NVIDIA's measured
    /// multi-node all-reduce bus bandwidth. All-to-all gets no such gain: each device sends its own remote
    /// share through its own NIC.
    public func collectiveGroup(devices: some Collection<Int>) -> CollectiveGroup {
        guard devices.count > 1 else { return .singleDevice }
        let span = linkSpan(of: devices)
        guard span.staysInDomain else { return networkGroup(size: devices.count, span: span) }
        let link = intraNode!
        return CollectiveGroup(size: devices.count, nodeCount: 1,
                               allReduceBusBandwidth: link.ringAllReduceBusBandwidth,
                               allGatherBusBandwidth: link.effectiveAllGatherBusBandwidth,
                               allToAllBandwidth: link.effectiveAllGatherBusBandwidth,
                               intraNodeLatency: link.latency, interNodeLatency: 0,
                               domainAllGatherBusBandwidth: link.effectiveAllGatherBusBandwidth,
                               lineRate: link.bandwidth, nvlsAlgorithmBandwidth: nvlsAlgorithmBandwidth)
    }

    /// The algorithm bandwidth of an NVLS all-reduce inside one of the cluster's domains, bytes/s, where its switch
    /// reduces (nil elsewhere). The link's all-reduce figure is nccl-tests' bus bandwidth over a whole domain of d
    /// devices, `algbw x 2(d-1)/d`; NVLS moves the same bytes through each device's link whatever the group's size
    /// (each device sends its buffer to the switch and receives the sum), so its algorithm bandwidth,
    /// `busbw x d / (2(d-1))`, holds for every group in the domain: 480 GB/s on 8 H100s is 274 GB/s.
    var nvlsAlgorithmBandwidth: Double? {
        guard let link = intraNode, link.reducesInSwitch, devicesPerDomain > 1 else { return nil }
        let d = Double(devicesPerDomain)
        return link.effectiveAllReduceBusBandwidth * d / (2 * (d - 1))
    }

    /// A group of `size` devices across the domains of `span`.
    private func networkGroup(size: Int, span: LinkSpan) -> CollectiveGroup {
        let network = interNode!
        let nicsPerNode = Double(span.fewestPerDomain)
        var group = CollectiveGroup(size: size, nodeCount: span.domains, devicesPerNode: span.fewestPerDomain,
                                    allReduceBusBandwidth: nicsPerNode * network.ringAllReduceBusBandwidth,
                                    allGatherBusBandwidth: nicsPerNode * network.effectiveAllGatherBusBandwidth,
                                    allToAllBandwidth: network.effectiveAllGatherBusBandwidth,
                                    intraNodeLatency: 0, interNodeLatency: network.latency,
                                    domainAllGatherBusBandwidth: intraNode?.effectiveAllGatherBusBandwidth,
                                    lineRate: nicsPerNode * network.bandwidth)
        if span.mostPerDomain > 1, let link = intraNode {
            group.lineRate = min(group.lineRate, link.bandwidth)
            group.allReduceBusBandwidth = min(group.allReduceBusBandwidth, link.ringAllReduceBusBandwidth)
            group.allGatherBusBandwidth = min(group.allGatherBusBandwidth, link.effectiveAllGatherBusBandwidth)
            group.allToAllBandwidth = min(group.allToAllBandwidth, link.effectiveAllGatherBusBandwidth)
            group.intraNodeLatency = link.latency
        }
        return group
    }

    /// Seconds to send `bytes` from one device to another: `B / bw + latency` over the link between them.
    /// Across nodes `bw` is the per-device network share, the rate each device gets when all devices of a node
    /// send at once (stage-to-stage resharding); a lone send over a shared NIC could go faster.
    public func sendSeconds(bytes: Double, from source: Int, to destination: Int) -> Double {
        guard let link = link(from: source, to: destination) else { return 0 }
        return bytes / link.effectivePointToPointBandwidth + link.latency
    }
}
