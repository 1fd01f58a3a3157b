import ArgumentParser
import Foundation
import ShardPlan

/// `shardplan calibrate RUNS`: replays published training runs and compares predicted with measured time.
struct CalibrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calibrate",
        abstract: "Replay published runs (shared/data/published-runs.json) and print predicted vs measured iteration time as Markdown."
    )

    @Argument(help: "A published-runs JSON file (Docs/calibration/published-runs.json).")
    var runs: String

    @Option(name: .shortAndLong, help: "Write the Markdown table to this file.")
    var output: String?

    @Flag(help: "Instead, search a plan for every single-stage row and compare it with the published configuration (slow).")
    var search = false

    func run() throws {
        try reportingInputErrors {
            guard let data = FileManager.default.contents(atPath: runs) else {
                throw InputError(.invalidValue, at: .root, "cannot read \(runs)")
            }
            let document = try JSONValue.parseDocument(Array(data), document: runs)
            let markdown = search ? try PlanQualityReport(document: document).markdown : try CalibrationReport(document: document).markdown
            try writeOutput(markdown, to: output)
        }
    }
}
