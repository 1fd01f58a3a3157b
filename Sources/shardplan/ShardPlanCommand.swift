import ArgumentParser
import Foundation
import ShardPlan

/// The `shardplan` command: plans tensor, pipeline and data parallelism for a model on a cluster.
@main
struct ShardPlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shardplan",
        abstract: "Plan tensor, pipeline and data parallelism for training a model on a GPU cluster.",
        subcommands: [InspectCommand.self, PlanCommand.self, ScoreCommand.self, RewriteCommand.self, CalibrateCommand.self, ClustersCommand.self, ModelsCommand.self]
    )

    static func main() {
        // A file-size limit (`ulimit -f`) then fails the write with EFBIG, an error at the option that leaves no
        // temporary file, rather than killing the process.
        signal(SIGXFSZ, SIG_IGN)
        StagedFileCleanup.installHandlers()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            guard exitCode(for: error) == .validationFailure else { exit(withError: error) }
            printError(fullMessage(for: error))
            exit(withError: usageErrorCode)
        }
    }

    /// Usage errors exit with code 2 (SPEC section 3), not ArgumentParser's EX_USAGE (64).
    static let usageErrorCode = ExitCode(2)
}
