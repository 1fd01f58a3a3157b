import Foundation
import Testing
@testable import shardplan

/// `--report` beside `--emit` describes the settings written: where the framework changes the plan, the nearest layout
/// it runs and that layout's prediction, not the plan's (QA found `plan --emit torchtitan` reporting a ZeRO-1 plan at
/// 330 ms beside ZeRO-2 settings predicted at 343 ms).
@Suite("--report beside --emit")
struct EmittedReportTests {
    /// GPT-tiny on a DGX A100 under ZeRO-1, which torchtitan runs as ZeRO-2 (with its fp32 weights and reductions):
    /// the header predicts 1.57 ms against the plan's 1.15 ms, and the report says 1.57 ms and zero=2.
    @Test("score --emit torchtitan --report: the report is of the ZeRO-2 settings written, not the ZeRO-1 plan")
    func reportDescribesTheSettings() throws {
        let output = Repository.temporaryFile("emitted.toml"), report = Repository.temporaryFile("emitted.html")
        defer { for file in [output, report] { try? FileManager.default.removeItem(atPath: file) } }
        var command = try ShardPlanCommand.parseAsRoot(["score", Repository.path("Models/gpt-tiny.json"), "--cluster", "dgx-a100-80g",
                                                        "--tp", "1", "--pp", "1", "--zero", "1", "--emit", "torchtitan",
                                                        "-o", output, "--report", report])
        try command.run()
        let settings = try String(contentsOfFile: output, encoding: .utf8), html = try String(contentsOfFile: report, encoding: .utf8)
        let predicted = try #require(settings.firstMatch(of: /Predicted for these settings: ([0-9.]+ ms) per iteration/)).output.1
        let planned = try #require(settings.firstMatch(of: /against the plan's ([0-9.]+ ms)/)).output.1
        #expect(predicted != planned)
        #expect(html.contains("<div class=\"value\">\(predicted)"))
        #expect(!html.contains("<div class=\"value\">\(planned)"))
        #expect(html.contains("zero=2") && !html.contains("zero=1"))
    }
}
