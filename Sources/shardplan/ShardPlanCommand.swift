import ArgumentParser
import ShardPlan

/// The `shardplan` command: plans tensor, pipeline and data parallelism for a model on a cluster.
@main
struct ShardPlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shardplan",
        abstract: "Plan tensor, pipeline and data parallelism for training a model on a GPU cluster.",
        subcommands: [InspectCommand.self]
    )
}
