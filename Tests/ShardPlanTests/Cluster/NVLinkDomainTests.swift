import Testing
@testable import ShardPlan

/// Two racks of 4 trays of 4 devices, each rack one NVLink domain of 16, with round figures: NVLink 300 GB/s
/// and 3 us per step, network 25 GB/s per device and 10 us per step, no efficiency loss.
private let racks = Cluster(
    name: "racks", nodes: 8, devicesPerNode: 4, devicesPerDomain: 16,
    device: DeviceSpec(name: "test", memoryBytes: 80 * 1_073_741_824, peakFLOPsPerSecond: [.bf16: 300e12],
                       memoryBandwidth: 2e12),
    intraNode: LinkSpec(bandwidth: 300e9, latency: 3e-6, collectiveEfficiency: 1),
    interNode: LinkSpec(bandwidth: 25e9, latency: 10e-6, collectiveEfficiency: 1))

private func close(_ actual: Double, _ expected: Double) -> Bool {
    abs(actual - expected) <= 1e-12 + 1e-9 * abs(expected)
}

@Suite("NVLink domains")
struct NVLinkDomainTests {
    @Test("a group over 4 trays of one domain stays on NVLink: 2 x 15/16 x 1e9 / 300e9 s plus 8.4 us and 30 steps of 3 us")
    func groupAcrossTrays() {
        let span = racks.linkSpan(of: 0 ..< 16)
        #expect(span == LinkSpan(domains: 1, fewestPerDomain: 16, mostPerDomain: 16) && span.staysInDomain)
        let group = racks.collectiveGroup(devices: 0 ..< 16)
        #expect(group.nodeCount == 1 && group.allReduceBusBandwidth == 300e9)
        #expect(close(group.allReduceSeconds(bytes: 1e9), 2.0 * 15 / 16 * 1e9 / 300e9 + 8.4e-6 + 30 * 3e-6))
    }

    @Test("a pair in two domains crosses the network, whatever the trays")
    func groupAcrossDomains() {
        let span = racks.linkSpan(of: [3, 19])
        #expect(span.domains == 2 && !span.staysInDomain)
        let pair = racks.collectiveGroup(devices: [3, 19])
        #expect(pair.nodeCount == 2 && pair.allReduceBusBandwidth == 25e9)
        #expect(close(pair.allReduceSeconds(bytes: 1e9), 2 * 0.5 * 1e9 / 25e9 + 1.4 * (8.4e-6 + 2 * 10e-6)))
        #expect(racks.link(from: 0, to: 15) == racks.intraNode && racks.link(from: 0, to: 16) == racks.interNode)
    }

    @Test("a mesh axis of 16 on a GB200 NVL72 rack gets NVLink figures; across two racks the network's")
    func nvl72MeshAxes() throws {
        let rack = try Cluster.preset(named: "gb200-nvl72:2")
        let mesh = try DeviceMesh(devices: Array(0 ..< 64), shape: [4, 16], in: rack)
        #expect(mesh.collectiveGroup(alongAxes: [1]).allGatherBusBandwidth == 720e9)
        #expect(mesh.collectiveGroup(alongAxes: [0, 1]).nodeCount == 1)
        let wide = try DeviceMesh(devices: Array(0 ..< 144), shape: [2, 72], in: rack)
        #expect(wide.collectiveGroup(alongAxes: [1]).nodeCount == 1)
        #expect(wide.collectiveGroup(alongAxes: [0]).nodeCount == 2 && wide.collectiveGroup(alongAxes: [0]).allReduceBusBandwidth == 47e9)
    }

    @Test("Megatron's tensor parallelism of 16 fits a rack's NVLink domain, not a DGX node")
    func tensorParallelismBeyondEight() throws {
        let graph = try #require(ModelCatalog.model(id: "gpt3-1.3b")).build()
        let configuration = MegatronConfiguration(tensorParallel: 16, pipelineParallel: 1, dataParallel: 4)
        let plan = try TrainingPlan.megatron(graph: graph, cluster: try Cluster.preset(named: "gb200-nvl72"),
                                             clusterName: "gb200-nvl72", configuration: configuration)
        #expect(plan.stages[0].mesh.shape == [4, 16])
        let tensorGroup = plan.stages[0].mesh.collectiveGroup(alongAxes: [1])
        #expect(tensorGroup.nodeCount == 1 && tensorGroup.allReduceBusBandwidth == 720e9)
        #expect(throws: InputError.self) {
            _ = try TrainingPlan.megatron(graph: graph, cluster: try Cluster.preset(named: "dgx-h100:8"),
                                          clusterName: "dgx-h100:8", configuration: MegatronConfiguration(tensorParallel: 12, pipelineParallel: 1, dataParallel: 1))
        }
    }

    @Test("the cluster file's devices_per_nvlink_domain is read, written back, and checked")
    func json() throws {
        let text = """
            {"format": "shardplan.cluster/1", "nodes": 8, "devices_per_node": 4, "devices_per_nvlink_domain": 16,
             "device": {"name": "test", "memory_gib": 80, "peak_tflops": {"bf16": 300}, "memory_bandwidth_gb_per_s": 2000},
             "intra_node": {"bandwidth_gb_per_s": 300, "latency_us": 3}, "inter_node": {"bandwidth_gb_per_s": 25, "latency_us": 10}}
            """
        let cluster = try Cluster(jsonBytes: Array(text.utf8))
        #expect(cluster.devicesPerDomain == 16 && cluster.domainCount == 2)
        #expect(try Cluster(json: cluster.json) == cluster)
        let uneven = text.replacingOccurrences(of: "\"devices_per_nvlink_domain\": 16", with: "\"devices_per_nvlink_domain\": 6")
        #expect(throws: InputError(.invalidValue, at: JSONPath([.key("devices_per_nvlink_domain")]),
                                   "an NVLink domain of 6 devices must be a whole number of nodes of 4 and divide the cluster's 32 devices",
                                   document: "cluster")) {
            _ = try Cluster(jsonBytes: Array(uneven.utf8))
        }
        // One rack needs no network: the domain holds every device.
        let oneRack = text.replacingOccurrences(of: "\"nodes\": 8", with: "\"nodes\": 4")
            .replacingOccurrences(of: ", \"inter_node\": {\"bandwidth_gb_per_s\": 25, \"latency_us\": 10}", with: "")
        #expect(try Cluster(jsonBytes: Array(oneRack.utf8)).interNode == nil)
    }
}
