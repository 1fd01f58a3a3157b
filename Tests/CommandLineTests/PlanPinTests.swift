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

    /// Runs `plan GRAPH --cluster dgx-a100-80g:1 ARGUMENTS --format json` (gpt-tiny, moe-tiny and llama-tiny plan in
    /// seconds there) and returns the written plan's summary.
    private func plannedSummary(_ graph: String, _ arguments: [String]) throws -> String {
        let output = Repository.temporaryFile("pinned-summary.json")
        defer { try? FileManager.default.removeItem(atPath: output) }
        var command = try ShardPlanCommand.parseAsRoot(["plan", graph, "--cluster", "dgx-a100-80g:1", "--rewrites", "none"]
                                                       + arguments + ["--format", "json", "-o", output])
        try command.run()
        let document = try JSONParser.parse(try String(contentsOfFile: output, encoding: .utf8))
        guard case .object(let top) = document, case .string(let summary)? = top["summary"] else { throw ValidationError("the plan written has no summary") }
        return summary
    }

    /// gpt-tiny on one DGX A100 with tp = pp = 2 pinned, written as Megatron-LM and torchtitan settings: the settings
    /// carry both degrees, whether the searched plan's nearest layout keeps them or the fastest grid configuration
    /// that does stands in for it (`FrameworkExport.choosing(pins:)`), and the command succeeds.
    @Test("--emit megatron and torchtitan write settings with the pinned tp and pp", arguments: [
        ("megatron", ["--tensor-model-parallel-size 2 ", "--pipeline-model-parallel-size 2 "]),
        ("torchtitan", ["tensor_parallel_degree = 2\n", "pipeline_parallel_degree = 2\n"]),
    ])
    func emittedSettingsKeepPins(framework: String, lines: [String]) throws {
        let output = Repository.temporaryFile("pinned-\(framework).txt")
        defer { try? FileManager.default.removeItem(atPath: output) }
        var command = try ShardPlanCommand.parseAsRoot(["plan", Repository.path("Models/gpt-tiny.json"), "--cluster", "dgx-a100-80g:1",
                                                        "--tp", "2", "--pp", "2", "--rewrites", "none", "--emit", framework, "-o", output])
        try command.run()
        let text = try String(contentsOfFile: output, encoding: .utf8)
        for line in lines { #expect(text.contains(line), "\(line) in \(text.prefix(1200))") }
    }

    /// moe-tiny's 8 experts on 8 GPUs: a pinned expert-parallel degree is the answer's ("ep=N" in its summary, with
    /// the pinned tp where one is given: ep = 8 beside tp = 2 spreads the experts over the tensor-parallel ranks too,
    /// Megatron-LM's expert tensor parallelism of 1).
    @Test("--ep on moe-tiny: the answer's summary has the pinned degree", arguments: [
        (["--ep", "2"], "ep=2"), (["--ep", "4"], "ep=4"), (["--ep", "8"], "ep=8"), (["--tp", "2", "--ep", "8"], "ep=8"),
    ])
    func expertParallelPinned(arguments: [String], degree: String) throws {
        let summary = try plannedSummary(Repository.path("Models/moe-tiny.json"), arguments)
        #expect(summary.split(separator: " ").contains(Substring(degree)), "\(summary)")
        if arguments.first == "--tp" { #expect(summary.hasPrefix("tp=2 "), "\(summary)") }
    }

    /// Context parallelism pinned on gpt-tiny's 32 tokens (cp = 2 cuts them into 4 chunks of 8) and on llama-tiny
    /// rebuilt at 16,384 tokens and 2 samples (`models --seq-length --batch`, where the stage DP also searches the
    /// `[dp, cp, tp]` views): the answer has the pinned degree ("cp=N" in its summary).
    @Test("--cp on a short and a long sequence: the answer's summary has the pinned degree")
    func contextParallelPinned() throws {
        let short = try plannedSummary(Repository.path("Models/gpt-tiny.json"), ["--cp", "2"])
        #expect(short.split(separator: " ").contains("cp=2"), "\(short)")
        let graph = Repository.temporaryFile("llama-tiny-16k.json")
        defer { try? FileManager.default.removeItem(atPath: graph) }
        var models = try ShardPlanCommand.parseAsRoot(["models", "llama-tiny", "--seq-length", "16384", "--batch", "2", "-o", graph])
        try models.run()
        let long = try plannedSummary(graph, ["--cp", "4", "--microbatches", "1"])
        #expect(long.split(separator: " ").contains("cp=4"), "\(long)")
    }

    /// ep and cp pins no plan keeps: 3 ranks do not divide moe-tiny's 8 experts, 8 expert-parallel ranks in each of
    /// 2 pipeline stages need 16 GPUs, and 3 context-parallel ranks do not divide the 8 GPUs.
    @Test("ep and cp pins that nothing keeps exit 1 and write no file", arguments: [
        ("Models/moe-tiny.json", ["--ep", "3"]), ("Models/moe-tiny.json", ["--pp", "2", "--ep", "8"]), ("Models/gpt-tiny.json", ["--cp", "3"]),
    ])
    func unkeptExpertAndContextPins(graph: String, arguments: [String]) throws {
        let output = Repository.temporaryFile("pinned-failure.json")
        defer { try? FileManager.default.removeItem(atPath: output) }
        var command = try ShardPlanCommand.parseAsRoot(["plan", Repository.path(graph), "--cluster", "dgx-a100-80g:1", "--rewrites", "none"]
                                                       + arguments + ["-o", output])
        #expect(throws: ExitCode.failure) { try command.run() }
        #expect(!FileManager.default.fileExists(atPath: output))
    }
}
