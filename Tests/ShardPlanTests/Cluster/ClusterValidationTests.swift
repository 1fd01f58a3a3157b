import Testing
@testable import ShardPlan

/// One A100 80GB as a cluster file gives it: 80 GiB, 312 TFLOP/s bf16, 2,039 GB/s.
private let a100 = DeviceSpec(name: "A100-SXM4-80GB", memoryBytes: 80 * 1_073_741_824, peakFLOPsPerSecond: [.bf16: 312e12],
                              memoryBandwidth: 2039e9)
private let nvlink = LinkSpec(bandwidth: 300e9, latency: 3e-6)
private let network = LinkSpec(bandwidth: 25e9, latency: 8e-6)

/// A sound cluster named "lab" of `nodes` nodes of 4 A100s, changed by `change`.
private func lab(nodes: Int = 1, _ change: (inout Cluster) -> Void = { _ in }) -> Cluster {
    var cluster = Cluster(name: "lab", nodes: nodes, devicesPerNode: 4, device: a100, intraNode: nvlink,
                          interNode: nodes > 1 ? network : nil)
    change(&cluster)
    return cluster
}

/// A cluster built in Swift is held to a cluster file's rules (`Cluster.validate()`), with the messages the file's
/// reader gives; no figure a caller can write traps.
@Suite("Cluster.validate(): a cluster built in Swift is refused as its file would be")
struct ClusterValidationTests {
    @Test("every preset and a sound cluster built in Swift pass", arguments: ClusterPreset.all.map(\.name))
    func presetsPass(name: String) throws {
        try Cluster.preset(named: name).validate()
        try lab(nodes: 2).validate()
    }

    /// Each case: a cluster, and the error its document would get, attributed to the cluster by name. Figures are in
    /// the file's units: -1 s of latency is -1,000,000 µs, -300 GB/s is -300.
    @Test("counts, links and figures a cluster file may not have are refused, with the reader's path and message", arguments: [
        (lab { $0.nodes = 0 }, "cluster \"lab\": nodes: expected a positive integer, found 0"),
        (lab { $0.devicesPerNode = -2 }, "cluster \"lab\": devices_per_node: expected a positive integer, found -2"),
        (Cluster(name: "lab", nodes: 3, devicesPerNode: 4, devicesPerDomain: 8, device: a100, intraNode: nvlink, interNode: network),
         "cluster \"lab\": devices_per_nvlink_domain: an NVLink domain of 8 devices must be a whole number of nodes of 4 and divide the cluster's 12 devices"),
        (lab { $0.intraNode = nil }, "cluster \"lab\": missing required member \"intra_node\": nodes of 4 devices need the link between them"),
        (lab { $0.nodes = 2 }, "cluster \"lab\": missing required member \"inter_node\": a cluster of 2 nodes needs the network between them"),
        (lab { $0.intraNode?.bandwidth = 0 }, "cluster \"lab\": intra_node.bandwidth_gb_per_s: expected a positive number, found 0"),
        (lab { $0.intraNode?.bandwidth = -300e9 }, "cluster \"lab\": intra_node.bandwidth_gb_per_s: expected a positive number, found -300"),
        (lab { $0.intraNode?.bandwidth = .nan }, "cluster \"lab\": intra_node.bandwidth_gb_per_s: expected a finite number, found nan"),
        (lab { $0.intraNode?.latency = -1 }, "cluster \"lab\": intra_node.latency_us: expected a number at least 0, found -1000000"),
        (lab(nodes: 2) { $0.interNode?.collectiveEfficiency = 1.5 },
         "cluster \"lab\": inter_node.collective_efficiency: expected a fraction greater than 0 and at most 1, found 1.5"),
        (lab { $0.device.peakFLOPsPerSecond = [.bf16: 0] }, "cluster \"lab\": device.peak_tflops.bf16: expected a positive number, found 0"),
        (lab { $0.device.peakFLOPsPerSecond = [:] },
         "cluster \"lab\": device.peak_tflops: expected at least one element type, such as {\"bf16\": 312}"),
        (lab { $0.device.memoryBandwidth = 0 }, "cluster \"lab\": device.memory_bandwidth_gb_per_s: expected a positive number, found 0"),
        (lab { $0.device.memoryBytes = 0 }, "cluster \"lab\": device.memory_gib: expected a positive number, found 0"),
        (lab { $0.intraNode?.allReduceBusBandwidth = 1e17 },
         "cluster \"lab\": intra_node.allreduce_bus_bandwidth_gb_per_s: 100000000 exceeds 2 x the link's bandwidth_gb_per_s of 300: an all-reduce's bus bandwidth is below twice the line rate even when the switch reduces: each device receives the whole result through its link, and bus bandwidth counts it 2(n-1)/n times"),
        (lab { $0.intraNode?.allGatherBusBandwidth = 301e9 },
         "cluster \"lab\": intra_node.allgather_bus_bandwidth_gb_per_s: 301 exceeds the link's bandwidth_gb_per_s of 300: an all-gather's bus bandwidth is at most the line rate: each device receives the (n-1)/n of the result it lacks through its link"),
        (lab(nodes: 2) { $0.interNode?.pointToPointBandwidth = 26e9 },
         "cluster \"lab\": inter_node.p2p_bandwidth_gb_per_s: 26 exceeds the link's bandwidth_gb_per_s of 25: a copy moves no data faster than the link"),
    ])
    func refusals(cluster: Cluster, message: String) {
        let error = #expect(throws: InputError.self) { try cluster.validate() }
        #expect(error?.description == message)
    }

    @Test("the initializers take any figures without trapping; validate() is where they are checked")
    func initializersDoNotTrap() {
        let device = DeviceSpec(name: "empty", memoryBytes: 80e9, peakFLOPsPerSecond: [:], memoryBandwidth: 2e12)
        let cluster = Cluster(name: "z", nodes: 0, devicesPerNode: 8, device: device, intraNode: nil, interNode: nil)
        #expect(cluster.nodes == 0 && cluster.devicesPerDomain == 8)
        #expect(throws: InputError.self) { try cluster.validate() }
    }
}
