import Foundation
import Testing
@testable import ShardPlan

private func close(_ actual: Double, _ expected: Double, within tolerance: Double = 1e-9) -> Bool {
    abs(actual - expected) <= tolerance * abs(expected)
}

private let fourGiB = 4_294_967_296.0

/// The line-rate bound and NVLS (Docs/clusters.md, "Collective costs"): no all-reduce beats its links, and a larger
/// group of the same cluster is never faster.
@Suite("Collective bounds and NVLS")
struct CollectiveBoundsTests {
    /// A DGX H100 node whose all-reduce figure (480 GB/s) a cluster file states without in-switch reduction, so
    /// that the ring itself is offered 480 on a 450 GB/s link.
    private func ringClaiming480() -> Cluster {
        var cluster = try! Cluster.preset(named: "dgx-h100")
        cluster.intraNode!.reducesInSwitch = false
        return cluster
    }

    @Test("a 4 GiB all-reduce on 2 GPUs is capped at the line rate: bus bandwidth 2(n-1)/n x 450 = 450 GB/s")
    func twoDeviceAllReduceCapped() {
        let group = ringClaiming480().collectiveGroup(devices: 0 ..< 2)
        // Simple ring: 8.4 us + 2 steps of 3.4 us = 15.2 us; bandwidth min(480, 2 x 1/2 x 450) = 450 GB/s bus, so
        // 2 x 1/2 x 4,294,967,296 B / 450e9 = 9,544.372 us; 9,559.572 us in all (not the 8,963 us of 480 GB/s).
        let choice = group.fastest(.allReduce, bytes: fourGiB)
        #expect(choice.algorithm == .ring && choice.wireProtocol == .simple)
        #expect(close(choice.seconds, 15.2e-6 + fourGiB / 450e9))
        #expect(abs(choice.seconds - 9_559.572e-6) < 0.001e-6)
    }

    @Test("a ring's bus bandwidth is at most the line rate on any number of GPUs: 8 GPUs claiming 480 run at 450")
    func eightDeviceRingCapped() {
        let group = ringClaiming480().collectiveGroup(devices: 0 ..< 8)
        // Simple ring: 1.4 is only across nodes, so 8.4 us + 14 steps of 3.4 us = 56.0 us; bus bandwidth
        // min(480, 450) = 450 GB/s: 2 x 7/8 x 4,294,967,296 B / 450e9 = 16,702.651 us; 16,758.651 us in all (at 480,
        // 15,714.735 us: a bus bandwidth of 478.3 GB/s on a 450 GB/s link). No NVLS: the switch does not reduce.
        let choice = group.fastest(.allReduce, bytes: fourGiB)
        #expect(choice.algorithm == .ring && choice.wireProtocol == .simple)
        #expect(abs(choice.seconds - 16_758.651e-6) < 0.001e-6, "\(choice.seconds)")
        #expect(2 * 7.0 / 8 * fourGiB / choice.seconds <= 450e9)
    }

    @Test("dgx-h100's 2-GPU all-reduce of 4 GiB is a ring at the ring's 370 GB/s: the 480 is NVLS's, over 8 GPUs")
    func twoH100AllReduce() throws {
        let group = try Cluster.preset(named: "dgx-h100").collectiveGroup(devices: 0 ..< 2)
        // Ring Simple: 15.2 us + 4,294,967,296 / 370e9 = 11,608.020 us: 11,623.220 us (busbw 369.5 GB/s). NVLS:
        // 2 x 25 us + 4,294,967,296 / (480e9 x 8/14) = 15,708 us.
        let choice = group.fastest(.allReduce, bytes: fourGiB)
        #expect(choice.algorithm == .ring && choice.wireProtocol == .simple)
        #expect(abs(choice.seconds - 11_623.220e-6) < 0.001e-6)
        #expect(fourGiB / choice.seconds <= 450e9)
    }

    @Test("an all-gather or reduce-scatter figure above the line rate is capped at it")
    func allGatherCapped() {
        var cluster = ringClaiming480()
        cluster.intraNode!.allGatherBusBandwidth = 900e9
        let group = cluster.collectiveGroup(devices: 0 ..< 8)
        // 7/8 x 4 GiB at 450 GB/s = 8,351.325 us, plus 8.4 + 7 x 3.4 = 32.2 us.
        #expect(close(group.allGatherSeconds(bytes: fourGiB), 32.2e-6 + 7.0 / 8 * fourGiB / 450e9))
        #expect(close(group.reduceScatterSeconds(bytes: fourGiB), 32.2e-6 + 7.0 / 8 * fourGiB / 450e9))
    }

