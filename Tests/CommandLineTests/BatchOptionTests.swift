import ArgumentParser
import Foundation
import ShardPlan
import Testing
@testable import shardplan

@Suite("--batch plans and scores the graph at another global batch, and score --plan replays it")
struct BatchOptionTests {
    @Test("--batch takes at least 1 sample (exit 2 otherwise), and score --plan refuses it: the plan sets its own batch")
    func usage() {
        #expect(exitCode(["plan", "g.json", "--cluster", "c", "--batch", "16"]) == nil)
        #expect(exitCode(["score", "g.json", "--cluster", "c", "--tp", "2", "--pp", "1", "--batch", "16"]) == nil)
        for value in ["0", "-4", "many"] {
            #expect(exitCode(["plan", "g.json", "--cluster", "c", "--batch", value]) == 2, "--batch \(value)")
            #expect(exitCode(["score", "g.json", "--cluster", "c", "--tp", "2", "--pp", "1", "--batch", value]) == 2, "--batch \(value)")
        }
        #expect(exitCode(["score", "g.json", "--cluster", "c", "--plan", "p.json", "--batch", "16"]) == 2)
    }

    @Test("plan --batch 16 of gpt-tiny (batch 8) writes global_batch 16, and score --plan of it with gpt-tiny.json predicts the same")
    func planAndReplay() throws {
        let plan = Repository.temporaryFile("batch16.json"), score = Repository.temporaryFile("batch16-score.json")
        defer { for path in [plan, score] { try? FileManager.default.removeItem(atPath: path) } }
        let graph = Repository.path("Models/gpt-tiny.json")
        var planning = try ShardPlanCommand.parseAsRoot(["plan", graph, "--cluster", "dgx-a100-80g:1", "--batch", "16", "--stages", "1",
                                                         "--mesh", "2x4", "--format", "json", "-o", plan])
        try planning.run()
        let planned = try members(plan)
        #expect(planned["global_batch"] == .int(16))
        #expect(planned["rebatched_from"] == .int(8))
        var scoring = try ShardPlanCommand.parseAsRoot(["score", graph, "--cluster", "dgx-a100-80g:1", "--plan", plan, "--format", "json", "-o", score])
        try scoring.run()
        let scored = try members(score)
        #expect(scored["global_batch"] == .int(16))
        #expect(scored["predicted"] == planned["predicted"])
    }

    /// QA: plan could not price the overlaps Megatron-Core's Hopper recipes turn on, which score priced; the plan it
    /// writes carries them, and score --plan of it predicts the same.
    @Test("plan --overlap-grad-reduce --overlap-tp-comm writes both overlaps into the plan, which score --plan replays")
    func planWithOverlaps() throws {
        let plan = Repository.temporaryFile("overlap-plan.json"), score = Repository.temporaryFile("overlap-score.json")
        defer { for path in [plan, score] { try? FileManager.default.removeItem(atPath: path) } }
        let graph = Repository.path("Models/gpt-tiny.json")
        // At 256 sequences the plan splits the model over tensor-parallel ranks (at gpt-tiny's own 8 it replicates it).
        var planning = try ShardPlanCommand.parseAsRoot(["plan", graph, "--cluster", "dgx-h100", "--batch", "256", "--stages", "1", "--mesh", "2x4",
                                                         "--overlap-grad-reduce", "--overlap-tp-comm", "--format", "json", "-o", plan])
        try planning.run()
        let planned = try members(plan)
        guard case .object(let options)? = planned["options"] else { Issue.record("no options"); return }
        #expect(options["overlap_gradient_reduction"] == .bool(true))
        #expect(options["overlap_tensor_parallel_communication"] == .bool(true))
        var scoring = try ShardPlanCommand.parseAsRoot(["score", graph, "--cluster", "dgx-h100", "--plan", plan, "--format", "json", "-o", score])
        try scoring.run()
        #expect(try members(score)["predicted"] == planned["predicted"])
        // The same plan without the overlaps is slower: the plan was priced with them.
        var without = planned
        var plain = options
        plain["overlap_gradient_reduction"] = .bool(false)
        plain["overlap_tensor_parallel_communication"] = .bool(false)
        without["options"] = .object(plain)
        try JSONWriter(inlineDepth: 2, lineWidth: 100).render(.object(without)).write(toFile: plan, atomically: true, encoding: .utf8)
        var rescoring = try ShardPlanCommand.parseAsRoot(["score", graph, "--cluster", "dgx-h100", "--plan", plan, "--format", "json", "-o", score])
        try rescoring.run()
        func seconds(_ object: JSONObject) -> Double? {
            guard case .object(let predicted)? = object["predicted"], case .number(let value)? = predicted["iteration_seconds"] else { return nil }
            return value
        }
        let overlapped = try #require(seconds(planned)), exposed = try #require(seconds(try members(score)))
        #expect(exposed > overlapped, "\(exposed) s without the overlaps against \(overlapped) s with them")
    }

