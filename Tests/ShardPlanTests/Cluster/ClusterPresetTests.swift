import Foundation
import Testing
@testable import ShardPlan

@Suite("Cluster presets")
struct ClusterPresetTests {
    @Test("NAME:K gives K nodes: dgx-a100-80g:16 is 128 devices")
    func nodeCount() throws {
        let cluster = try Cluster.preset(named: "dgx-a100-80g:16")
        #expect(cluster.nodes == 16 && cluster.devicesPerNode == 8 && cluster.deviceCount == 128)
        #expect(cluster.name == "dgx-a100-80g:16")
        #expect(cluster.node(ofDevice: 127) == 15)
    }

    @Test("a bare name is one node, in any letter case")
    func bareName() throws {
        let cluster = try Cluster.preset(named: "DGX-H100")
        #expect(cluster.name == "dgx-h100" && cluster.deviceCount == 8)
        #expect(try Cluster.preset(named: "dgx-h100:1").name == "dgx-h100:1")
    }

    @Test("a node count that is not a positive integer is refused, listing the presets",
          arguments: ["dgx-h100:", "dgx-h100:0", "dgx-h100:-1", "dgx-h100:x", "dgx-h100:2:3", "dgx-h100:1.5",
                      "dgx-h100:+2"])
    func badNodeCount(argument: String) {
        do {
            _ = try Cluster.preset(named: argument)
            Issue.record("\(argument) should be refused")
        } catch {
            #expect(error.kind == .invalidValue)
            #expect(error.message.contains("positive integer") && error.message.contains("p3.16xlarge, dgx-a100-40g"))
        }
    }

    /// QA: a count past Int's range was "not a positive integer", though it is one.
    @Test("a node count too large for a number is refused as outside the preset's range, as one too large for the cluster is")
    func nodeCountTooLarge() {
        #expect(throws: InputError.self) { _ = try Cluster.preset(named: "dgx-h100:99999999999999999999") }
        do {
            _ = try Cluster.preset(named: "dgx-h100:99999999999999999999")
        } catch {
            #expect(error.kind == .invalidValue)
            #expect(error.message == "dgx-h100: 99999999999999999999 nodes is outside 1 ... 131072", "\(error.message)")
        }
    }

