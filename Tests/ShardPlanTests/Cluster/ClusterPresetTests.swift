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
                      "dgx-h100:+2", "dgx-h100:99999999999999999999"])
    func badNodeCount(argument: String) {
        do {
            _ = try Cluster.preset(named: argument)
            Issue.record("\(argument) should be refused")
        } catch {
            #expect(error.kind == .invalidValue)
            #expect(error.message.contains("positive integer") && error.message.contains("p3.16xlarge, dgx-a100-40g"))
        }
    }

    @Test("an unknown preset names the presets")
    func unknownPreset() {
        #expect(throws: InputError(.invalidReference, at: .root,
                                   "unknown cluster preset \"dgx-b200\"; the presets are p3.16xlarge, dgx-a100-40g, dgx-a100-80g, dgx-h100, dgx-h200, single-a100-80g, single-h100 (NAME:K for K nodes)")) {
            _ = try Cluster.preset(named: "dgx-b200:4")
        }
    }

    @Test("single-GPU presets have no links and cannot be scaled to several nodes")
    func singleGPUPresets() throws {
        for name in ["single-a100-80g", "single-h100"] {
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
                       "all-reduce busbw 480; all-gather busbw 370; p2p 396", "all-reduce busbw 40.625; efficiency 0.8125"] {
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
