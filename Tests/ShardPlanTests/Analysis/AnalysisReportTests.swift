import Testing
@testable import ShardPlan

@Suite("analysis reports")
struct AnalysisReportTests {
    @Test("quantities print with decimal prefixes", arguments: [
        (UnitFormat.count(174.6e9), "174.6 B"),
        (UnitFormat.count(1.812e9), "1.81 B"),
        (UnitFormat.count(512), "512"),
        (UnitFormat.bytes(349.2e9), "349.2 GB"),
        (UnitFormat.bytes(512), "512 B"),
        (UnitFormat.flops(3.14e18), "3.14 EFLOP"),
        (UnitFormat.flops(999.96e12), "1.00 PFLOP"),
    ])
    func units(text: String, expected: String) {
        #expect(text == expected)
    }

    @Test("the text report collapses identical consecutive layers into one line")
    func collapsedLayers() throws {
        let report = GraphAnalysis(try TinyGPT().graph()).textReport
        #expect(report.hasPrefix("graph tiny-gpt\n"))
        #expect(report.contains("layers       5 (from repeated structure)"))
        #expect(report.contains("layer0..layer2  ops 2-49   3 identical blocks of 16 ops, 12.4 K params, forward"))
        #expect(report.contains("of it in causal attention, counted dense; a causal kernel does half"))
    }

    @Test("the JSON report holds the same figures and parses back")
    func json() throws {
        let analysis = GraphAnalysis(try FLOPCountTests.mlp2())
        let text = JSONWriter().render(analysis.json)
        guard case .object(let top) = try JSONParser.parse(text) else {
            Issue.record("the report is not a JSON object")
            return
        }
        #expect(top.keys == ["format", "graph", "batch_size", "inputs", "parameters", "flops", "activations", "ops", "layers"])
        #expect(top["format"] == .string("shardplan.analysis/1"))
        guard case .object(let flops)? = top["flops"], case .array(let layers)? = top["layers"] else {
            Issue.record("flops or layers missing")
            return
        }
        #expect(flops["forward"] == .number(275_033_096_192))
        #expect(flops["training_per_sample"] == .number((275_033_096_192 + 412_623_044_608) / 1024))
        #expect(layers.count == 2)
    }
}
