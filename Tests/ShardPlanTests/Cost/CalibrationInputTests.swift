import Foundation
import Testing
@testable import ShardPlan

/// What `shardplan calibrate` reads from a user's own calibration files and how it words what it prints: the
/// cluster a row without `replay_cluster` is replayed on, the GPU names it knows, the members it refuses and the
/// tables' bins and labels (QA of the calibrate command).
@Suite("Calibration files: replay clusters, refusals and wording")
struct CalibrationInputTests {
    /// A small GPT (two layers of 256) on 8 H100s in nodes of 8, under ZeRO-3 so that its gathers cross the nodes
    /// where there are several; `edits` replace members.
    static func row(_ edits: [String: JSONValue] = [:]) -> JSONObject {
        var row = JSONObject([
            ("id", .string("small")), ("source", .string("s")), ("layers", .int(2)), ("hidden", .int(256)), ("heads", .int(4)),
            ("ffn_hidden", .int(1024)), ("vocab", .int(1024)), ("seq_len", .int(512)), ("global_batch", .int(16)),
            ("micro_batch", .int(2)), ("gpu", .string("H100-SXM5-80GB")), ("n_gpus", .int(8)), ("gpus_per_node", .int(8)),
            ("tp", .int(1)), ("pp", .int(1)), ("dp", .int(8)), ("zero_stage", .int(3)), ("recompute", .string("none")),
            ("measured", .object(JSONObject([("iteration_time_s", .number(0.01))]))),
        ])
        for (key, value) in edits { row[key] = value }
        return row
    }

    static func document(_ rows: [JSONObject]) -> JSONValue {
        .object(JSONObject([("rows", .array(rows.map { .object($0) }))]))
    }

    static func replayed(_ rows: [JSONObject]) throws -> CalibrationReport {
        try CalibrationReport(document: document(rows), source: "mine.json")
    }

    static func refusal(_ edits: [String: JSONValue]) -> InputError? {
        #expect(throws: InputError.self) { try replayed([row(edits)]) }
    }

    // MARK: The cluster a row is replayed on

