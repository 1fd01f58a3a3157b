import Foundation
import Testing
@testable import ShardPlan

/// Replays every published run (Docs/calibration/published-runs.json, a copy of
/// shared/data/published-runs.json) through `TrainingPlan.megatron` and `PlanEvaluator`.
@Suite("Calibration against published runs")
struct CalibrationTests {
    static let document = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Docs/calibration/published-runs.json")

    /// Issue 8's target (issue 3 asked for 10% and 25%).
    @Test("predicted iteration times are within 5% median and 15% worst of the measured ones")
    func errorsStayWithinBounds() throws {
        let text = try String(contentsOf: Self.document, encoding: .utf8)
        let report = try CalibrationReport(document: try JSONParser.parse(text))
        #expect(!report.runs.isEmpty)
        #expect(report.medianAbsoluteError <= 0.05)
        #expect(report.worstAbsoluteError <= 0.15)
    }

    @Test("plan quality of one row: the planner is no slower than the authors, and an unknown row id names --rows")
    func planQualityRows() throws {
        let document = try JSONParser.parse(try String(contentsOf: Self.document, encoding: .utf8))
        let report = try PlanQualityReport(document: document, ids: ["korthikanti22-22B-full"])
        #expect(report.entries.map(\.run.id) == ["korthikanti22-22B-full"])
        #expect(report.worstRatio <= 1)
        #expect(report.markdown.contains("| korthikanti22-22B-full |"))
        #expect { try PlanQualityReport(document: document, ids: ["no-such-run"]) } throws: { error in
            (error as? InputError)?.path == JSONPath([.key("--rows")])
        }
    }
}
