import Foundation
import Testing
@testable import ShardPlan

/// SPEC section 2's example, verbatim.
private let specExample = """
{
  "format": "shardplan.cluster/1",
  "name": "4x DGX A100 80GB",
  "nodes": 4,
  "devices_per_node": 8,
  "device": {"name": "A100-SXM4-80GB", "memory_gib": 80,
             "peak_tflops": {"bf16": 312, "f16": 312, "tf32": 156, "f32": 19.5},
             "memory_bandwidth_gb_per_s": 2039},
  "intra_node": {"bandwidth_gb_per_s": 300, "latency_us": 3},
  "inter_node": {"bandwidth_gb_per_s": 25,  "latency_us": 8}
}
"""

private func decode(_ text: String) throws(InputError) -> Cluster {
    try Cluster(jsonBytes: Array(text.utf8))
}

@Suite("Cluster JSON")
struct ClusterJSONTests {
    @Test("SPEC's example decodes into SI units")
    func specExampleDecodes() throws {
        let cluster = try decode(specExample)
        #expect(cluster.name == "4x DGX A100 80GB" && cluster.deviceCount == 32)
        #expect(cluster.device.memoryBytes == 85_899_345_920)
        #expect(cluster.device.peakFLOPsPerSecond == [.bf16: 312e12, .f16: 312e12, .tf32: 156e12, .f32: 19.5e12])
        #expect(cluster.device.memoryBandwidth == 2039e9)
        #expect(cluster.intraNode == LinkSpec(bandwidth: 300e9, latency: 3e-6))
        #expect(cluster.interNode == LinkSpec(bandwidth: 25e9, latency: 8e-6))
        #expect(cluster.node(ofDevice: 9) == 1 && cluster.devices(onNode: 3) == 24 ..< 32)
    }

    @Test("encoding then decoding gives back the same cluster, and the same text")
    func roundTrip() throws {
        let cluster = try decode(specExample)
        let text = cluster.jsonText
        let again = try decode(text)
        #expect(again == cluster)
        #expect(again.jsonText == text)
    }

    @Test("every preset survives a round trip through its JSON text, calibration fields included",
          arguments: ClusterPreset.all.map(\.name))
    func presetRoundTrip(name: String) throws {
        let cluster = try Cluster.preset(named: name)
        #expect(try decode(cluster.jsonText) == cluster)
    }

