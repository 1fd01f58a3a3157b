import ArgumentParser

/// How `plan` and `score` print a plan: as a report for people or as `shardplan.plan/1` JSON, to standard
/// output or a file.
struct PlanOutput: ParsableArguments {
    @Option(help: "Output format: text or json.")
    var format: OutputFormat = .text

    @Option(name: .shortAndLong, help: ArgumentHelp("Write the output to this file instead of standard output.", valueName: "FILE"),
            completion: .file())
    var output: String?
}