    @Test("inside an H100 node a 64 MiB all-reduce runs as NVLS: two 25 us passes plus the bytes at 480 x 8/14 GB/s")
    func nvlsInsideH100Node() throws {
        let group = try Cluster.preset(named: "dgx-h100").collectiveGroup(devices: 0 ..< 8)
        // NVLS: 2 x 25 + 67,108,864 x 14 / (480e9 x 8) = 50 + 244.668 = 294.668 us. Ring LL128: 14 + 14 x 1.9 = 40.6 us
        // plus 2 x 7/8 x 67,108,864 / (370e9 x 0.92) = 345.0 us: 385.6 us.
        let choice = group.fastest(.allReduce, bytes: 67_108_864)
        #expect(choice.algorithm == .nvls && choice.wireProtocol == .simple)
        #expect(abs(choice.seconds - 294.668e-6) < 0.001e-6)
        #expect(group.seconds(.allGather, bytes: 67_108_864, algorithm: .nvls, protocol: .simple) == nil)
        #expect(group.seconds(.allReduce, bytes: 67_108_864, algorithm: .nvls, protocol: .lowLatency128) == nil)
    }

    @Test("NVLS needs a switch that reduces and one domain: not on an A100 node, not across H100 nodes")
    func nvlsWhereOffered() throws {
        let a100 = try Cluster.preset(named: "dgx-a100-80g").collectiveGroup(devices: 0 ..< 8)
        #expect(a100.seconds(.allReduce, bytes: 1e9, algorithm: .nvls, protocol: .simple) == nil)
        let h100s = try Cluster.preset(named: "dgx-h100:2").collectiveGroup(devices: 0 ..< 16)
        #expect(h100s.seconds(.allReduce, bytes: 1e9, algorithm: .nvls, protocol: .simple) == nil)
    }

    @Test("one GB200 NVL72 rack all-reduces 8 MiB as NVLS in 73 us, faster than two racks' 239 us")
    func nvl72RackFasterThanTwo() throws {
        let rack = try Cluster.preset(named: "gb200-nvl72").collectiveGroup(devices: 0 ..< 72)
        // NVLS: 2 x 25 us + 8,388,608 x 142 / (720e9 x 72) = 22.978 us: 72.978 us (the ring's LL took 280 us).
        let choice = rack.fastest(.allReduce, bytes: 8_388_608)
        #expect(choice.algorithm == .nvls)
        #expect(abs(choice.seconds - 72.978e-6) < 0.001e-6)
        let twoRacks = try Cluster.preset(named: "gb200-nvl72:2").collectiveGroup(devices: 0 ..< 144)
        #expect(twoRacks.allReduceSeconds(bytes: 8_388_608) > choice.seconds)
    }

    /// The tester's sizes: every power of two from 1 KiB to 4 GiB.
    private static let sizes = (10 ... 32).map { Double(1 << $0) }

    @Test("inside one domain of every preset, an all-reduce over more of its devices is never faster",
          arguments: ClusterPreset.all.filter { $0.node.deviceCount > 1 })
    func monotoneInsideDomain(_ preset: ClusterPreset) {
        let cluster = preset.node
        for bytes in Self.sizes {
            var previous = 0.0
            for count in 2 ... cluster.devicesPerDomain {
                let seconds = cluster.collectiveGroup(devices: 0 ..< count).allReduceSeconds(bytes: bytes)
                #expect(seconds >= previous, "\(preset.name): \(count) devices, \(Int(bytes)) B: \(seconds) s < \(previous) s")
                previous = seconds
            }
        }
    }

    @Test("across 1 to 8 whole domains of every multi-node preset, an all-reduce over more domains is never faster",
          arguments: ClusterPreset.all.filter { $0.node.interNode != nil })
    func monotoneAcrossDomains(_ preset: ClusterPreset) throws {
        let clusters = try (1 ... 8).map { try preset.cluster(nodes: $0) }
        for bytes in Self.sizes {
            var previous = 0.0
            for cluster in clusters {
                let seconds = cluster.collectiveGroup(devices: cluster.deviceIDs).allReduceSeconds(bytes: bytes)
                #expect(seconds >= previous, "\(cluster.name), \(Int(bytes)) B: \(seconds) s < \(previous) s")
                previous = seconds
            }
        }
    }
}
