import Foundation
import Testing
@testable import ShardPlan

/// Rows of the repository's published runs (Docs/calibration/published-runs.json), for tests that replay one alone
/// or edit one and expect the edit refused.
enum PublishedRowFixtures {
    /// The row `id`, with every row of the document and the row's index among them.
    static func row(_ id: String) throws -> (rows: [JSONValue], index: Int, row: JSONObject) {
        guard case .object(let top) = try JSONParser.parse(try String(contentsOf: CalibrationTests.document, encoding: .utf8)),
              case .array(let rows)? = top["rows"],
              let index = rows.firstIndex(where: { if case .object(let row) = $0 { row["id"] == .string(id) } else { false } }),
              case .object(let row) = rows[index] else { throw InputError(.invalidValue, at: .root, "no row \(id)") }
        return (rows, index, row)
    }

    /// `row` replayed alone.
    static func replayed(_ row: JSONObject) throws -> CalibrationRun {
        let runs = try PublishedRun.rows(in: .object(JSONObject([("rows", .array([.object(row)]))]))).runs
        return try CalibrationRun(try #require(runs.first))
    }

    /// What replaying `edited` (renamed "edited") after `row` throws: an edited row is refused at `rows[1]`.
    static func refusal(of edited: JSONObject, after row: JSONValue) -> InputError? {
        var renamed = edited
        renamed["id"] = .string("edited")
        let document = JSONValue.object(JSONObject([("rows", .array([row, .object(renamed)]))]))
        return #expect(throws: InputError.self) { try CalibrationReport(document: document) }
    }
}
