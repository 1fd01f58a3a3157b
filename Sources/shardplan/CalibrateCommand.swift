import ArgumentParser
import Foundation
import ShardPlan

/// `shardplan calibrate RUNS`: replays published training runs and compares predicted with measured time.
struct CalibrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calibrate",
        abstract: "Replay published runs (Docs/calibration/published-runs.json), collective benchmarks (Docs/calibration/nccl-tests.json) or attention-kernel measurements and print predicted vs measured time as Markdown.",
        discussion: "The repository's table is `shardplan calibrate Docs/calibration/published-runs.json -o Docs/calibration.md`; with --search, `-o Docs/plan-quality.md`. A file of nccl-tests measurements (`measurements` instead of `rows`) replays each through the collective model: `shardplan calibrate Docs/calibration/nccl-tests.json -o Docs/calibration/nccl-tests.md`. A file of attention-kernel timings (`attention_measurements`, as Examples/gpu/measure.py writes them) replays each through the kernel model."
    )

    @Argument(help: "A published-runs JSON file (the repository's is Docs/calibration/published-runs.json), a collective-benchmarks file (Docs/calibration/nccl-tests.json) or an attention-measurements file.",
              completion: .file(extensions: ["json"]))
    var runs: String

    @Option(name: .shortAndLong, help: "Write the Markdown table to this file.", completion: .file(extensions: ["md"]))
    var output: String?

    @Flag(help: "Instead, plan every row's devices and compare the plan with the published configuration (slow: minutes).")
    var search = false

    @Option(help: ArgumentHelp("With --search, only these rows.", valueName: "ID,..."))
    var rows: RowSelection?

    func validate() throws {
        if rows != nil && !search { throw ValidationError("--rows chooses the rows --search plans; add --search.") }
        try refuseOverwriting([("-o/--output", output)], inputs: [("runs file", runs)])
    }

    func run() throws {
        try reportingInputErrors {
            try checkWritable(output, option: "--output")
            let document = try GraphLoading.document(runs, what: "runs file")
            let markdown: String
            do {
                markdown = try warningOfMisspellings(in: GraphLoading.documentName(runs)) { try report(document) }
            } catch let error as InputError {
                throw error.inDocument(GraphLoading.documentName(runs))
            }
            try writeOutput(markdown, to: output)
        }
    }

    /// The Markdown report of `document`: its collective benchmarks replayed, its training runs replayed, or with
    /// `--search` its training runs planned.
    private func report(_ document: JSONValue) throws -> String {
        // One kind a file: which to replay is otherwise a guess, and the others would go unread.
        if case .object(let members) = document {
            let kinds = ["rows", "measurements", "attention_measurements"].filter { members[$0].map { $0 != .null } ?? false }
            guard kinds.count <= 1 else {
                throw InputError(.invalidValue, at: .root, "the file holds \(kinds.joined(separator: " and ")); a calibration file holds one kind: "
                                 + "training runs (rows), collective benchmarks (measurements) or attention kernels (attention_measurements)")
            }
        }
        if AttentionCalibrationReport.holdsAttention(document) {
            guard !search else {
                throw InputError(.invalidValue, at: .root, "--search plans training runs; this file holds attention measurements")
            }
            return try AttentionCalibrationReport(document: document, source: runs).markdown
        }
        if CollectiveCalibrationReport.holdsCollectives(document) {
            guard !search else {
                throw InputError(.invalidValue, at: .root, "--search plans training runs; this file holds collective benchmarks")
            }
            return try CollectiveCalibrationReport(document: document, source: runs).markdown
        }
        guard search else { return try CalibrationReport(document: document, source: runs).markdown }
        let rowCount = try rows?.ids.count ?? PublishedRun.rows(in: document).runs.count
        let progressLine = ProgressLine.onTerminal(for: "planning the published runs")
        progressLine?.startTicking()
        defer { progressLine?.finish() }
        var planned = 0
        return try PlanQualityReport(document: document, ids: rows?.ids, source: runs) { id in
            progressLine?.update(SearchProgress(phase: id, completedSteps: planned, totalSteps: rowCount))
            planned += 1
        }.markdown
    }
}
