import ArgumentParser
import Foundation
import ShardPlan

/// How `plan` and `score` print a plan: as a report for people, as `shardplan.plan/1` JSON, or as a
/// training framework's launch settings, to standard output or a file; and, if asked, as an HTML report.
struct PlanOutput: ParsableArguments {
    @Option(help: "Output format: text or json.")
    var format: OutputFormat = .text

    @Option(help: ArgumentHelp("Print a training framework's launch settings for the plan instead: megatron (Megatron-LM arguments), nemo (NeMo 2.0 recipe overrides), megatron-bridge (a Python apply_plan(cfg) for a Megatron-Bridge recipe's ConfigContainer) or torchtitan (a torchtitan job config, TOML). A plan the framework cannot run as it is gets the nearest layout it can, with what differs and its predicted cost; plan writes instead the fastest Megatron-LM configuration it priced where that layout does not fit or is slower, and fails (exit code 1) rather than write settings that do not fit or run.",
                               valueName: "framework"))
    var emit: TrainingFramework?

    @Option(name: .shortAndLong, help: ArgumentHelp("Write the output to this file instead of standard output.", valueName: "FILE"),
            completion: .file())
    var output: String?

    @Option(help: ArgumentHelp("Also write a report with pictures to this HTML file: the cluster and what each device holds, the pipeline timeline of one iteration, where the time goes, memory per device against capacity, and every op's sharding. One self-contained file (inline CSS and SVG, no script). With -o FILE, --report - writes it to standard output.",
                               valueName: "FILE.html"),
            completion: .file(extensions: ["html"]))
    var report: String?

    @Option(help: ArgumentHelp("Also print how far the cost model was from the measured runs in this file that are most like the plan: a published-runs file, the repository's Docs/calibration/published-runs.json or your own runs in its format (Docs/calibration.md). With --format json or --emit, on standard error.",
                               valueName: "RUNS.json"),
            completion: .file(extensions: ["json"]))
    var evidence: String?

    func validate() throws {
        if emit != nil && format == .json { throw ValidationError("--emit prints a framework's settings instead of the report; leave out --format json.") }
        if evidence == "-" { throw ValidationError("--evidence reads a file of measured runs, not standard input.") }
        if let report, namesSameFile(output ?? "-", report) {
            guard writesTo(report) != "descriptor 1" else {
                throw ValidationError(output == nil
                    ? "--report \(report) writes to standard output, where the plan goes without -o/--output; give --report a file, or -o one for the plan."
                    : "-o/--output and --report \(report) both write to standard output, one after the other; give -o or --report a file.")
            }
            throw ValidationError("-o/--output and --report both name \(report); one would overwrite the other, so give each its own file.")
        }
    }

    /// Refuses an `-o` or `--report` file that is one of the files the command reads (`inputs`: what each is, and
    /// its path where it is a file; the runs of `--evidence` are added here): the report would replace the graph,
    /// cluster, plan or runs it was made from.
    func refuseOverwriting(_ inputs: [(what: String, path: String?)]) throws {
        try shardplan.refuseOverwriting([("-o/--output", output), ("--report", report)],
                                        inputs: inputs + [("runs file of --evidence", evidence)])
    }

    /// Refuses `-o` and `--report` paths that cannot be written, before the command searches or scores.
    func checkDestinations() throws {
        try checkWritable(output, option: "--output")
        try checkWritable(report, option: "--report")
    }

    /// The runs of `--evidence` replayed, or nil without it: read before the search, so that a bad file stops
    /// the command before it plans.
    func evidenceRuns() throws -> [CalibrationRun]? {
        guard let evidence else { return nil }
        let document = try GraphLoading.document(evidence, what: "runs")
        do throws(InputError) {
            guard !CollectiveCalibrationReport.holdsCollectives(document) else {
                throw InputError(.invalidValue, at: .root, "--evidence compares with measured training runs; this file holds collective benchmarks")
            }
            guard !AttentionCalibrationReport.holdsAttention(document) else {
                throw InputError(.invalidValue, at: .root, "--evidence compares with measured training runs; this file holds attention measurements")
            }
            return try warningOfMisspellings(in: evidence) { () throws(InputError) in try CalibrationReport(document: document, source: evidence).runs }
        } catch {
            throw error.inDocument(evidence)
        }
    }

    /// Writes the plan as asked, with the evidence of `evidenceRuns` (from `evidenceRuns()`) where given. With
    /// --emit, the fastest of `alternatives` (the Megatron-LM grid's fastest configuration, the stage DP's other
    /// plans) whose settings fit and run is written instead where the plan's nearest layout in the framework does
    /// not fit, cannot run or is slower (`FrameworkExport.choosing`); the report and the evidence are of the settings
    /// written (`FrameworkExport.settingsPlan`, the nearest layout where the framework changes the plan);
    /// where none does, those of `moreAlternatives`, and where `requiresFit` (`plan`) and none of those does either,
    /// nothing is written and the command fails. `searchNote` says in the settings' header how the search departed
    /// from `plan` alone. With --emit, settings whose layout breaks one of `pins` are passed over for the fastest
    /// alternative that keeps them (`FrameworkExport.choosing`); a plan to be written that breaks one all the same
    /// (the search keeps them, so none should) is an `InputError` naming the pin, and nothing is written. Returns the
    /// plan chosen (the searched one or the alternative), before the framework's changes.
    @discardableResult
    func write(_ plan: TrainingPlan, prediction: PlanPrediction, alternatives: [FrameworkExport.Alternative] = [],
               moreAlternatives: (() -> [FrameworkExport.Alternative])? = nil, requiresFit: Bool = false,
               searchNote: String? = nil, evidenceRuns: [CalibrationRun]? = nil, pins: ParallelPins = ParallelPins()) throws -> TrainingPlan {
        var text: String
        var (plan, prediction) = (plan, prediction)
        var written = plan
        if let emit {
            let chosen = try FrameworkExport.choosing(plan, prediction: prediction, alternatives: alternatives, moreAlternatives: moreAlternatives,
                                                     requiresFit: requiresFit, framework: emit, searchNote: searchNote, pins: pins)
            text = chosen.export.text
            // The report and the evidence describe what is written: the nearest layout where the framework changes the plan.
            (plan, prediction) = (chosen.export.settingsPlan, chosen.export.prediction)
            written = chosen.plan
        } else {
            text = format == .json ? plan.jsonText(prediction: prediction) : prediction.textReport(for: plan)
        }
        if let breach = pins.breach(of: plan) {
            throw InputError(.invalidValue, at: JSONPath([.key(String(breach.prefix { $0 != " " }))]),
                             "the plan \(emit.map { "\($0.displayName)'s settings describe" } ?? "found") breaks \(breach); nothing is written")
        }
        if let evidence, let evidenceRuns {
            let report = CalibrationEvidence(plan: plan, runs: evidenceRuns).textReport(source: evidence, predictedSeconds: prediction.iterationSeconds)
            if emit == nil && format == .text { text += "\n" + report } else { printError(String(report.dropLast())) }
        }
        // Both or neither: a report that cannot be written leaves no -o file behind.
        try writeOutputs([(text, output, "--output")]
                         + (report.map { [(PlanReport(plan: plan, prediction: prediction).html, $0, "--report")] } ?? []))
        return written
    }
}
