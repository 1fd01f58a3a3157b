import Testing
@testable import ShardPlan

/// Names from files anyone can edit reach the plain-text reports escaped (`VisibleText`): a line break in a
/// name cannot start a report line of its own, and no escape sequence reaches the terminal.
@Suite("Plain-text reports show user-provided names escaped")
struct VisibleTextTests {
    static let hostile = "evil\nDOES NOT FIT\r\u{1B}[2J\u{202E}gpt"

    /// Whether every line of `report` is free of control and invisible format characters.
    static func isClean(_ report: String) -> Bool {
        report.split(separator: "\n", omittingEmptySubsequences: false).allSatisfy { line in
            !line.unicodeScalars.contains { [.control, .format, .lineSeparator, .paragraphSeparator].contains($0.properties.generalCategory) }
        }
    }

    @Test("the plan, graph and cluster reports keep their line count with a hostile graph, op and cluster name, and show it escaped")
    func reports() throws {
        var graph = try #require(ModelCatalog.model(id: "gpt-tiny")).build()
        var cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        let configuration = MegatronConfiguration(tensorParallel: 2, pipelineParallel: 2)
        func reports(_ graph: Graph, _ cluster: Cluster, clusterName: String) throws -> [String] {
            let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: clusterName, configuration: configuration)
            return [PlanEvaluator(cluster: cluster).evaluate(plan).textReport(for: plan), GraphAnalysis(graph).textReport,
                    cluster.textReport]
        }
        let plain = try reports(graph, cluster, clusterName: "dgx-a100-80g:1")
        graph.name = Self.hostile
        cluster.name = Self.hostile
        let escaped = try reports(graph, cluster, clusterName: Self.hostile)
        for (before, after) in zip(plain, escaped) {
            #expect(after.count { $0 == "\n" } == before.count { $0 == "\n" })
            #expect(Self.isClean(after))
            #expect(after.contains("evil\\nDOES NOT FIT\\r\\u{1B}[2J\\u{202E}gpt"))
        }
    }

    @Test("escapes: line breaks as \\n \\r \\t, other controls and format characters as \\u{X}; printable text unchanged")
    func escapes() {
        #expect(VisibleText.escape("a\nb\r\tc\u{0}\u{1B}\u{85}\u{2028}\u{202E}") == "a\\nb\\r\\tc\\u{0}\\u{1B}\\u{85}\\u{2028}\\u{202E}")
        #expect(VisibleText.escape("h0.attn \"q\" é 日本 🙂 \\") == "h0.attn \"q\" é 日本 🙂 \\")
        #expect(VisibleText.lines(["a\nb", "c"]) == "a\\nb\nc\n")
        #expect(VisibleText.tableCell("a|b\nc") == "a\\|b\\nc")
    }
}
