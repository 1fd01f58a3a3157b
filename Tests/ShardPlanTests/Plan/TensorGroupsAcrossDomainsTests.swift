import Testing
@testable import ShardPlan

@Suite("Tensor-parallel groups that span NVLink domains")
struct TensorGroupsAcrossDomainsTests {
    private func cluster(nodes: Int, devicesPerNode: Int, domain: Int? = nil) throws -> Cluster {
        let h100 = try Cluster.preset(named: "dgx-h100")
        return Cluster(name: "c", nodes: nodes, devicesPerNode: devicesPerNode, devicesPerDomain: domain, device: h100.device,
                       intraNode: h100.intraNode, interNode: h100.interNode)
    }

    @Test("racks of 72: at tp = 16 the groups 64-79 and 208-223 straddle the boundaries at 72 and 216; 144 falls between groups")
    func racks() throws {
        let racks = try cluster(nodes: 72, devicesPerNode: 4, domain: 72)
        let configuration = MegatronConfiguration(tensorParallel: 16, pipelineParallel: 2)
        #expect(configuration.tensorGroupsAcrossDomains(on: racks) == [64 ..< 80, 208 ..< 224])
        #expect(configuration.tensorGroupsAcrossDomainsNote(on: racks)?.hasPrefix(
            "2 of 18 tensor-parallel groups of 16 span two NVLink domains of 72 devices (the first: devices 64-79)") == true)
        // tp = 8 divides 72: every group inside one rack.
        #expect(MegatronConfiguration(tensorParallel: 8, pipelineParallel: 2).tensorGroupsAcrossDomains(on: racks).isEmpty)
    }

    @Test("nodes of 4: tp = 8 spans two nodes in every group, tp = 4 none; only the devices the configuration takes count")
    func smallNodes() throws {
        let nodes = try cluster(nodes: 16, devicesPerNode: 4)
        #expect(MegatronConfiguration(tensorParallel: 8, pipelineParallel: 1).tensorGroupsAcrossDomains(on: nodes).count == 8)
        #expect(MegatronConfiguration(tensorParallel: 8, pipelineParallel: 1, dataParallel: 2).tensorGroupsAcrossDomains(on: nodes)
                == [0 ..< 8, 8 ..< 16])
        #expect(MegatronConfiguration(tensorParallel: 8, pipelineParallel: 1).tensorGroupsAcrossDomainsNote(on: nodes)?.hasPrefix(
            "tp = 8 is more than the 4 devices of an NVLink domain") == true)
        #expect(MegatronConfiguration(tensorParallel: 4, pipelineParallel: 1).tensorGroupsAcrossDomainsNote(on: nodes) == nil)
    }

    @Test("a group that spans domains is priced over the network: its all-reduce is slower than one inside a domain")
    // 8 devices on each side: a ring across two domains, at the inter-node latency and the NICs' bandwidth.
    func pricedOverTheNetwork() throws {
        let racks = try cluster(nodes: 72, devicesPerNode: 4, domain: 72)
        let inside = racks.collectiveGroup(devices: 48 ..< 64), across = racks.collectiveGroup(devices: 64 ..< 80)
        #expect(across.nodeCount == 2 && across.devicesPerNode == 8 && inside.nodeCount == 1)
        #expect(across.allReduceSeconds(bytes: 64e6) > inside.allReduceSeconds(bytes: 64e6))
    }
}
