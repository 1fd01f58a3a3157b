import ArgumentParser
import Foundation
import ShardPlan

/// `shardplan inspect GRAPH`: what a graph holds and what it asks of the hardware.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show a graph's parameters, FLOPs, activation bytes, ops by kind and layers.",
        discussion: "FLOPs are for one training iteration of the graph's global batch, and per sample; Docs/analysis.md gives every counting rule and the JSON fields."
    )

    @Argument(help: "A shardplan.graph/1 file, or - for standard input.")
    var graph: String

    @Option(help: "text for people, json (shardplan.analysis/1) for programs.")
    var format: OutputFormat = .text

    @Flag(help: "Print the seconds spent decoding, validating and analysing to standard error.")
    var timings = false

    func run() throws {
        try reportingInputErrors {
            let loading = try GraphLoading(graph)
            let clock = ContinuousClock()
            let start = clock.now
            let analysis = GraphAnalysis(loading.graph)
            let analyseSeconds = GraphLoading.seconds(clock.now - start)
            switch format {
            case .text: try writeOutput(analysis.textReport, to: nil)
            case .json: try writeOutput(JSONWriter().render(analysis.json), to: nil)
            }
            if timings {
                for (phase, seconds) in [("decode", loading.decodeSeconds), ("validate", loading.validateSeconds),
                                         ("analyse", analyseSeconds)] {
                    printError("timing: " + phase.padding(toLength: 9, withPad: " ", startingAt: 0) + String(format: "%8.3f s", seconds))
                }
            }
        }
    }
}
