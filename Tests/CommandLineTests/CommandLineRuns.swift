import ArgumentParser
@testable import shardplan

/// The exit code `shardplan` ends with when parsing `arguments` fails (a usage error is 2), or nil when they parse.
func exitCode(_ arguments: [String]) -> Int32? {
    do {
        _ = try ShardPlanCommand.parseAsRoot(arguments)
        return nil
    } catch {
        let code = ShardPlanCommand.exitCode(for: error)
        return code == .validationFailure ? ShardPlanCommand.usageErrorCode.rawValue : code.rawValue
    }
}
