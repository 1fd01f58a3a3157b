import ArgumentParser
import Foundation
import ShardPlan

/// `shardplan rewrite GRAPH --rule NAME ...`: apply graph substitutions wherever they match.
struct RewriteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rewrite",
        abstract: "Apply graph rewrite rules wherever they match, and print what changed.",
        discussion: "Each --rule is applied in turn, once, at every place it matches the graph the rules before it left. Without GRAPH and --rule, lists the rules. JSON output (shardplan.rewrites/1) holds each rewrite as a plan records it and the rewritten graph. Docs/rewrites.md describes the rules; plan --rewrites chooses them by cost."
    )

    @Argument(help: "A shardplan.graph/1 file, or - for standard input.")
    var graph: String?

    @Option(name: .customLong("rule"), help: ArgumentHelp("A rule to apply, as NAME or NAME:ALTERNATIVE with ALTERNATIVE 0, 1, ... (repeat for several; `shardplan rewrite` alone lists them).",
                                                          valueName: "NAME[:ALTERNATIVE]"))
    var rules: [RuleChoice] = []

    @Option(help: "Output format: text, or json (shardplan.rewrites/1).")
    var format: OutputFormat = .text

    @Option(name: .shortAndLong, help: ArgumentHelp("Write the output to this file instead of standard output.", valueName: "FILE"),
            completion: .file())
    var output: String?

    func validate() throws {
        if graph != nil && rules.isEmpty { throw ValidationError("Give --rule NAME to rewrite the graph; without GRAPH and --rule, rewrite lists the rules.") }
        if graph == nil && !rules.isEmpty { throw ValidationError("--rule rewrites a graph; give GRAPH (a file, or - for standard input).") }
        if graph == nil && format == .json { throw ValidationError("--format json writes a rewritten graph (shardplan.rewrites/1); give GRAPH and --rule, or leave it out to list the rules.") }
        try refuseOverwriting([("-o/--output", output)], inputs: [("graph", graph)])
    }

    func run() throws {
        try reportingInputErrors {
            try checkWritable(output, option: "--output")
            guard let graph else {
                try writeOutput(RewriteCatalog.rules.map { "\($0.name)  (\($0.family.rawValue))\n    \($0.summary)" }
                    .joined(separator: "\n") + "\n", to: output)
                return
            }
            let original = try GraphLoading(graph).graph
            let (rewritten, applied) = try original.rewritingEverywhere(with: rules.map { ($0.rule, $0.choice) })
            switch format {
            case .json:
                let document = JSONValue.object(JSONObject([
                    ("format", "shardplan.rewrites/1"), ("graph", .string(original.name)), ("rules", .strings(rules.map(\.text))),
                    ("rewrites", .array(applied.map(\.json))), ("rewritten_graph", rewritten.json),
                ]))
                try writeOutput(JSONWriter(inlineDepth: 3, lineWidth: 100).render(document), to: output)
            case .text:
                var lines = ["\(original.name): \(applied.count) rewrite\(applied.count == 1 ? "" : "s"), \(original.operations.count) ops -> \(rewritten.operations.count), \(original.parameters.count) parameters -> \(rewritten.parameters.count)"]
                for rewrite in applied {
                    lines.append("  \(rewrite.rule) at \(rewrite.anchors.joined(separator: ", "))"
                                 + (rewrite.choice > 0 ? " (choice \(rewrite.choice))" : "")
                                 + ": -\(rewrite.removedOperations.count) +\(rewrite.addedOperations.count) ops")
                }
                try writeOutput(VisibleText.lines(lines), to: output)
            }
        }
    }
}