    @Test("an unknown preset names the presets")
    func unknownPreset() {
        #expect(throws: InputError(.invalidReference, at: .root,
                                   "unknown cluster preset \"dgx-b300\"; the presets are p3.16xlarge, dgx-a100-40g, dgx-a100-80g, dgx-h100, dgx-h200, dgx-h800, p4d.24xlarge, p4de.24xlarge, p5.48xlarge, a3-highgpu-8g, a3-megagpu-8g, a3-ultragpu-8g, h100-nvl, gh200-quad, dgx-b200, gb200-nvl72, mi300x, dgx-1-v100, dgx-2, single-a100-80g, single-h100, single-h200 (NAME:K for K nodes)")) {
            _ = try Cluster.preset(named: "dgx-b300:4")
        }
    }

    @Test("single-GPU presets have no links and cannot be scaled to several nodes")
    func singleGPUPresets() throws {
        for name in ["single-a100-80g", "single-h100", "single-h200"] {
            let cluster = try Cluster.preset(named: name)
            #expect(cluster.deviceCount == 1 && cluster.intraNode == nil && cluster.interNode == nil)
            #expect(throws: InputError.self) { _ = try Cluster.preset(named: name + ":2") }
        }
    }

    @Test("preset figures match their sources")
    func figures() throws {
        let p3 = try Cluster.preset(named: "p3.16xlarge")
        #expect(p3.device.peakFLOPsPerSecond(for: .bf16) == 125e12)
        #expect(p3.device.arithmeticType(for: .bf16) == .f16 && p3.device.arithmeticType(for: .tf32) == .f32)
        #expect(p3.interNode?.bandwidth == 3.125e9 / 8 && p3.intraNode?.bandwidth == 150e9)
        let a100 = try Cluster.preset(named: "dgx-a100-40g")
        #expect(a100.device.memoryBytes == 40 * 1_073_741_824 && a100.device.memoryBandwidth == 1555e9)
        #expect(a100.device.peakFLOPsPerSecond(for: .fp8) == 312e12)
        #expect(a100.device.bestMatmulFLOPsPerSecond(for: .f16) == 271.2e12)
        #expect(a100.intraNode?.allReduceBusBandwidth == 232.5e9 && a100.interNode?.allReduceBusBandwidth == 24e9)
        let h100 = try Cluster.preset(named: "dgx-h100")
        #expect(h100.device.peakFLOPsPerSecond(for: .fp8) == 1978.9e12)
        #expect(h100.device.bestMatmulFLOPsPerSecond(for: .fp8) == 1402.6e12)
        #expect(h100.intraNode?.effectiveAllReduceBusBandwidth == 480e9)
        #expect(h100.intraNode?.effectiveAllGatherBusBandwidth == 370e9)
        #expect(h100.interNode?.bandwidth == 50e9)
        let h200 = try Cluster.preset(named: "dgx-h200")
        #expect(h200.device.memoryBytes == 141 * 1_073_741_824 && h200.device.memoryBandwidth == 4.8e12)
        #expect(h200.device.bestMatmulFLOPsPerSecond(for: .bf16) == 794.5e12)
    }

    @Test("the presets of issue 13 carry their datasheet figures")
    func modernFigures() throws {
        let b200 = try Cluster.preset(named: "dgx-b200")
        #expect(b200.deviceCount == 8 && b200.device.memoryBytes == 180 * 1_073_741_824)
        #expect(b200.device.peakFLOPsPerSecond(for: .bf16) == 2250e12 && b200.device.peakFLOPsPerSecond(for: .fp8) == 4500e12)
        #expect(b200.device.memoryBandwidth == 8e12 && b200.intraNode?.bandwidth == 900e9 && b200.device.multiprocessors == 148)
        let gb200 = try Cluster.preset(named: "gb200-nvl72")
        #expect(gb200.nodes == 18 && gb200.devicesPerNode == 4 && gb200.devicesPerDomain == 72 && gb200.interNode != nil)
        #expect(gb200.device.peakFLOPsPerSecond(for: .fp8) == 5000e12 && gb200.device.memoryBytes == 186 * 1_073_741_824)
        let h800 = try Cluster.preset(named: "dgx-h800")
        #expect(h800.intraNode?.bandwidth == 200e9 && h800.intraNode?.effectiveAllGatherBusBandwidth == 160e9)
        #expect(h800.device.peakFLOPsPerSecond(for: .bf16) == 989.4e12)
        let nvl = try Cluster.preset(named: "h100-nvl")
        #expect(nvl.deviceCount == 2 && nvl.device.memoryBytes == 94 * 1_073_741_824 && nvl.device.memoryBandwidth == 3.9e12)
        #expect(nvl.device.peakFLOPsPerSecond(for: .bf16) == 835.5e12 && nvl.intraNode?.bandwidth == 300e9)
        let gh200 = try Cluster.preset(named: "gh200-quad")
        #expect(gh200.deviceCount == 4 && gh200.device.memoryBytes == 96 * 1_073_741_824 && gh200.device.memoryBandwidth == 4e12)
        #expect(gh200.device.bestMatmulFLOPsPerSecond(for: .bf16) == 828.6e12 && gh200.interNode?.bandwidth == 25e9)
        let mi300x = try Cluster.preset(named: "mi300x")
        #expect(mi300x.device.memoryBytes == 192 * 1_073_741_824 && mi300x.device.memoryBandwidth == 5.3e12)
        #expect(mi300x.device.peakFLOPsPerSecond(for: .bf16) == 1307.4e12 && mi300x.device.peakFLOPsPerSecond(for: .fp8) == 2614.9e12)
        // Seven xGMI links of 64 GB/s, of which about 48 are usable: 336 GB/s.
        #expect(abs(mi300x.intraNode!.effectiveAllGatherBusBandwidth - 336e9) < 1)
        let dgx1 = try Cluster.preset(named: "dgx-1-v100")
        #expect(dgx1.device.memoryBytes == 32 * 1_073_741_824 && dgx1.interNode?.bandwidth == 6.25e9)
        let dgx2 = try Cluster.preset(named: "dgx-2")
        #expect(dgx2.deviceCount == 16 && dgx2.interNode?.bandwidth == 6.25e9 && dgx2.intraNode?.bandwidth == 150e9)
    }

    /// Cloud nodes: the DGX's GPUs and NVLink behind the cloud's network, per GPU per direction.
    @Test("cloud presets: EFA at 400 Gb/s a p4d node and 3,200 a p5 node, TCPX at 800, TCPXO at 1,600, per GPU")
    func cloudNetworks() throws {
        let p4d = try Cluster.preset(named: "p4d.24xlarge:2"), p4de = try Cluster.preset(named: "p4de.24xlarge")
        // 4 x 100 Gb/s = 50 GB/s a node, 6.25 a GPU; 85% of it reached (340 of 400 Gb/s).
        #expect(p4d.interNode?.bandwidth == 6.25e9 && abs(p4d.interNode!.effectiveAllGatherBusBandwidth - 5.3125e9) < 1)
        #expect(p4d.device.memoryBytes == 40 * 1_073_741_824 && p4de.device.memoryBytes == 80 * 1_073_741_824)
        #expect(p4de.intraNode == (try Cluster.preset(named: "dgx-a100-80g")).intraNode)
        let p5 = try Cluster.preset(named: "p5.48xlarge"), dgx = try Cluster.preset(named: "dgx-h100")
        #expect(p5.interNode?.bandwidth == 50e9 && p5.device == dgx.device && p5.intraNode == dgx.intraNode)
        // 4 x 200 Gb/s for 8 GPUs: 12.5 GB/s each; 8 x 200 Gb/s: 25 GB/s each, 94% reached (188.5 of 200 GB/s a node).
        #expect(try Cluster.preset(named: "a3-highgpu-8g").interNode?.bandwidth == 12.5e9)
        let mega = try Cluster.preset(named: "a3-megagpu-8g")
        #expect(mega.interNode?.bandwidth == 25e9 && abs(mega.interNode!.effectiveAllGatherBusBandwidth - 23.5e9) < 1)
        // 8 x 400 Gb/s RoCE for 8 H200s: 50 GB/s each, the default 80% reached.
        let ultra = try Cluster.preset(named: "a3-ultragpu-8g"), h200 = try Cluster.preset(named: "dgx-h200")
        #expect(ultra.interNode?.bandwidth == 50e9 && abs(ultra.interNode!.effectiveAllGatherBusBandwidth - 40e9) < 1)
        #expect(ultra.device == h200.device && ultra.intraNode == h200.intraNode)
    }

    @Test("gb200-nvl72:K is K racks of 72, each one NVLink domain")
    func racks() throws {
        let cluster = try Cluster.preset(named: "gb200-nvl72:2")
        #expect(cluster.deviceCount == 144 && cluster.nodes == 36 && cluster.domainCount == 2)
        #expect(cluster.domain(ofDevice: 71) == 0 && cluster.domain(ofDevice: 72) == 1 && cluster.node(ofDevice: 71) == 17)
        #expect(cluster.textReport.hasPrefix("gb200-nvl72:2: 36 nodes x 4 B200-GB200-186GB = 144 devices, 2 NVLink domains of 72\n"))
    }

    @Test("the listing shows every preset, and its JSON form holds decodable clusters")
    func listing() throws {
        let table = ClusterPreset.catalogTable
        for preset in ClusterPreset.all { #expect(table.contains(preset.name)) }
        #expect(table.contains("125 TFLOP/s (f16)"))
        guard case .array(let entries) = ClusterPreset.catalogJSON else { Issue.record("not an array"); return }
        #expect(entries.count == ClusterPreset.all.count)
        for (entry, preset) in zip(entries, ClusterPreset.all) {
            let reader = try JSONReader(entry, at: .root)
            #expect(try Cluster(json: try reader.value("cluster")) == preset.node)
        }
    }

    @Test("a cluster's full report lists every figure as the cluster file writes it")
    func fullReport() throws {
        let report = try Cluster.preset(named: "dgx-h100:2").textReport
        #expect(report.hasPrefix("dgx-h100:2: 2 nodes x 8 H100-SXM5-80GB = 16 devices\n"))
        for figure in ["80 GiB", "3350 GB/s", "132 SMs at 1830 MHz", "fp8 1978.9", "best matmul bf16 794.5, fp8 1402.6",
                       "all-reduce busbw 480; all-gather busbw 370; p2p 396", "all-reduce busbw 47; efficiency 0.94"] {
            #expect(report.contains(figure), "missing \(figure)")
        }
    }

    @Test("resolveCluster reads presets and cluster files")
    func resolution() throws {
        #expect(try resolveCluster("dgx-h200:2").deviceCount == 16)
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("shardplan-cluster-\(UInt64.random(in: 0 ... .max)).json").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        var cluster = try Cluster.preset(named: "dgx-a100-80g:3")
        cluster.name = "three DGX"
        try Data(cluster.jsonText.utf8).write(to: URL(fileURLWithPath: path))
        #expect(try resolveCluster(path) == cluster)
        try Data("{\"format\": \"shardplan.cluster/1\", \"nodes\": 0}".utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: InputError(.invalidValue, at: JSONPath([.key("nodes")]), "expected a positive integer, found 0",
                                   document: path)) {
            _ = try resolveCluster(path)
        }
    }

    @Test("an argument that is neither a preset nor a file says so")
    func unresolvable() {
        do {
            _ = try resolveCluster("/no/such/cluster.json")
            Issue.record("should fail")
        } catch {
            #expect(error.kind == .invalidReference)
            #expect(error.message.hasPrefix("\"/no/such/cluster.json\" is neither a cluster file nor a preset"))
        }
    }
}