    /// A row in nodes of fewer GPUs than its DGX preset's is replayed on that many nodes, each the preset's node cut
    /// to the row's GPUs: exactly the row's 8 GPUs, whose ZeRO-3 gathers cross more nodes the smaller they are.
    @Test("8 GPUs in nodes of 8, 4, 2 and 1: the DGX H100 node cut to the row's, 8 GPUs each, slower once the network carries the gathers")
    func nodesSmallerThanThePreset() throws {
        let runs = try Self.replayed([8, 4, 2, 1].map { perNode in
            Self.row(["id": .string("per\(perNode)"), "gpus_per_node": .int(perNode)])
        }).runs
        #expect(runs.map(\.plan.clusterName) == ["dgx-h100:1", "dgx-h100:2 (nodes of 4 GPUs)", "dgx-h100:4 (nodes of 2 GPUs)",
                                                 "dgx-h100:8 (nodes of 1 GPUs)"])
        #expect(runs.map(\.plan.cluster.deviceCount) == [8, 8, 8, 8])
        #expect(runs.map(\.plan.cluster.devicesPerNode) == [8, 4, 2, 1])
        let preset = try Cluster.preset(named: "dgx-h100")
        #expect(runs.allSatisfy { $0.plan.cluster.device == preset.device && $0.plan.cluster.interNode == preset.interNode })
        let seconds = runs.map(\.predictedSeconds)
        #expect(seconds[0] < seconds[1] && seconds[1] <= seconds[2] && seconds[2] <= seconds[3], "\(seconds)")
    }

    @Test("nodes larger than the GPU's DGX node are refused at rows[i].gpus_per_node, asking for a replay_cluster")
    func nodesLargerThanThePreset() throws {
        let error = Self.refusal(["n_gpus": .int(16), "dp": .int(16), "gpus_per_node": .int(16)])
        #expect(error?.path.description == "rows[0].gpus_per_node")
        #expect(error?.message == "row small: dgx-h100 nodes hold 8 GPUs, not 16; name the cluster the row ran on with "
                + "replay_cluster (a cluster object with devices_per_node 16)")
    }

    /// `--search` plans the row's GPUs, not its preset's whole nodes: 8 GPUs in nodes of 4 are two nodes of 4.
    @Test("--search on 8 GPUs in nodes of 4 plans a mesh of 8 devices")
    func searchPlansTheRowsGPUs() throws {
        let report = try PlanQualityReport(document: Self.document([Self.row(["gpus_per_node": .int(4)])]), source: "mine.json")
        let summary = try #require(report.entries.first?.searchedSummary)
        let mesh = try #require(summary.split(separator: "(mesh ").last?.dropLast())
        #expect(mesh.split(separator: "x").compactMap { Int($0) }.reduce(1, *) == 8, "\(summary)")
    }

    // MARK: GPU names

    @Test("a GPU is known by its exact name; a PCIe or NVL part, or a name with a suffix, is refused at rows[i].gpu listing the known names",
          arguments: ["H100-NVL-94GB", "H100-PCIe-80GB", "A100-SXM4-80GB-typo", "h100-sxm5-80gb"])
    func unknownGPUsAreRefused(gpu: String) throws {
        let error = Self.refusal(["gpu": .string(gpu)])
        #expect(error?.path.description == "rows[0].gpu")
        #expect(error?.message == "row small: no cluster preset for GPU \"\(gpu)\"; the known GPUs are A100-SXM4-80GB, A100-SXM4-40GB, "
                + "H100-SXM5-80GB, H100-SXM5-96GB (HBM2e, 500 W), H200-SXM-141GB, B200-180GB; for another, name the cluster it ran on "
                + "with replay_cluster (\(ClusterPreset.nameList)) or give a cluster object there")
    }

    @Test("a single-GPU row's GPU must have a single-GPU preset")
    func singleGPUNames() throws {
        #expect(CalibrationRun.presetName(forGPU: "H100-SXM5-80GB", devices: 1) == "single-h100")
        #expect(CalibrationRun.presetName(forGPU: "B200-180GB", devices: 8) == "dgx-b200")
        #expect(CalibrationRun.presetName(forGPU: "H100-PCIe-80GB", devices: 1) == nil)
        let error = Self.refusal(["gpu": .string("B200-180GB"), "n_gpus": .int(1), "gpus_per_node": .int(1), "dp": .int(1),
                                  "zero_stage": .int(0)])
        #expect(error?.path.description == "rows[0].gpu")
        #expect(error?.message.hasPrefix("row small: no cluster preset for GPU \"B200-180GB\" alone; the known GPUs are A100-SXM4-80GB, "
                                         + "H100-SXM5-80GB, H100-SXM5-96GB (HBM2e, 500 W), H200-SXM-141GB; for another") == true)
    }

    @Test("an attention row's GPU is matched exactly too")
    func attentionGPUNames() throws {
        let text = #"{"attention_measurements": [{"id": "x", "source": "s", "gpu": "H100-PCIe-80GB", "kernel": "flash2", "batch": 1, "heads": 1, "head_dim": 64, "seq_len": 1024, "causal": true, "forward_ms": 1, "backward_ms": 1}]}"#
        let error = #expect(throws: InputError.self) { try AttentionCalibrationReport(document: try JSONParser.parse(text), source: "a.json") }
        #expect(error?.path.description == "attention_measurements[0].gpu")
        #expect(error?.message == "row x: no single-GPU preset for \"H100-PCIe-80GB\"; known: A100-SXM4-80GB, H100-SXM5-80GB, "
                + "H100-SXM5-96GB (HBM2e, 500 W), H200-SXM-141GB")
    }

    // MARK: Row ids of collective and attention files

    static let collective = #""source": "s", "cluster": "dgx-h100", "collective": "all_reduce", "size_bytes": 268435456"#
    static let attention = #""source": "s", "gpu": "H100-SXM5-80GB", "kernel": "flash2", "batch": 1, "heads": 1, "head_dim": 64, "seq_len": 1024, "causal": true"#

    static func collectiveRefusal(_ rows: String) -> InputError? {
        #expect(throws: InputError.self) {
            try CollectiveCalibrationReport(document: try JSONParser.parse(#"{"measurements": [\#(rows)]}"#), source: "n.json")
        }
    }

    static func attentionRefusal(_ rows: String) -> InputError? {
        #expect(throws: InputError.self) {
            try AttentionCalibrationReport(document: try JSONParser.parse(#"{"attention_measurements": [\#(rows)]}"#), source: "a.json")
        }
    }

    @Test("nccl-tests and attention files refuse a repeated or empty id at its id, as runs files do")
    func idsAreUniqueAndNamed() throws {
        let repeated = Self.collectiveRefusal(#"{"id": "a", \#(Self.collective), "time_us": 5}, {"id": "a", \#(Self.collective), "time_us": 6}"#)
        #expect(repeated?.path.description == "measurements[1].id")
        #expect(repeated?.message == "a second row with id \"a\"; the table names each row by it")
        let empty = Self.attentionRefusal(#"{"id": "", \#(Self.attention), "forward_ms": 1, "backward_ms": 1}"#)
        #expect(empty?.path.description == "attention_measurements[0].id")
        #expect(empty?.message == "expected a name without leading or trailing spaces, found \"\"; the table names each row by it")
        let twice = Self.attentionRefusal(#"{"id": "b", \#(Self.attention), "forward_ms": 1, "backward_ms": 1}, {"id": "b", \#(Self.attention), "forward_ms": 1, "backward_ms": 1}"#)
        #expect(twice?.path.description == "attention_measurements[1].id")
        let runs = #expect(throws: InputError.self) { try Self.replayed([Self.row(), Self.row()]) }
        #expect(runs?.path.description == "rows[1].id" && runs?.message == "a second row with id \"small\"; the table and --rows name each row by it")
    }

    // MARK: Messages

    @Test("a measured time or bus bandwidth is refused at its member in its own unit", arguments: [
        (#""busbw_gb_per_s": -1"#, "measurements[0].busbw_gb_per_s", "row x: expected a positive bus bandwidth in GB/s, found -1"),
        (#""busbw_gb_per_s": 0"#, "measurements[0].busbw_gb_per_s", "row x: expected a positive bus bandwidth in GB/s, found 0"),
        (#""busbw_gb_per_s": 1e300"#, "measurements[0].busbw_gb_per_s",
         "row x: 1e+300 GB/s moves the row's 268435456 bytes in under 1 ns, not a measurement (1 ns to 1 hour)"),
        (#""busbw_gb_per_s": 1e-9"#, "measurements[0].busbw_gb_per_s",
         "row x: 1e-09 GB/s moves the row's 268435456 bytes in over 1 hour, not a measurement (1 ns to 1 hour)"),
        (#""time_us": -5"#, "measurements[0].time_us", "row x: expected a positive time in us, found -5"),
        (#""time_us": 0"#, "measurements[0].time_us", "row x: expected a positive time in us, found 0"),
        (#""time_us": 1e12"#, "measurements[0].time_us", "row x: a time of 1000000000000 us is not a measurement (1 ns to 1 hour)"),
    ])
    func collectiveTimes(member: String, path: String, message: String) throws {
        let error = Self.collectiveRefusal(#"{"id": "x", \#(Self.collective), \#(member)}"#)
        #expect(error?.path.description == path)
        #expect(error?.message == message)
    }

    @Test("an attention time is refused in milliseconds")
    func attentionTimes() throws {
        let zero = Self.attentionRefusal(#"{"id": "x", \#(Self.attention), "forward_ms": 0, "backward_ms": 1}"#)
        #expect(zero?.path.description == "attention_measurements[0].forward_ms")
        #expect(zero?.message == "row x: expected a positive time in ms, found 0")
        let long = Self.attentionRefusal(#"{"id": "x", \#(Self.attention), "forward_ms": 1, "backward_ms": 1e10}"#)
        #expect(long?.path.description == "attention_measurements[0].backward_ms")
        #expect(long?.message == "row x: a time of 10000000000 ms is not a measurement (1 ns to 1 hour)")
    }

    @Test("an unknown collective lists only the collectives a row may measure")
    func unknownCollective() throws {
        let error = Self.collectiveRefusal(#"{"id": "x", "source": "s", "cluster": "dgx-h100", "collective": "all_to_all", "size_bytes": 8, "time_us": 5}"#)
        #expect(error?.path.description == "measurements[0].collective")
        #expect(error?.message == "row x: unknown collective \"all_to_all\"; known: all_reduce, all_gather, reduce_scatter "
                + "(the NCCL collectives the model prices as nccl-tests measures them)")
    }

    @Test("a size far beyond any run is refused at its member, not inside the graph", arguments: [
        ("global_batch", 1 << 50, "row small: at most 16777216 sequences a step are replayed, far beyond any published run; found 1125899906842624"),
        ("vocab", 1 << 50, "row small: at most 16777216 tokens in a vocabulary are replayed, far beyond any published run; found 1125899906842624"),
        ("hidden", 1 << 40, "row small: at most 1048576 hidden units are replayed, far beyond any published run; found 1099511627776"),
        ("seq_len", 1 << 40, "row small: at most 16777216 tokens a sequence are replayed, far beyond any published run; found 1099511627776"),
        ("n_gpus", 1 << 50, "row small: at most 1048576 GPUs are replayed, far beyond any published run; found 1125899906842624"),
    ])
    func sizesAreBounded(member: String, value: Int, message: String) throws {
        let error = Self.refusal([member: .int(value)])
        #expect(error?.path.description == "rows[0].\(member)")
        #expect(error?.message == message)
    }

    // MARK: Recomputation

    @Test("recompute is read by its first words; an unknown one is refused at rows[i].recompute listing the known ones",
          arguments: ["selectiv", "partial", "nonexistent", "fullest"])
    func unknownRecomputation(text: String) throws {
        let error = Self.refusal(["recompute": .string(text)])
        #expect(error?.path.description == "rows[0].recompute")
        #expect(error?.message == "row small: unknown recomputation \"\(text)\"; a row's recompute begins with none, not stated, full, "
                + "selective op, selective, elementwise, mlp, all but qkv, norm act (hyphens or spaces between the words, letter case "
                + "aside; what follows them is not read)")
    }

    @Test("the repository's recompute texts read as before")
    func knownRecomputation() throws {
        let expected: [(String, RecomputeMode)] = [
            ("", .none), ("none (not stated)", .none), ("not stated", .none), ("full (uniform, per layer)", .full),
            ("full recompute", .full), ("selective (attention core only)", .selective), ("selective + SP", .selective),
            ("selective op (torchtitan op-level SAC)", .selectiveOperators), ("selective-op", .selectiveOperators),
            ("elementwise (MaxText remat_policy minimal_flash)", .elementwise), ("mlp (MaxText)", .mlp),
            ("all but qkv (MaxText)", .allButQKV), ("all-but-qkv", .allButQKV), ("norm-act (the preset's)", .normAct),
            ("Full", .full),
        ]
        for (text, mode) in expected { #expect(PublishedRun.recomputeMode(of: text) == mode, "\(text)") }
    }

    // MARK: Wording

    @Test("the per-sequence-length table holds every row: 3072, 6144, 12288 and 49152 tokens each in a bin labelled by its rows")
    func sequenceLengthBins() throws {
        let lengths = [2048, 3072, 6144, 12288, 49152]
        let report = try Self.replayed(lengths.map { Self.row(["id": .string("s\($0)"), "seq_len": .int($0)]) })
        let table = report.markdown.components(separatedBy: "| tokens per sequence |")[1].components(separatedBy: "\n\n")[0]
        let labels = table.split(separator: "\n").dropFirst(2).map { $0.split(separator: "|")[0].trimmingCharacters(in: .whitespaces) }
        #expect(labels == ["up to 2048", "3072", "6144", "12288", "49152 and more"])
        #expect(CalibrationReport.label(of: 8193 ... 32768, lengths: [16384, 32768, 16384]) == "16384-32768")
        #expect(CalibrationReport.label(of: 32769 ... Int.max, lengths: [1_048_576, 65536]) == "65536 and more")
    }

    @Test("one row is \"1 row\"; a row without a group is labelled so; a throughput alone says what is missing")
    func wording() throws {
        var throughputOnly = Self.row(["id": .string("tput")])
        throughputOnly["measured"] = .object(JSONObject([("tokens_per_s_per_gpu", .number(5000))]))
        let report = try Self.replayed([Self.row(), throughputOnly])
        #expect(report.markdown.contains(" over 1 row. `*`: derived from the published throughput."))
        #expect(report.markdown.contains("| (rows without a group) | 1 |"))
        #expect(report.skipped.map(\.reason) == ["no measured.iteration_time_s or derived.iteration_time_s to compare with; a throughput "
                                                 + "alone (tokens_per_s_per_gpu) is not converted: give the step time it implies as derived.iteration_time_s"])
    }

    @Test("a 256 MiB collective falls in the bin whose label includes it, and one row is \"1 row\"")
    func collectiveSizeBins() throws {
        let report = try CollectiveCalibrationReport(document: try JSONParser.parse(#"{"measurements": [{"id": "x", \#(Self.collective), "time_us": 2000}]}"#),
                                                     source: "n.json")
        #expect(report.markdown.contains("| 256 MiB and more | 1 |"))
        #expect(report.markdown.contains(" over 1 row (negative: predicted faster than measured)."))
        #expect(report.markdown.contains("| message size |") && !report.markdown.contains("16-256 MiB"))
    }

    @Test("a --search report of chosen rows is headed by its command with --rows, quoted for the shell where needed")
    func searchHeaderNamesRows() throws {
        let report = try PlanQualityReport(document: Self.document([Self.row(["id": .string("my run")]), Self.row(["id": .string("other")])]),
                                           ids: ["my run"], source: "mine.json")
        #expect(report.markdown.contains("Generated by `shardplan calibrate mine.json --search --rows 'my run'`."))
        #expect(report.markdown.contains("Worst ratio \(String(format: "%.3f", report.worstRatio)) over 1 row."))
        #expect(PlanQualityReport.shellWord("a,b-1.x") == "a,b-1.x" && PlanQualityReport.shellWord("it's") == #"'it'\''s'"#)
    }
}
