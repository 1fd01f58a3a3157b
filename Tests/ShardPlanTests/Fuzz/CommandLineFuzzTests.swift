import Foundation
import Testing
@testable import ShardPlan

/// A sample of each campaign's cases run through the built `shardplan` binary, as a user runs it: every run
/// ends with exit code 0 or 1 (never a signal), and a refusal is one paragraph on standard error (naming the
/// file when the file is at fault), with nothing written to `-o`.
@Suite("Fuzzed files through the shardplan binary: exit 0 or 1 with one paragraph, never a crash")
struct CommandLineFuzzTests {
    /// The `shardplan` executable SwiftPM built next to this test bundle.
    static let executable: URL = {
        let directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let beside = directory.appendingPathComponent("shardplan")
        if FileManager.default.isExecutableFile(atPath: beside.path) { return beside }
        // Bundled test runners keep the bundle one level deeper.
        return directory.deletingLastPathComponent().appendingPathComponent("shardplan")
    }()

    /// What one run of the binary did.
    struct Run {
        var status: Int32
        var signalled: Bool
        var standardError: String
    }

    static func run(_ arguments: [String]) throws -> Run {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let data = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(status: process.terminationStatus, signalled: process.terminationReason == .uncaughtSignal,
                   standardError: String(decoding: data, as: UTF8.self))
    }

    /// A scratch directory with the files the runs read.
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("shardplan-fuzz-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    func file(_ name: String, _ bytes: [UInt8]) throws -> String {
        let url = directory.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }

    /// Runs `arguments` (with `-o` unless the command prints to standard output only, as `inspect` does) and
    /// checks the outcome; `document` is the fuzzed file's path.
    func expectSound(_ arguments: [String], document: String, case index: Int, writesFile: Bool = true) throws {
        let output = directory.appendingPathComponent("out-\(index).txt").path
        let run = try Self.run(arguments + (writesFile ? ["-o", output] : []))
        let context = "\(arguments.prefix(2).joined(separator: " ")) case \(index): \(run.standardError.prefix(400))"
        #expect(!run.signalled && (run.status == 0 || run.status == 1), "exit status \(run.status): \(context)")
        if run.status == 0 {
            #expect(!writesFile || FileManager.default.fileExists(atPath: output), "\(context)")
        } else {
            // Bad input (the file, or a flag it does not suit) or a plan that does not fit: one paragraph, and
            // one that blames a file names the fuzzed one.
            let lines = run.standardError.split(separator: "\n", omittingEmptySubsequences: true)
            #expect(lines.count == 1, "one paragraph: \(context)")
            if let line = lines.first, line.hasPrefix("error: "), line.contains(".json") {
                #expect(line.hasPrefix("error: \(document): "), "names the file: \(context)")
            }
            #expect(!FileManager.default.fileExists(atPath: output), "nothing is written to -o on failure: \(context)")
        }
        try? FileManager.default.removeItem(atPath: output)
    }

    @Test("inspect, score, score --plan and plan on a sample of fuzzed files")
    func sample() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(FileManager.default.isExecutableFile(atPath: Self.executable.path), "swift build makes \(Self.executable.path)")
        let count = max(FuzzCampaign.caseCount(default: 600) / 60, 1)
        let smallCluster = try file("two.json", Array(FuzzFixtures.twoDevices.jsonText.utf8))
        let mlp = try file("mlp.json", try GraphFixture.specMLP.bytes)
        let graphs = FuzzCampaign(kind: "graph file", documents: FuzzFixtures.graphDocuments, vocabulary: FuzzFixtures.graphVocabulary, seed: 6)
        for index in 0..<count {
            let path = try file("graph-\(index).json", graphs.fuzzCase(index).document.bytes)
            try expectSound(["inspect", path], document: path, case: index, writesFile: false)
            try expectSound(["score", path, "--cluster", smallCluster, "--tp", "2", "--pp", "1"], document: path, case: index)
            try expectSound(["plan", path, "--cluster", smallCluster, "--stages", "1", "--microbatches", "1"], document: path, case: index)
        }
        let clusters = FuzzCampaign(kind: "cluster file", documents: FuzzFixtures.clusterDocuments, vocabulary: FuzzFixtures.clusterVocabulary, seed: 7)
        for index in 0..<count {
            let path = try file("cluster-\(index).json", clusters.fuzzCase(index).document.bytes)
            try expectSound(["score", mlp, "--cluster", path, "--tp", "1", "--pp", "1"], document: path, case: index)
        }
        let saved = FuzzFixtures.plans
        let plans = FuzzCampaign(kind: "plan file", documents: saved.map(\.document),
                                 vocabulary: FuzzFixtures.planVocabulary(FuzzFixtures.smallGPT), seed: 8)
        for index in 0..<count {
            let fuzzCase = plans.fuzzCase(index)
            let original = saved[fuzzCase.original]
            let graph = try file("plan-graph-\(index).json", Array(original.graph.jsonText.utf8))
            let cluster = try file("plan-cluster-\(index).json", Array(original.cluster.jsonText.utf8))
            let path = try file("plan-\(index).json", fuzzCase.document.bytes)
            try expectSound(["score", graph, "--cluster", cluster, "--plan", path], document: path, case: index)
        }
    }
}