    /// QA: `score --zero 1` with dp x cp = 1 was summarised "zero=1" and exported with the distributed optimizer,
    /// though it shards nothing (priced the same as ZeRO-0): the layout is now scored without it.
    @Test("score --zero N with no data-parallel devices scores, summarises and saves the layout without ZeRO", arguments: ["1", "3"])
    func zeroWithoutDataParallelism(stage: String) throws {
        let output = Repository.temporaryFile("no-dp.json")
        defer { try? FileManager.default.removeItem(atPath: output) }
        var scoring = try ShardPlanCommand.parseAsRoot(["score", Repository.path("Models/gpt-tiny.json"), "--cluster", "dgx-a100-80g",
                                                        "--tp", "4", "--pp", "2", "--zero", stage, "--format", "json", "-o", output])
        try scoring.run()
        let scored = try members(output)
        guard case .object(let options)? = scored["options"], case .string(let summary)? = scored["summary"] else {
            Issue.record("no options or summary"); return
        }
        #expect(options["zero_stage"] == .int(0))
        #expect(summary == "tp=4 pp=2 dp=1 mbs=1", "\(summary)")
    }

    /// A saved plan that is exactly a Megatron layout reads back with the summary `--tp`/`--pp` give it, expert
    /// parallelism and its overlap included, rather than its stages' mesh axes.
    @Test("score --plan of a saved Megatron layout summarises it as --tp/--pp do: ep=4 ep-overlap")
    func savedMegatronLayoutSummary() throws {
        let plan = Repository.temporaryFile("moe-plan.json"), text = Repository.temporaryFile("moe-score.txt")
        defer { for path in [plan, text] { try? FileManager.default.removeItem(atPath: path) } }
        let graph = Repository.path("Models/moe-tiny.json")
        var saving = try ShardPlanCommand.parseAsRoot(["score", graph, "--cluster", "dgx-h100", "--tp", "1", "--pp", "1", "--ep", "4",
                                                       "--overlap-moe-comm", "--format", "json", "-o", plan])
        try saving.run()
        var scoring = try ShardPlanCommand.parseAsRoot(["score", graph, "--cluster", "dgx-h100", "--plan", plan, "-o", text])
        try scoring.run()
        let first = try String(contentsOfFile: text, encoding: .utf8).split(separator: "\n").first.map(String.init) ?? ""
        #expect(first.hasSuffix("tp=1 pp=1 dp=8 mbs=1 ep=4 ep-overlap"), "\(first)")
    }

    @Test("score --batch 16 --tp 2 on 8 devices runs 16 / 4 replicas = 4 microbatches of 1, and says the batch is rebatched")
    func scoreMegatron() throws {
        let text = try scoredTinyGPT(["--tp", "2", "--pp", "1", "--batch", "16"])
        #expect(text.contains("global batch 16 (the graph's 8, rebatched), schedule 1f1b, 4 microbatches\n"), "\(text)")
    }

    @Test("a graph whose batch cannot change is bad input (exit 1) naming the op, and nothing is written")
    func refusedGraph() throws {
        let graph = Repository.temporaryFile("slice.json"), output = Repository.temporaryFile("never.json")
        defer { try? FileManager.default.removeItem(atPath: graph) }
        try #"""
        {"format": "shardplan.graph/1", "name": "half-batch",
         "inputs": [{"name": "x", "shape": [8, 64], "dtype": "bf16"}],
         "parameters": [{"name": "w", "shape": [64, 64], "dtype": "bf16"}],
         "ops": [{"name": "h", "op": "einsum", "equation": "bd,df->bf", "inputs": ["x", "w"]},
                 {"name": "first", "op": "slice", "axis": 0, "start": 0, "end": 4, "inputs": ["h"]},
                 {"name": "loss", "op": "reduce", "kind": "mean", "axes": [0, 1], "inputs": ["first"]}],
         "outputs": ["loss"]}
        """#.write(toFile: graph, atomically: true, encoding: .utf8)
        let loaded = try GraphLoading(graph).graph
        let error = #expect(throws: InputError.self) { try loaded.rebatched(to: 16) }
        #expect(error?.path.description == #"ops[1] "first""#)
        var command = try ShardPlanCommand.parseAsRoot(["plan", graph, "--cluster", "dgx-a100-80g", "--batch", "16", "-o", output])
        #expect(throws: ExitCode.failure) { try command.run() }
        #expect(!FileManager.default.fileExists(atPath: output))
    }
}
