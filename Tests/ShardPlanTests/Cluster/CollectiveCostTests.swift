import Foundation
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

    @Test("all-reduce of 1 GB over 8 NVLink devices: a Simple ring, 2 x 7/8 x 1e9 / 300e9 s plus 8.4 us and 14 steps of 3 us")
    func allReduceInsideANode() {
        #expect(close(node.allReduceSeconds(bytes: 1e9), 2.0 * 7 / 8 * 1e9 / 300e9 + 8.4e-6 + 14 * 3e-6))
        #expect(close(node.allReduceSeconds(bytes: 1e9), 0.005_883_733_333))
        #expect(node.fastest(.allReduce, bytes: 1e9).wireProtocol == .simple)
    }

    @Test("all-gather and reduce-scatter move half an all-reduce's bytes in half its steps")
    func allGatherAndReduceScatter() {
        let expected = 7.0 / 8 * 1e9 / 300e9 + 8.4e-6 + 7 * 3e-6
        #expect(close(node.allGatherSeconds(bytes: 1e9), expected))
        #expect(close(node.reduceScatterSeconds(bytes: 1e9), expected))
        #expect(close(expected, 0.002_946_066_667))
    }

    @Test("a 1 MB all-reduce inside a node takes the LL protocol: a quarter of the bandwidth, a fifth of the latency")
    func smallAllReduceUsesLowLatency() {
        // LL: 6.6 us + 14 steps of 0.6 x 3/3.4 us = 14.012 us, plus 1.75e6 B at 300/4 = 75 GB/s = 23.333 us.
        // LL128: 14 + 14 x 1.9 x 3/3.4 = 37.471 us, plus 1.75e6 / 276e9 = 6.341 us: 43.811 us.
        // Simple: 8.4 + 14 x 3 = 50.4 us, plus 5.833 us: 56.233 us.
        let choice = node.fastest(.allReduce, bytes: 1e6)
        #expect(choice.algorithm == .ring && choice.wireProtocol == .lowLatency)
        #expect(close(choice.seconds, 6.6e-6 + 14 * 0.6e-6 * 3 / 3.4 + 1.75e6 / 75e9))
        #expect(abs(choice.seconds - 37.345e-6) < 0.001e-6)
        #expect(close(node.seconds(.allReduce, bytes: 1e6, algorithm: .ring, protocol: .lowLatency128)!,
                      14e-6 + 14 * 1.9e-6 * 3 / 3.4 + 1.75e6 / 276e9))
        #expect(abs(node.seconds(.allReduce, bytes: 1e6, algorithm: .ring, protocol: .simple)! - 56.233e-6) < 0.001e-6)
        #expect(node.seconds(.allReduce, bytes: 1e6, algorithm: .tree, protocol: .simple) == nil)
        #expect(node.seconds(.allGather, bytes: 1e6, algorithm: .tree, protocol: .simple) == nil)
    }

    @Test("achieved bus bandwidth rises with the message: 1 KB reaches under 1%, 1 GB over 99% of the link")
    func bandwidthRisesWithSize() {
        func busBandwidth(_ bytes: Double) -> Double { 2.0 * 7 / 8 * bytes / node.allReduceSeconds(bytes: bytes) }
        #expect(busBandwidth(1e3) < 0.01 * 300e9)
        #expect(busBandwidth(1e6) < 0.2 * 300e9)
        #expect(busBandwidth(1e9) > 0.99 * 300e9)
        var previous = 0.0
        for exponent in 3 ... 10 {
            let bandwidth = busBandwidth(pow(10, Double(exponent)))
            #expect(bandwidth > previous)
            previous = bandwidth
        }
    }

    @Test("all-to-all of a 1 GB tensor: each device sends 7/8 of its 1/8 share")
    func allToAllInsideANode() {
        #expect(close(node.allToAllSeconds(bytes: 1e9), 7.0 / 8 * (1e9 / 8) / 300e9 + 7 * 3e-6))
    }

    @Test("large ring all-reduce time follows 2(n-1)/n * B / bw + 8.4 us + 2(n-1) * latency", arguments: [2, 4, 8])
    func allReduceFormula(devices: Int) {
        let group = roundCluster.collectiveGroup(devices: 0 ..< devices)
        let n = Double(devices)
        #expect(group.size == devices && group.nodeCount == 1)
        #expect(close(group.allReduceSeconds(bytes: 4e8), 2 * (n - 1) / n * 4e8 / 300e9 + 8.4e-6 + 2 * (n - 1) * 3e-6))
    }

    @Test("a pair across nodes uses the network: 2 x 1/2 x 1e9 / 25e9 s plus 1.4 x (8.4 us + 2 network steps)")
    func allReduceAcrossNodes() {
        let pair = roundCluster.collectiveGroup(devices: [0, 8])
        #expect(pair.nodeCount == 2 && pair.devicesPerNode == 1 && pair.allReduceBusBandwidth == 25e9)
        #expect(close(pair.allReduceSeconds(bytes: 1e9), 0.04 + 1.4 * (8.4e-6 + 2 * 10e-6)))
    }

    @Test("16 devices on 2 nodes use 8 NICs per node, capped by NVLink; 2 of 30 steps cross nodes")
    func allReduceOverTwoWholeNodes() {
        let all = roundCluster.collectiveGroup(devices: 0 ..< 16)
        #expect(all.allReduceBusBandwidth == 200e9 && all.devicesPerNode == 8)
        // Ring Simple: 1.4 x (8.4 + 28 x max(3, 3) + 2 x 10) us = 157.36 us, plus 2 x 15/16 x 1e9 / 200e9.
        #expect(close(all.allReduceSeconds(bytes: 1e9), 2.0 * 15 / 16 * 1e9 / 200e9 + 1.4 * (8.4e-6 + 28 * 3e-6 + 2 * 10e-6)))
        #expect(close(all.allReduceSeconds(bytes: 1e9), 0.009_532_36))
        // The tree: 2 x (7 x 28 x 3/3.4 + 1 x 28 x 10/14) us = 385.88 us, plus 1e9 at 0.5 x 0.92 x 200 GB/s: slower.
        let tree = all.seconds(.allReduce, bytes: 1e9, algorithm: .tree, protocol: .simple)!
        #expect(close(tree, 2 * (7 * 28e-6 * 3 / 3.4 + 28e-6 * 10 / 14) + 1e9 / 92e9))
        #expect(all.fastest(.allReduce, bytes: 1e9).algorithm == .ring)
    }

    @Test("64 nodes, one device each: a 1 MB all-reduce climbs a tree of depth 6 with LL128 instead of a ring of 126 steps")
    func treeAcrossManyNodes() throws {
        let cluster = roundCluster.withNodes(64, name: "round:64")
        let group = cluster.collectiveGroup(devices: Array(stride(from: 0, to: 512, by: 8)))
        #expect(group.size == 64 && group.nodeCount == 64 && group.devicesPerNode == 1)
        // Tree LL128: 14 us + 2 x 6 x 8.5 x 10/14 us = 86.857 us; 1e6 B at 0.5 x 0.92 x 25 GB/s x 120/128 x 0.6
        // (NCCL's correction at 2^13 x 64 bytes) = 6.46875 GB/s: 154.589 us. 241.447 us in all.
        let choice = group.fastest(.allReduce, bytes: 1e6)
        #expect(choice.algorithm == .tree && choice.wireProtocol == .lowLatency128)
        #expect(close(choice.seconds, 14e-6 + 12 * 8.5e-6 * 10 / 14 + 1e6 / 6.468_75e9))
        // The best ring, LL128: 14 + 126 x 4 x 10/14 = 374 us plus 1.96875e6 B at 0.7 x 25 GB/s = 112.5 us.
        #expect(close(group.seconds(.allReduce, bytes: 1e6, algorithm: .ring, protocol: .lowLatency128)!,
                      14e-6 + 126 * 4e-6 * 10 / 14 + 2 * 63.0 / 64 * 1e6 / 17.5e9))
        // An all-gather has no tree: its ring latency grows with the 63 steps.
        let gather = group.fastest(.allGather, bytes: 1e6)
        #expect(gather.algorithm == .ring)
        #expect(gather.seconds > 63 * 2.7e-6 * 10 / 14)
    }

    @Test("ring latency grows linearly with the group, tree latency with its logarithm")
    func latencyGrowth() {
        func group(nodes: Int) -> CollectiveGroup {
            roundCluster.withNodes(nodes, name: "round").collectiveGroup(devices: Array(stride(from: 0, to: 8 * nodes, by: 8)))
        }
        let ring = { (nodes: Int) in group(nodes: nodes).seconds(.allReduce, bytes: 8, algorithm: .ring, protocol: .lowLatency)! }
        let tree = { (nodes: Int) in group(nodes: nodes).seconds(.allReduce, bytes: 8, algorithm: .tree, protocol: .lowLatency)! }
        // Ring: 6.6 us + 2(N-1) hops; tree: 6.8 us + 2 log2(N) hops (bandwidth terms are negligible at 8 bytes).
        #expect(abs((ring(1024) - ring(512)) - 1024 * 2.7e-6 * 10 / 14) < 1e-8)
        #expect(abs((tree(1024) - tree(512)) - 2 * 5e-6 * 10 / 14) < 1e-8)
        #expect(group(nodes: 1024).fastest(.allReduce, bytes: 8).algorithm == .tree)
    }

    @Test("NCCL's tree correction: a 1 MB tree gets half its bandwidth with Simple, all of it from 512 MiB")
    func treeCorrection() {
        #expect(CollectiveProtocol.simple.treeCorrection(bytes: 1e6) == 0.5)
        #expect(CollectiveProtocol.lowLatency128.treeCorrection(bytes: 1e6) == 0.6)
        #expect(CollectiveProtocol.lowLatency.treeCorrection(bytes: 64) == 1.0)
        #expect(CollectiveProtocol.simple.treeCorrection(bytes: 600e6) == 1.0)
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
        #expect(close(group.allReduceSeconds(bytes: 1e9), 2.0 * 7 / 8 * 1e9 / 232.5e9 + 8.4e-6 + 14 * 3.4e-6))
    }
}
