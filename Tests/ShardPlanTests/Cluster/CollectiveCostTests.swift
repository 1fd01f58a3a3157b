import Testing
@testable import ShardPlan

/// Two nodes of 8 devices with round figures and no efficiency loss, so every expected time can be worked out
/// by hand: NVLink 300 GB/s and 3 us per step, network 25 GB/s per device and 10 us per step.
private let roundCluster = Cluster(
    name: "round", nodes: 2, devicesPerNode: 8,
    device: DeviceSpec(name: "test", memoryBytes: 80 * 1_073_741_824, peakFLOPsPerSecond: [.bf16: 300e12],
                       memoryBandwidth: 2e12),
    intraNode: LinkSpec(bandwidth: 300e9, latency: 3e-6, collectiveEfficiency: 1),
    interNode: LinkSpec(bandwidth: 25e9, latency: 10e-6, collectiveEfficiency: 1))

private func close(_ actual: Double, _ expected: Double) -> Bool {
    abs(actual - expected) <= 1e-12 + 1e-9 * abs(expected)
}

@Suite("Collective costs")
struct CollectiveCostTests {
    let node = roundCluster.collectiveGroup(devices: 0 ..< 8)

    @Test("all-reduce of 1 GB over 8 NVLink devices: 2 x 7/8 x 1e9 / 300e9 s plus 14 steps of 3 us")
    func allReduceInsideANode() {
        #expect(close(node.allReduceSeconds(bytes: 1e9), 2.0 * 7 / 8 * 1e9 / 300e9 + 14 * 3e-6))
        #expect(close(node.allReduceSeconds(bytes: 1e9), 0.005_875_333_333))
    }

    @Test("all-gather and reduce-scatter move half an all-reduce's bytes in half its steps")
    func allGatherAndReduceScatter() {
        let expected = 7.0 / 8 * 1e9 / 300e9 + 7 * 3e-6
        #expect(close(node.allGatherSeconds(bytes: 1e9), expected))
        #expect(close(node.reduceScatterSeconds(bytes: 1e9), expected))
        #expect(close(expected, 0.002_937_666_667))
    }

    @Test("all-to-all of a 1 GB tensor: each device sends 7/8 of its 1/8 share")
    func allToAllInsideANode() {
        #expect(close(node.allToAllSeconds(bytes: 1e9), 7.0 / 8 * (1e9 / 8) / 300e9 + 7 * 3e-6))
    }

    @Test("ring all-reduce time follows 2(n-1)/n * B / bw + 2(n-1) * latency", arguments: [2, 4, 8])
    func allReduceFormula(devices: Int) {
        let group = roundCluster.collectiveGroup(devices: 0 ..< devices)
        let n = Double(devices)
        #expect(group.size == devices && group.nodeCount == 1)
        #expect(close(group.allReduceSeconds(bytes: 4e8), 2 * (n - 1) / n * 4e8 / 300e9 + 2 * (n - 1) * 3e-6))
    }

    @Test("a pair across nodes uses the network: 2 x 1/2 x 1e9 / 25e9 s plus 2 network steps")
    func allReduceAcrossNodes() {
        let pair = roundCluster.collectiveGroup(devices: [0, 8])
        #expect(pair.nodeCount == 2 && pair.allReduceBusBandwidth == 25e9)
        #expect(close(pair.allReduceSeconds(bytes: 1e9), 0.040_02))
    }

    @Test("16 devices on 2 nodes use 8 NICs per node, capped by NVLink; 2 of 30 steps cross nodes")
    func allReduceOverTwoWholeNodes() {
        let all = roundCluster.collectiveGroup(devices: 0 ..< 16)
        #expect(all.allReduceBusBandwidth == 200e9)
        #expect(close(all.allReduceSeconds(bytes: 1e9), 2.0 * 15 / 16 * 1e9 / 200e9 + 28 * 3e-6 + 2 * 10e-6))
        #expect(close(all.allReduceSeconds(bytes: 1e9), 0.009_479))
    }

    @Test("all-to-all across nodes runs at each device's own NIC rate; 7 local and 8 remote peers")
    func allToAllAcrossNodes() {
        let all = roundCluster.collectiveGroup(devices: 0 ..< 16)
        #expect(all.allToAllBandwidth == 25e9)
        #expect(close(all.allToAllSeconds(bytes: 1e9), 15.0 / 16 * (1e9 / 16) / 25e9 + 7 * 3e-6 + 8 * 10e-6))
    }

    @Test("one device communicates for free")
    func singleDevice() {
        let alone = roundCluster.collectiveGroup(devices: [5])
        #expect(alone == .singleDevice)
        #expect(alone.allReduceSeconds(bytes: 1e9) == 0 && alone.allGatherSeconds(bytes: 1e9) == 0)
        #expect(alone.reduceScatterSeconds(bytes: 1e9) == 0 && alone.allToAllSeconds(bytes: 1e9) == 0)
    }

    @Test("a send crosses NVLink inside a node and the network between nodes")
    func pointToPoint() {
        #expect(close(roundCluster.sendSeconds(bytes: 1e9, from: 0, to: 7), 1e9 / 300e9 + 3e-6))
        #expect(close(roundCluster.sendSeconds(bytes: 1e9, from: 7, to: 8), 0.040_01))
        #expect(roundCluster.sendSeconds(bytes: 1e9, from: 3, to: 3) == 0)
    }

    @Test("measured bus bandwidths replace nominal bandwidth times efficiency")
    func measuredFiguresWin() {
        let nominal = LinkSpec(bandwidth: 100e9, latency: 0)
        #expect(nominal.achievedBandwidth == 80e9)
        #expect(nominal.effectiveAllReduceBusBandwidth == 80e9 && nominal.effectivePointToPointBandwidth == 80e9)
        let measured = LinkSpec(bandwidth: 450e9, latency: 0, allReduceBusBandwidth: 480e9,
                                allGatherBusBandwidth: 370e9, pointToPointBandwidth: 396e9)
        #expect(measured.effectiveAllReduceBusBandwidth == 480e9)
        #expect(measured.effectiveAllGatherBusBandwidth == 370e9)
        #expect(measured.effectivePointToPointBandwidth == 396e9)
        let allReduceOnly = LinkSpec(bandwidth: 300e9, latency: 0, allReduceBusBandwidth: 232.5e9)
        #expect(allReduceOnly.effectiveAllGatherBusBandwidth == 240e9)
    }

    @Test("busbw convention: an all-reduce at the measured 232.5 GB/s takes 2(n-1)/n * B / busbw")
    func nvlinkThreeMeasured() throws {
        let dgx = try Cluster.preset(named: "dgx-a100-80g")
        let group = dgx.collectiveGroup(devices: dgx.deviceIDs)
        #expect(group.allReduceBusBandwidth == 232.5e9)
        #expect(close(group.allReduceSeconds(bytes: 1e9), 2.0 * 7 / 8 * 1e9 / 232.5e9 + 14 * 3.4e-6))
    }
}
