import ArgumentParser
import Foundation
import Testing
@testable import ShardPlan
@testable import shardplan

/// `plan` and `score` of a graph whose every weight is frozen: a training step would update nothing, and its memory
/// is not a training step's (no activations are saved), so it is refused rather than priced as training.
@Suite("A graph with nothing to train")
struct FrozenGraphCommandTests {
    /// Besides every weight frozen: a trainable weight no op reads, or an integer one, carries no gradient and does
    /// not make the graph trainable.
    @Test("plan and score refuse a graph whose every parameter an op reads is frozen, exit 1",
          arguments: ["plan", "score"], ["", "f32", "i32"])
    func everyParameterFrozen(command: String, extraTrainable: String) throws {
        let graph = try ModelCatalog.model(id: "gpt-tiny")!.build()
        guard case .object(var top) = graph.json, case .array(let parameters)? = top["parameters"] else {
            Issue.record("no parameters"); return
        }
        top["parameters"] = .array(parameters.map { entry in
            guard case .object(var object) = entry else { return entry }
            object["trainable"] = .bool(false)
            return .object(object)
        } + (extraTrainable.isEmpty ? [] : [.object(JSONObject([("name", .string("unread")), ("shape", .array([.number(4)])),
                                                                 ("dtype", .string(extraTrainable))]))]))
        let path = Repository.temporaryFile("all-frozen.json")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try JSONWriter(inlineDepth: 2, lineWidth: 100).render(.object(top)).write(toFile: path, atomically: true, encoding: .utf8)
        var parsed = try ShardPlanCommand.parseAsRoot([command, path, "--cluster", "dgx-a100-80g"] + (command == "score" ? ["--tp", "1", "--pp", "1"] : []))
        #expect(throws: ExitCode.failure) { try parsed.run() }
    }

    /// A graph with no parameter at all, or whose only parameter no op reads, trains nothing either: refused with
    /// the reason, not as if some weight were frozen.
    @Test("a graph with no weight an op reads is refused, naming why", arguments: [
        ("[]", "it has no parameters"),
        (#"[{"name": "w", "shape": [8, 8], "dtype": "bf16"}]"#, "none of its 1 parameter is a floating-point weight an op reads"),
    ])
    func nothingReadToTrain(parameters: String, reason: String) throws {
        let text = #"{"format": "shardplan.graph/1", "name": "untrained", "inputs": [{"name": "x", "shape": [8, 8], "dtype": "bf16"}], "parameters": "#
            + parameters
            + #", "ops": [{"name": "h", "op": "exp", "inputs": ["x"]}, {"name": "loss", "op": "reduce", "kind": "mean", "axes": [0, 1], "inputs": ["h"]}], "outputs": ["loss"]}"#
        let path = Repository.temporaryFile("untrained.json")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let input = try ModelAndCluster.parse([path, "--cluster", "dgx-a100-80g"])
        var clock = CommandClock(enabled: false)
        do {
            _ = try input.load(&clock)
            Issue.record("loaded a graph with nothing to train")
        } catch let error as InputError {
            #expect(error.description.contains(reason), "\(error.description)")
            #expect(!error.description.contains("frozen"), "\(error.description)")
        }
    }
}
