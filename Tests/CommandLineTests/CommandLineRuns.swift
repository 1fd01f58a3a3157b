import ArgumentParser
import Foundation
import ShardPlan
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

/// The message `score` refuses `arguments` with, or nil when they parse.
func scoreRefusal(_ arguments: [String]) -> String? {
    do {
        _ = try ScoreCommand.parse(arguments)
        return nil
    } catch {
        return ScoreCommand.message(for: error)
    }
}

/// What `shardplan score Models/gpt-tiny.json --cluster dgx-a100-80g` with `arguments` writes to `-o`.
func scoredTinyGPT(_ arguments: [String]) throws -> String {
    let output = Repository.temporaryFile("score.txt")
    defer { try? FileManager.default.removeItem(atPath: output) }
    var command = try ShardPlanCommand.parseAsRoot(["score", Repository.path("Models/gpt-tiny.json"), "--cluster", "dgx-a100-80g"]
                                                   + arguments + ["-o", output])
    try command.run()
    return try String(contentsOfFile: output, encoding: .utf8)
}

/// The top-level members of the JSON document at `path`.
func members(_ path: String) throws -> JSONObject {
    guard case .object(let object) = try JSONParser.parse(try String(contentsOfFile: path, encoding: .utf8)) else {
        throw InputError(.wrongType, at: .root, "\(path) does not hold a JSON object")
    }
    return object
}
