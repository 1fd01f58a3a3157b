import ArgumentParser
import ShardPlan

/// How `plan` and `score` print a plan: as a report for people, as `shardplan.plan/1` JSON, or as a
/// training framework's launch settings, to standard output or a file; and, if asked, as an HTML report.
struct PlanOutput: ParsableArguments {
    @Option(help: "Output format: text or json.")
    var format: OutputFormat = .text

    @Option(help: ArgumentHelp("Print a training framework's launch settings for the plan instead: megatron (Megatron-LM arguments), nemo (NeMo 2.0 recipe overrides) or torchtitan (a torchtitan job config, TOML). A plan the framework cannot run as it is gets the nearest layout it can, with what differs and its predicted cost.",
                               valueName: "framework"))
    var emit: TrainingFramework?

    @Option(name: .shortAndLong, help: ArgumentHelp("Write the output to this file instead of standard output.", valueName: "FILE"),
            completion: .file())
    var output: String?

    @Option(help: ArgumentHelp("Also write a report with pictures to this HTML file: the cluster and what each device holds, the pipeline timeline of one iteration, where the time goes, memory per device against capacity, and every op's sharding. One self-contained file (inline CSS and SVG, no script).",
                               valueName: "FILE.html"),
            completion: .file(extensions: ["html"]))
    var report: String?

    func validate() throws {
        if emit != nil && format == .json { throw ValidationError("--emit prints a framework's settings instead of the report; leave out --format json.") }
    }

    /// Writes the plan as asked.
    func write(_ plan: TrainingPlan, prediction: PlanPrediction) throws {
        let text: String
        if let emit {
            text = try FrameworkExport(plan: plan, prediction: prediction, framework: emit).text
        } else {
            text = format == .json ? plan.jsonText(prediction: prediction) : prediction.textReport(for: plan)
        }
        try writeOutput(text, to: output)
        if let report {
            try writeOutput(PlanReport(plan: plan, prediction: prediction).html, to: report, option: "--report")
        }
    }
}
