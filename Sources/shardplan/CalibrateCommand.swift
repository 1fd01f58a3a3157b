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

    @Flag(help: "Instead, plan every row's devices and compare the plan with the published configuration (slow: minutes).")
    var search = false

    @Option(help: "With --search, only these rows (comma-separated ids).")
    var rows: String?

    func run() throws {
        try reportingInputErrors {
            guard let data = FileManager.default.contents(atPath: runs) else {
                throw InputError(.invalidValue, at: .root, "cannot read \(runs)")
            }
            let document = try JSONValue.parseDocument(Array(data), document: runs)
            let ids = rows.map { Set($0.split(separator: ",").map(String.init)) }
            let interactive = isatty(STDERR_FILENO) != 0
            let markdown = search
                ? try PlanQualityReport(document: document, ids: ids) { id in if interactive { printError("shardplan: planning \(id)") } }.markdown
                : try CalibrationReport(document: document).markdown
            try writeOutput(markdown, to: output)
        }
    }
}
