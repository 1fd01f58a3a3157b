import ArgumentParser
import Foundation
import Testing
import ShardPlan
@testable import shardplan

@Suite("plan --tp/--pp/--dp/--cp/--ep")
struct PlanPinTests {
    @Test("a degree that is not a positive integer, or --pp beyond --stages, is a usage error (exit 2)", arguments: [
        ["--tp", "0"], ["--pp", "-1"], ["--dp", "x"], ["--cp", "0"], ["--ep", "1.5"],
        ["--pp", "2", "--stages", "1"], ["--pp", "4", "--stages", "2"],
    ])
    func usageErrors(arguments: [String]) {
        #expect(exitCode(["plan", "g.json", "--cluster", "c"] + arguments) == 2)
    }

    @Test("pins parse into ParallelPins, beside --stages that allows them")
    func parsed() throws {
        #expect(exitCode(["plan", "g.json", "--cluster", "c", "--tp", "8", "--pp", "2", "--stages", "2"]) == nil)
        let command = try PlanCommand.parse(["g.json", "--cluster", "c", "--tp", "8", "--dp", "4", "--cp", "2", "--ep", "8"])
        #expect(command.pins == ParallelPins(tensorParallel: 8, dataParallel: 4, contextParallel: 2, expertParallel: 8))
    }

    /// gpt-tiny on one DGX A100 with tp = pp = 2 pinned: the JSON plan's summary has both degrees; --ep on a model
    /// without experts changes nothing (a note) and the plan is still written.
    @Test("the written plan keeps the pins; --ep without experts changes nothing")
    func pinnedPlanWritten() throws {
        let output = Repository.temporaryFile("pinned.json")
        defer { try? FileManager.default.removeItem(atPath: output) }
        var command = try ShardPlanCommand.parseAsRoot(["plan", Repository.path("Models/gpt-tiny.json"), "--cluster", "dgx-a100-80g:1",
                                                        "--tp", "2", "--pp", "2", "--ep", "2", "--microbatches", "2", "--rewrites", "none",
                                                        "--format", "json", "-o", output])
        try command.run()
        let text = try String(contentsOfFile: output, encoding: .utf8)
        #expect(text.contains("tp=2") && text.contains("pp=2"), "\(text.prefix(400))")
    }

    /// Pins gpt-tiny or the cluster cannot lay out, and pins no plan fits under, exit 1 and write no file.
    @Test("pins that cannot be laid out, or that nothing fits under, exit 1 and write no file", arguments: [
        ["--tp", "8"], ["--tp", "16"], ["--tp", "2", "--pp", "2", "--dp", "4"],
        ["--tp", "2", "--pp", "2", "--memory-limit", "3.0001", "--microbatches", "2", "--rewrites", "none"],
    ])
    func failures(arguments: [String]) throws {
        let output = Repository.temporaryFile("pinned-failure.txt")
        defer { try? FileManager.default.removeItem(atPath: output) }
        var command = try ShardPlanCommand.parseAsRoot(["plan", Repository.path("Models/gpt-tiny.json"), "--cluster", "dgx-a100-80g:1"]
                                                       + arguments + ["-o", output])
        #expect(throws: ExitCode.failure) { try command.run() }
        #expect(!FileManager.default.fileExists(atPath: output))
    }
}