    @Test("calibration fields are optional, additive and read back in SI units")
    func calibrationFields() throws {
        let text = specExample
            .replacingOccurrences(of: "\"memory_bandwidth_gb_per_s\": 2039}", with: """
                "memory_bandwidth_gb_per_s": 2039, "multiprocessors": 108, "boost_clock_mhz": 1410,
                "best_matmul_tflops": {"bf16": 271.2}, "achievable_memory_bandwidth_fraction": 0.9}
                """)
            .replacingOccurrences(of: "\"latency_us\": 3}", with: """
                "latency_us": 3, "collective_efficiency": 0.775, "allreduce_bus_bandwidth_gb_per_s": 232.5,
                "allgather_bus_bandwidth_gb_per_s": 230, "p2p_bandwidth_gb_per_s": 250, "in_switch_reduction": true}
                """)
        let cluster = try decode(text)
        #expect(cluster.device.multiprocessors == 108 && cluster.device.boostClockHertz == 1.41e9)
        #expect(cluster.device.bestMatmulFLOPsPerSecond == [.bf16: 271.2e12])
        #expect(cluster.device.achievableMemoryBandwidthFraction == 0.9)
        #expect(cluster.intraNode == LinkSpec(bandwidth: 300e9, latency: 3e-6, collectiveEfficiency: 0.775,
                                              allReduceBusBandwidth: 232.5e9, allGatherBusBandwidth: 230e9,
                                              pointToPointBandwidth: 250e9, reducesInSwitch: true))
        #expect(try decode(cluster.jsonText) == cluster)
    }

    @Test("a single device needs no links")
    func singleDevice() throws {
        let cluster = try decode("""
            {"format": "shardplan.cluster/1", "nodes": 1, "devices_per_node": 1,
             "device": {"name": "H100", "memory_gib": 80, "peak_tflops": {"bf16": 989.4}, "memory_bandwidth_gb_per_s": 3350}}
            """)
        #expect(cluster.deviceCount == 1 && cluster.name == "cluster")
        #expect(cluster.intraNode == nil && cluster.interNode == nil)
        #expect(cluster.collectiveGroup(devices: [0]) == .singleDevice)
        #expect(try decode(cluster.jsonText) == cluster)
    }

    struct BrokenCluster: Sendable, CustomTestStringConvertible {
        /// Text of SPEC's example to replace, and its replacement.
        var find: String
        var replace: String
        var kind: InputError.Kind
        /// The error's description, path first.
        var expected: String
        var testDescription: String { expected }
    }

    @Test("a broken cluster is reported with its JSON path", arguments: [
        BrokenCluster(find: "\"format\": \"shardplan.cluster/1\",", replace: "", kind: .unsupportedFormat,
                      expected: "missing \"format\"; a cluster document starts with \"format\": \"shardplan.cluster/1\""),
        BrokenCluster(find: "cluster/1", replace: "cluster/2", kind: .unsupportedFormat,
                      expected: "format: unknown format \"shardplan.cluster/2\"; this version reads \"shardplan.cluster/1\""),
        BrokenCluster(find: "\"nodes\": 4", replace: "\"nodes\": 0", kind: .invalidValue,
                      expected: "nodes: expected a positive integer, found 0"),
        BrokenCluster(find: "\"devices_per_node\": 8", replace: "\"devices_per_node\": 2.5", kind: .wrongType,
                      expected: "devices_per_node: expected an integer, found the number 2.5"),
        BrokenCluster(find: "\"nodes\": 4", replace: "\"nodes\": 1000000", kind: .invalidValue,
                      expected: "nodes: 1000000 nodes of 8 devices is more than the 1048576 devices ShardPlan plans for"),
        BrokenCluster(find: "\"bf16\": 312", replace: "\"bf16\": -3", kind: .invalidValue,
                      expected: "device.peak_tflops.bf16: expected a positive number, found -3"),
        BrokenCluster(find: "\"f16\": 312", replace: "\"fp16\": 312", kind: .invalidValue,
                      expected: "device.peak_tflops.fp16: unknown element type \"fp16\"; known: f32, tf32, bf16, f16, fp8, i64, i32, i8, bool"),
        BrokenCluster(find: "{\"bf16\": 312, \"f16\": 312, \"tf32\": 156, \"f32\": 19.5}", replace: "{}", kind: .invalidValue,
                      expected: "device.peak_tflops: expected at least one element type, such as {\"bf16\": 312}"),
        BrokenCluster(find: "\"memory_gib\": 80", replace: "\"memory_gib\": \"80\"", kind: .wrongType,
                      expected: "device.memory_gib: expected a number, found the string \"80\""),
        BrokenCluster(find: ",\n             \"memory_bandwidth_gb_per_s\": 2039", replace: "", kind: .missingField,
                      expected: "device: missing required member \"memory_bandwidth_gb_per_s\""),
        BrokenCluster(find: "\"memory_bandwidth_gb_per_s\": 2039", replace: "\"memory_bandwidth_gb_per_s\": 2039, \"best_matmul_tflops\": {\"bf16\": 400}",
                      kind: .invalidValue,
                      expected: "device.best_matmul_tflops.bf16: 400 TFLOP/s exceeds the bf16 peak of 312; a measured rate cannot beat the peak"),
        BrokenCluster(find: "\"bandwidth_gb_per_s\": 300", replace: "\"bandwidth_gb_per_s\": 0", kind: .invalidValue,
                      expected: "intra_node.bandwidth_gb_per_s: expected a positive number, found 0"),
        BrokenCluster(find: "\"latency_us\": 8", replace: "\"latency_us\": -1", kind: .invalidValue,
                      expected: "inter_node.latency_us: expected a number at least 0, found -1"),
        BrokenCluster(find: "\"latency_us\": 3}", replace: "\"latency_us\": 3, \"collective_efficiency\": 1.5}", kind: .invalidValue,
                      expected: "intra_node.collective_efficiency: expected a fraction greater than 0 and at most 1, found 1.5"),
        BrokenCluster(find: ",\n  \"inter_node\": {\"bandwidth_gb_per_s\": 25,  \"latency_us\": 8}", replace: "", kind: .missingField,
                      expected: "missing required member \"inter_node\": a cluster of 4 nodes needs the network between them"),
        BrokenCluster(find: "\"bandwidth_gb_per_s\": 25", replace: "\"bandwidth_gb_per_s\": 1e300", kind: .invalidValue,
                      expected: "inter_node.bandwidth_gb_per_s: 1e+300 is outside the 1e-06 to 1000000000 that ShardPlan reads a figure in"),
        BrokenCluster(find: "\"memory_gib\": 80", replace: "\"memory_gib\": 1e-9", kind: .invalidValue,
                      expected: "device.memory_gib: 1e-09 is outside the 1e-06 to 1000000000 that ShardPlan reads a figure in; no device holds under a KiB"),
        BrokenCluster(find: "\"memory_gib\": 80", replace: "\"memory_gib\": 8.6e10", kind: .invalidValue,
                      expected: "device.memory_gib: 86000000000 is outside the 1e-06 to 1000000000 that ShardPlan reads a figure in; no device holds under a KiB (1e-6 GiB) or over an exabyte (1e9 GiB) of memory; memory_gib is in GiB"),
        BrokenCluster(find: "\"latency_us\": 8", replace: "\"latency_us\": 1e10", kind: .invalidValue,
                      expected: "inter_node.latency_us: 10000000000 is outside the 1e-06 to 1000000000"),
        BrokenCluster(find: "\"latency_us\": 8}", replace: "\"latency_us\": 8, \"collective_efficiency\": 1e-300}", kind: .invalidValue,
                      expected: "inter_node.collective_efficiency: 1e-300 is below the 1e-06 that ShardPlan reads a fraction down to"),
        BrokenCluster(find: "\"memory_bandwidth_gb_per_s\": 2039", replace: "\"memory_bandwidth_gb_per_s\": 2039, \"achievable_memory_bandwidth_fraction\": 1e-300",
                      kind: .invalidValue,
                      expected: "device.achievable_memory_bandwidth_fraction: 1e-300 is below the 1e-06"),
        BrokenCluster(find: "\"intra_node\": {", replace: "\"intra_node\": [{", kind: .malformedJSON,
                      expected: "malformed JSON"),
        BrokenCluster(find: "\"name\": \"A100-SXM4-80GB\"", replace: "\"name\": \" \"", kind: .invalidValue,
                      expected: "device.name: expected the device's name, such as \"H100-SXM5-80GB\", found an empty one"),
        BrokenCluster(find: "{\"bf16\": 312, \"f16\": 312, \"tf32\": 156, \"f32\": 19.5}", replace: "{\"fp8\": 1978.9}", kind: .invalidValue,
                      expected: "device.peak_tflops: no bf16 or f16 rate: training's products run in 16 bits"),
        BrokenCluster(find: "\"memory_gib\": 80", replace: "\"memory_gib\": 80, \"multiprocessors\": 100000", kind: .invalidValue,
                      expected: "device.multiprocessors: 100000 multiprocessors is more than any GPU has (at most 4096"),
        BrokenCluster(find: "\"latency_us\": 3}", replace: "\"latency_us\": 3, \"allgather_bus_bandwidth_gb_per_s\": 1e6}", kind: .invalidValue,
                      expected: "intra_node.allgather_bus_bandwidth_gb_per_s: 1000000 exceeds the link's bandwidth_gb_per_s of 300: an all-gather's bus bandwidth is at most the line rate"),
        BrokenCluster(find: "\"latency_us\": 8}", replace: "\"latency_us\": 8, \"p2p_bandwidth_gb_per_s\": 26}", kind: .invalidValue,
                      expected: "inter_node.p2p_bandwidth_gb_per_s: 26 exceeds the link's bandwidth_gb_per_s of 25: a copy moves no data faster than the link"),
        BrokenCluster(find: "\"latency_us\": 3}", replace: "\"latency_us\": 3, \"allreduce_bus_bandwidth_gb_per_s\": 1e8}", kind: .invalidValue,
                      expected: "intra_node.allreduce_bus_bandwidth_gb_per_s: 100000000 exceeds 2 x the link's bandwidth_gb_per_s of 300: an all-reduce's bus bandwidth is below twice the line rate"),
        // Without in-switch reduction an all-reduce is a ring or a tree: its bus bandwidth is at most the line rate.
        BrokenCluster(find: "\"latency_us\": 3}", replace: "\"latency_us\": 3, \"allreduce_bus_bandwidth_gb_per_s\": 301}", kind: .invalidValue,
                      expected: "intra_node.allreduce_bus_bandwidth_gb_per_s: 301 exceeds the link's bandwidth_gb_per_s of 300 without \"in_switch_reduction\": true: a ring's devices"),
        BrokenCluster(find: "\"latency_us\": 3}", replace: "\"latency_us\": 3, \"allreduce_bus_bandwidth_gb_per_s\": 301, \"in_switch_reduction\": false}", kind: .invalidValue,
                      expected: "intra_node.allreduce_bus_bandwidth_gb_per_s: 301 exceeds the link's bandwidth_gb_per_s of 300 without"),
        BrokenCluster(find: "\"latency_us\": 8}", replace: "\"latency_us\": 8, \"allreduce_bus_bandwidth_gb_per_s\": 26}", kind: .invalidValue,
                      expected: "inter_node.allreduce_bus_bandwidth_gb_per_s: 26 exceeds the link's bandwidth_gb_per_s of 25 without"),
        BrokenCluster(find: "\"latency_us\": 3}", replace: "\"latency_us\": 3, \"in_switch_reduction\": 1}", kind: .wrongType,
                      expected: "intra_node.in_switch_reduction: expected true or false"),
        BrokenCluster(find: "\"name\": \"4x DGX A100 80GB\"", replace: "\"name\": \"\"", kind: .invalidValue,
                      expected: "name: a cluster's name must not be empty"),
    ])
    func brokenCluster(_ broken: BrokenCluster) {
        #expect(specExample.contains(broken.find), "the case must change the example")
        let text = specExample.replacingOccurrences(of: broken.find, with: broken.replace)
        do {
            _ = try decode(text)
            Issue.record("expected \(broken.kind): \(broken.expected)")
        } catch {
            #expect(error.kind == broken.kind)
            #expect(error.description.hasPrefix("cluster: " + broken.expected), "\(error.description)")
        }
    }

    @Test("the device must be an object")
    func deviceOfWrongType() {
        let text = specExample.replacingOccurrences(of: "\"device\": {", with: "\"device\": 3, \"unused\": {")
        #expect(throws: InputError(.wrongType, at: JSONPath([.key("device")]), "expected an object, found a number",
                                   document: "cluster")) {
            _ = try decode(text)
        }
    }

    @Test("a figure a program builds as NaN or infinity is refused at its path, not priced")
    func nonFiniteFigure() throws {
        guard case .object(var top) = try JSONParser.parse(specExample), case .object(var device)? = top["device"] else {
            Issue.record("SPEC's example has a device"); return
        }
        for figure in [Double.nan, .infinity] {
            device["memory_bandwidth_gb_per_s"] = .number(figure)
            top["device"] = .object(device)
            let error = #expect(throws: InputError.self) { try Cluster(json: .object(top)) }
            #expect(error?.path == JSONPath([.key("device"), .key("memory_bandwidth_gb_per_s")]))
            #expect(error?.message.hasPrefix("expected a finite number") == true, "\(String(describing: error))")
        }
    }
}
