import Foundation
import Testing
@testable import ShardPlan

private func document(_ text: String) throws -> JSONValue {
    try JSONValue.parseDocument(Array(text.utf8), document: "test.json")
}

private func replay(_ rows: String) throws -> CollectiveCalibrationReport {
    try CollectiveCalibrationReport(document: try document(#"{"measurements": [\#(rows)]}"#), source: "test.json")
}

@Suite("Published collective benchmarks replayed")
struct MeasuredCollectiveTests {
    @Test("1 GiB all-reduce on one DGX A100: a Simple ring at the preset's 232.5 GB/s, 8,137.9 us against the 8,081.9 us its printed busbw implies")
    func oneNodeAllReduce() throws {
        let report = try replay(#"""
            {"id": "a100", "source": "nccl-tests #175", "cluster": "dgx-a100-80g", "collective": "all_reduce",
             "size_bytes": 1073741824, "busbw_gb_per_s": 232.5}
            """#)
        let row = try #require(report.replays.first)
        // Measured: 2 x 7/8 x 2^30 B / 232.5e9 B/s = 8,081.9 us.
        #expect(abs(row.measurement.seconds - 2 * 7.0 / 8 * 1_073_741_824 / 232.5e9) < 1e-12)
        // Predicted: the same bytes over the same bandwidth, plus the Simple ring's 8.4 us and 14 steps of 3.4 us.
        let predicted = 2 * 7.0 / 8 * 1_073_741_824 / 232.5e9 + 8.4e-6 + 14 * 3.4e-6
        #expect(abs(row.choice.seconds - predicted) < 1e-9)
        #expect(abs(row.choice.seconds - 8_137.93e-6) < 0.01e-6)
        #expect(row.choice.algorithm == .ring && row.choice.wireProtocol == .simple)
        #expect(abs(row.relativeError - (predicted / row.measurement.seconds - 1)) < 1e-12)
        #expect(abs(row.measurement.busBandwidth(seconds: row.measurement.seconds) - 232.5e9) < 1)
        #expect(report.markdown.contains("| a100 | dgx-a100-80g | 8 | all_reduce | 1 GiB | ring Simple | 8138 | 8082 | 230.9 | 232.5 | +0.7% |"))
    }

    @Test("a row id holding a line break or a | stays in its own cell: the table keeps its rows and columns")
    func hostileIdStaysInItsCell() throws {
        let report = try replay(#"""
            {"id": "a|b\n| fake | row |", "source": "s", "cluster": "dgx-a100-80g", "collective": "all_reduce",
             "size_bytes": 1073741824, "busbw_gb_per_s": 232.5}
            """#)
        let row = try #require(report.markdown.split(separator: "\n").first { $0.hasPrefix("| a") })
        #expect(row.hasPrefix(#"| a\|b\n\| fake \| row \| | dgx-a100-80g | 8 | all_reduce |"#))
        #expect(!report.markdown.contains("\n| fake"))
    }

    @Test("an all-gather's time comes from its busbw with (n-1)/n, and gpus picks part of a node")
    func allGatherOnPartOfANode() throws {
        let report = try replay(#"""
            {"id": "ag", "source": "s", "cluster": "dgx-h100", "gpus": 4, "collective": "all_gather",
             "size_bytes": 268435456, "busbw_gb_per_s": 300}
            """#)
        let row = try #require(report.replays.first)
        #expect(row.measurement.deviceCount == 4 && row.nodes == 1)
        #expect(abs(row.measurement.seconds - 3.0 / 4 * 268_435_456 / 300e9) < 1e-12)
    }

    @Test("ranks_per_node places a row's ranks so many a node: one GPU on each of four DGX H100s is priced over one NIC a node")
    func ranksPerNode() throws {
        let report = try replay(#"""
            {"id": "n1", "source": "s", "cluster": "dgx-h100:4", "ranks_per_node": 1, "collective": "all_reduce",
             "size_bytes": 1073741824, "busbw_gb_per_s": 46},
            {"id": "n2", "source": "s", "cluster": "dgx-h100:4", "ranks_per_node": 2, "gpus": 4, "collective": "all_reduce",
             "size_bytes": 1073741824, "time_us": 20000}
            """#)
        let row = try #require(report.replays.first)
        // Every node takes one: 4 ranks over 4 nodes. Measured: 2 x 3/4 x 2^30 / 46e9 = 35,013.3 us. Predicted: the
        // Simple ring over one NIC a node, 1.4 x (8.4 + 6 x 14) us + 2 x 3/4 x 2^30 / 47e9 = 34,397.72 us
        // (CollectivePredictionTests), -1.8%.
        #expect(row.measurement.deviceCount == 4 && row.measurement.ranksPerNode == 1 && row.nodes == 4)
        #expect(abs(row.measurement.seconds - 1.5 * 1_073_741_824 / 46e9) < 1e-12)
        #expect(abs(row.choice.seconds - 34_397.72e-6) < 0.01e-6)
        #expect(report.markdown.contains("| n1 | dgx-h100:4 | 4 (1 per node) | all_reduce | 1 GiB | ring Simple | 34398 | 35013 | 46.8 | 46.0 | -1.8% |"), "\(report.markdown)")
        // gpus 4 at two a node: devices 0, 1, 8, 9 over two nodes.
        let two = report.replays[1]
        #expect(two.measurement.deviceCount == 4 && two.nodes == 2)
        let group = try Cluster.preset(named: "dgx-h100:4").collectiveGroup(devices: [0, 1, 8, 9])
        #expect(two.choice == group.fastest(.allReduce, bytes: 1_073_741_824))
        let cases: [(row: String, message: String)] = [
            (#"{"id": "x", "source": "s", "cluster": "dgx-h100:2", "ranks_per_node": 9, "collective": "all_reduce", "size_bytes": 8, "time_us": 1}"#,
             "row x: 9 ranks per node on dgx-h100:2, whose nodes hold 8 devices"),
            (#"{"id": "x", "source": "s", "cluster": "dgx-h100:2", "ranks_per_node": 4, "gpus": 6, "collective": "all_reduce", "size_bytes": 8, "time_us": 1}"#,
             "row x: 6 ranks do not fill nodes of 4 ranks each"),
            (#"{"id": "x", "source": "s", "cluster": "dgx-h100:2", "ranks_per_node": 1, "gpus": 4, "collective": "all_reduce", "size_bytes": 8, "time_us": 1}"#,
             "row x: 4 ranks at 1 per node take 4 nodes; dgx-h100:2 has 2"),
            (#"{"id": "x", "source": "s", "cluster": "dgx-h100", "ranks_per_node": 1, "collective": "all_reduce", "size_bytes": 8, "time_us": 1}"#,
             "row x: a collective takes 2 or more ranks; 1 at 1 per node on dgx-h100, which has 1 node of 8 devices"),
            (#"{"id": "x", "source": "s", "cluster": "dgx-h100:2", "ranks_per_node": "one", "collective": "all_reduce", "size_bytes": 8, "time_us": 1}"#,
             "expected an integer, found the string \"one\""),
        ]
        for (row, message) in cases {
            let error = #expect(throws: InputError.self) { try replay(row) }
            #expect(error?.path.description == "measurements[0].ranks_per_node" && error?.message.contains(message) == true,
                    "\(error?.description ?? "accepted")")
        }
    }

    @Test("a row's cluster may be a cluster file, relative to the measurements file, or a cluster object: the preset's own figures replay as the preset does")
    func clusterFileAndObject() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("measured-collective-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let preset = try Cluster.preset(named: "dgx-a100-80g")
        try Data(preset.jsonText.utf8).write(to: directory.appendingPathComponent("lab.json"))
        let rows = #"""
            {"measurements": [
             {"id": "file", "source": "s", "cluster": "lab.json", "collective": "all_reduce", "size_bytes": 1073741824, "busbw_gb_per_s": 232.5},
             {"id": "object", "source": "s", "cluster": \#(preset.jsonText), "collective": "all_reduce", "size_bytes": 1073741824, "busbw_gb_per_s": 232.5},
             {"id": "preset", "source": "s", "cluster": "dgx-a100-80g", "collective": "all_reduce", "size_bytes": 1073741824, "busbw_gb_per_s": 232.5}]}
            """#
        let report = try CollectiveCalibrationReport(document: try document(rows), source: directory.appendingPathComponent("runs.json").path)
        // The same 8,137.9 us as the preset's row above: 2 x 7/8 x 2^30 / 232.5e9 + 8.4 us + 14 x 3.4 us.
        #expect(report.replays.map(\.choice) == Array(repeating: report.replays[2].choice, count: 3))
        #expect(abs(report.replays[0].choice.seconds - 8_137.93e-6) < 0.01e-6)
        #expect(report.replays.map(\.measurement.cluster) == ["lab.json", "dgx-a100-80g", "dgx-a100-80g"])
        // Relative to the working directory, the file is not there: the error names the row and the file.
        let error = #expect(throws: InputError.self) { try replay(#"{"id": "file", "source": "s", "cluster": "lab.json", "collective": "all_reduce", "size_bytes": 8, "time_us": 9}"#) }
        #expect(error?.path.description == "measurements[0].cluster" && error?.message.contains("row file: \"lab.json\" is neither a cluster file nor a preset") == true,
                "\(error?.description ?? "accepted")")
    }

    @Test("read from standard input (-), a row's relative cluster path resolves against the working directory")
    func standardInput() throws {
        #expect(CollectiveCalibrationReport.directory(of: "-") == "" && CollectiveCalibrationReport.directory(of: "runs.json") == "")
        #expect(CollectiveCalibrationReport.directory(of: "/runs.json") == "/" && CollectiveCalibrationReport.directory(of: "a/b/runs.json") == "a/b")
        let report = try CollectiveCalibrationReport(document: try document(#"""
            {"measurements": [{"id": "a", "source": "s", "cluster": "dgx-h100", "collective": "all_reduce", "size_bytes": 8, "time_us": 10}]}
            """#), source: "-")
        #expect(report.replays.count == 1 && report.markdown.contains("Generated by `shardplan calibrate -`"))
        let error = #expect(throws: InputError.self) {
            try CollectiveCalibrationReport(document: try document(#"""
                {"measurements": [{"id": "a", "source": "s", "cluster": "no-such-lab.json", "collective": "all_reduce", "size_bytes": 8, "time_us": 10}]}
                """#), source: "-")
        }
        #expect(error?.message.contains("\"no-such-lab.json\" is neither a cluster file nor a preset") == true, "\(error?.description ?? "accepted")")
    }

    @Test("a row giving both time_us and busbw_gb_per_s: kept where they agree within 1% (nccl-tests' rounding), refused naming both where not")
    func timeAndBusBandwidth() throws {
        // 1 GiB on one DGX A100: 2 x 7/8 x 2^30 B / 232.5e9 B/s = 8,081.93 us, printed 8081.9; busbw 232.5.
        let agreeing = try replay(#"""
            {"id": "a", "source": "s", "cluster": "dgx-a100-80g", "collective": "all_reduce", "size_bytes": 1073741824, "time_us": 8081.9, "busbw_gb_per_s": 232.5}
            """#)
        #expect(agreeing.replays[0].measurement.seconds == 8081.9e-6)
        let error = #expect(throws: InputError.self) {
            try replay(#"""
                {"id": "x", "source": "s", "cluster": "dgx-h100", "collective": "all_reduce", "size_bytes": 1073741824, "time_us": 4000, "busbw_gb_per_s": 1}
                """#)
        }
        // 2 x 7/8 x 2^30 B in 4,000 us: 469.76 GB/s of bus bandwidth.
        #expect(error?.path.description == "measurements[0].busbw_gb_per_s", "\(error?.description ?? "accepted")")
        #expect(error?.message == "row x: 1 GB/s disagrees with time_us 4000, which moves the row's 1073741824 bytes at 469.76 GB/s of bus bandwidth; "
                + "give one of them, or both from one nccl-tests line", "\(error?.message ?? "accepted")")
    }

    @Test("a misspelled member of a cluster file a row names is reported once, naming that file")
    func clusterFileMisspelling() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("measured-collective-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let text = try Cluster.preset(named: "dgx-h100").jsonText
            .replacingOccurrences(of: "\"nodes\": 1,", with: "\"nodes\": 1, \"devices_per_nvlink_domian\": 8,")
        #expect(text.contains("domian"))
        try Data(text.utf8).write(to: directory.appendingPathComponent("lab.json"))
        let row = #"{"id": "ID", "source": "s", "cluster": "lab.json", "collective": "all_reduce", "size_bytes": 8, "time_us": 10}"#
        let rows = #"{"measurements": [\#(row.replacingOccurrences(of: "ID", with: "a")), \#(row.replacingOccurrences(of: "ID", with: "b"))]}"#
        let (_, misspellings) = try MemberReads.collecting { () throws(InputError) in
            try CollectiveCalibrationReport(document: try JSONValue.parseDocument(Array(rows.utf8), document: "runs.json"),
                                            source: directory.appendingPathComponent("runs.json").path)
        }
        #expect(misspellings.count == 1, "\(misspellings)")
        #expect(misspellings.first?.document == directory.appendingPathComponent("lab.json").path)
        #expect(misspellings.first?.member == "devices_per_nvlink_domian" && misspellings.first?.suggestion == "devices_per_nvlink_domain")
    }

    @Test("a bad row names its JSON path")
    func badRowsNameTheirPath() throws {
        let cases: [(row: String, path: String)] = [
            (#"{"id": "x", "source": "s", "cluster": "dgx-h100", "gpus": 9, "size_bytes": 1, "time_us": 1}"#, "measurements[0].gpus"),
            (#"{"id": "x", "source": "s", "cluster": "dgx-h100", "collective": "all_to_all", "size_bytes": 1, "time_us": 1}"#, "measurements[0].collective"),
            (#"{"id": "x", "source": "s", "cluster": "dgx-h100", "collective": "all_reduce", "size_bytes": 1}"#, "measurements[0].time_us"),
            (#"{"id": "x", "source": "s", "cluster": "dgx-h100", "collective": "all_reduce", "size_bytes": 0, "time_us": 1}"#, "measurements[0].size_bytes"),
            (#"{"id": "x", "source": "s", "cluster": "dgx-h100:0", "size_bytes": 1, "time_us": 1}"#, "measurements[0].cluster"),
            (#"{"id": "x", "source": "s", "cluster": "dgx-h100", "collective": "all_reduce", "size_bytes": 1, "busbw_gb_per_s": -3}"#, "measurements[0].busbw_gb_per_s"),
            (#"{"id": "x", "source": "s", "cluster": "dgx-h100", "collective": "all_reduce", "size_bytes": 1, "busbw_gb_per_s": 1e300}"#, "measurements[0].busbw_gb_per_s"),
            (#"{"id": "x", "source": "s", "cluster": "dgx-h100", "collective": "all_reduce", "size_bytes": 1, "time_us": 1e-300}"#, "measurements[0].time_us"),
            (#"{"id": "x", "source": "s", "cluster": "dgx-h100", "collective": "all_reduce", "size_bytes": 1e28, "time_us": 1}"#, "measurements[0].size_bytes"),
            (#"{"id": "x", "source": "s", "cluster": "dgx-h100", "collective": "all_reduce", "size_bytes": 0.5, "time_us": 1}"#, "measurements[0].size_bytes"),
            (#"{"id": "x", "source": "s", "cluster": "dgx-h100", "collective": "all_reduce", "algorithm": "tree", "size_bytes": 8, "time_us": 1}"#, "measurements[0].algorithm"),
            (#"{"id": "x", "source": "s", "cluster": "dgx-h100:2", "collective": "all_gather", "algorithm": "tree", "size_bytes": 8, "time_us": 1}"#, "measurements[0].algorithm"),
            (#"{"id": "x", "source": "s", "cluster": "dgx-a100-80g", "collective": "all_reduce", "algorithm": "nvls", "size_bytes": 8, "time_us": 1}"#, "measurements[0].algorithm"),
            (#"{"id": "x", "source": "s", "cluster": "dgx-h100:2", "collective": "all_reduce", "gpus": 12, "size_bytes": 8, "time_us": 1}"#, "measurements[0].gpus"),
            (#"{"id": "x", "source": "s", "cluster": "single-h100", "size_bytes": 8, "time_us": 1}"#, "measurements[0].cluster"),
            (#"{"id": "x", "source": "s", "cluster": "dgx-h100", "collective": "all_reduce", "protocol": "fast", "size_bytes": 8, "time_us": 1}"#, "measurements[0].protocol"),
            // A missing member is reported at its object, with the member named (`missing required member "collective"`).
            (#"{"id": "x", "source": "s", "cluster": "dgx-h100", "size_bytes": 8, "time_us": 1}"#, "measurements[0]"),
            (#"{"id": "x", "source": "s", "cluster": "dgx-h100", "collective": null, "size_bytes": 8, "time_us": 1}"#, "measurements[0]"),
            (#"3"#, "measurements[0]"),
        ]
        for (row, path) in cases {
            do {
                _ = try replay(row)
                Issue.record("accepted \(row)")
            } catch let error as InputError {
                #expect(error.path.description == path, "\(row)")
            }
        }
    }

    @Test("a file without measurements is refused")
    func emptyFile() throws {
        do {
            _ = try CollectiveCalibrationReport(document: try document(#"{"measurements": []}"#), source: "test.json")
            Issue.record("accepted an empty file")
        } catch let error as InputError {
            #expect(error.path.description == "measurements")
        }
    }

    @Test("the calibrate command tells a collective file from a training-runs file")
    func documentKinds() throws {
        #expect(CollectiveCalibrationReport.holdsCollectives(try document(#"{"measurements": []}"#)))
        #expect(!CollectiveCalibrationReport.holdsCollectives(try document(#"{"rows": []}"#)))
        #expect(CollectiveCalibrationReport.size(8_388_608) == "8 MiB")
        #expect(CollectiveCalibrationReport.size(1_500_000_000) == "1.4 GiB")
        #expect(CollectiveCalibrationReport.size(512) == "512 B")
    }

    /// Docs/calibration/nccl-tests.json, the published nccl-tests rows (Docs/clusters.md, "Collectives against
    /// nccl-tests").
    static let repositoryRows = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Docs/calibration/nccl-tests.json")

    @Test("the published nccl-tests rows: large messages inside one node within 10%, every size from 256 MiB a median under 7%; Docs/calibration/nccl-tests.md is the replay")
    func publishedRows() throws {
        let text = try String(contentsOf: Self.repositoryRows, encoding: .utf8)
        let report = try CollectiveCalibrationReport(document: try JSONParser.parse(text),
                                                     source: "Docs/calibration/nccl-tests.json")
        #expect(report.replays.count >= 100)
        let large = report.replays.filter { $0.measurement.bytes >= 268_435_456 }
        let oneNodeLarge = large.filter { $0.nodes == 1 }
        #expect(oneNodeLarge.count >= 20)
        #expect(oneNodeLarge.allSatisfy { abs($0.relativeError) <= 0.10 })
        #expect(CollectiveCalibrationReport.summary(large).median < 0.07)
        let markdown = Self.repositoryRows.deletingPathExtension().appendingPathExtension("md")
        #expect(try String(contentsOf: markdown, encoding: .utf8) == report.markdown,
                "regenerate with `shardplan calibrate Docs/calibration/nccl-tests.json -o Docs/calibration/nccl-tests.md`")
    }
}
