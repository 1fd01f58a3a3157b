import ArgumentParser
import Foundation
import Testing
@testable import ShardPlan
@testable import shardplan

/// `--memory-limit GB`: plan and score against less memory than the device has, leaving headroom.
@Suite("--memory-limit")
struct MemoryLimitTests {
    @Test("a non-positive or non-finite limit is a usage error (exit 2)", arguments: ["0", "-5", "inf", "nan", "x"])
    func malformed(value: String) {
        #expect(exitCode(["score", "g.json", "--cluster", "c", "--tp", "1", "--pp", "1", "--memory-limit", value]) == 2)
        #expect(exitCode(["plan", "g.json", "--cluster", "c", "--memory-limit", value]) == 2)
    }

    @Test("the cluster's devices take the limit; more than a device has is refused at --memory-limit")
    func limitsTheDevice() throws {
        let input = try ModelAndCluster.parse(["g.json", "--cluster", "dgx-a100-80g", "--memory-limit", "70"])
        let cluster = try input.limited(Cluster.preset(named: "dgx-a100-80g"))
        #expect(cluster.device.memoryBytes == 70e9)
        let unlimited = try ModelAndCluster.parse(["g.json", "--cluster", "dgx-a100-80g"])
        #expect(try unlimited.limited(Cluster.preset(named: "dgx-a100-80g")).device.memoryBytes == 80 * 1_073_741_824)
        let above = try ModelAndCluster.parse(["g.json", "--cluster", "dgx-a100-80g", "--memory-limit", "90"])
        do {
            _ = try above.limited(Cluster.preset(named: "dgx-a100-80g"))
            Issue.record("a limit above the device's memory was taken")
        } catch {
            #expect(error.path.description == "--memory-limit")
            #expect(error.message == "90 GB is more than the 85.899 GB each A100-SXM4-80GB of dgx-a100-80g has", "\(error.message)")
        }
        // QA: a limit the framework's 3 GB fills was refused as needing more devices.
        for value in ["3", "2.5"] {
            let full = try ModelAndCluster.parse(["g.json", "--cluster", "dgx-a100-80g", "--memory-limit", value])
            do {
                _ = try full.limited(Cluster.preset(named: "dgx-a100-80g"))
                Issue.record("a limit of \(value) GB was taken")
            } catch {
                #expect(error.path.description == "--memory-limit")
                #expect(error.message == "\(value) GB leaves nothing beside the 3 GB every plan counts for the CUDA context, workspaces and fragmentation",
                        "\(error.message)")
            }
        }
    }

    /// QA: a saved plan did not record the memory it was planned against. It writes `memory_limit_gb`, which
    /// `score --plan` reads back (refusing a non-positive one) and writes again only under a limit of its own.
    @Test("a plan made under --memory-limit records it; score --plan reads it back, and a non-positive one is refused")
    func savedLimit() throws {
        let plan = Repository.temporaryFile("limited-plan.json"), score = Repository.temporaryFile("limited-score.json")
        defer { for path in [plan, score] { try? FileManager.default.removeItem(atPath: path) } }
        let graph = Repository.path("Models/gpt-tiny.json")
        var planning = try ShardPlanCommand.parseAsRoot(["score", graph, "--cluster", "dgx-a100-80g", "--tp", "2", "--pp", "1",
                                                         "--memory-limit", "40", "--format", "json", "-o", plan])
        try planning.run()
        var top = try members(plan)
        #expect(top["memory_limit_gb"] == .number(40))
        let cluster = try Cluster.preset(named: "dgx-a100-80g")
        let model = try #require(ModelCatalog.model(id: "gpt-tiny")).build()
        let read = try TrainingPlan(json: .object(top), graph: model, cluster: cluster, clusterName: "dgx-a100-80g")
        #expect(read.memoryLimitBytes == 40e9)
        var rescoring = try ShardPlanCommand.parseAsRoot(["score", graph, "--cluster", "dgx-a100-80g", "--plan", plan, "--format", "json", "-o", score])
        try rescoring.run()
        #expect(try members(score)["memory_limit_gb"] == nil, "checked against the whole device, so no limit is recorded")
        for bad in [JSONValue.number(0), .number(-4), .string("40")] {
            top["memory_limit_gb"] = bad
            #expect(throws: InputError.self) {
                _ = try TrainingPlan(json: .object(top), graph: model, cluster: cluster, clusterName: "dgx-a100-80g")
            }
        }
    }

    /// gpt-tiny needs the 3 GB the model always counts and a little more: under a limit of 3.0001 GB it does not fit.
    @Test("score under a limit below a layout's peak exits 1 and writes no file; under one above it, it fits")
    func scoreUnderTheLimit() throws {
        let output = Repository.temporaryFile("limited.txt")
        defer { try? FileManager.default.removeItem(atPath: output) }
        let graph = Repository.path("Models/gpt-tiny.json")
        var tight = try ShardPlanCommand.parseAsRoot(["score", graph, "--cluster", "dgx-a100-80g", "--tp", "1", "--pp", "1",
                                                      "--memory-limit", "3.0001", "-o", output])
        #expect(throws: ExitCode.failure) { try tight.run() }
        #expect(!FileManager.default.fileExists(atPath: output))
        var roomy = try ShardPlanCommand.parseAsRoot(["score", graph, "--cluster", "dgx-a100-80g", "--tp", "1", "--pp", "1",
                                                      "--memory-limit", "4", "-o", output])
        try roomy.run()
        #expect(try String(contentsOfFile: output, encoding: .utf8).contains(" of 4.00 GB per device"))
    }
}
