import ArgumentParser
import ShardPlan
import Testing
@testable import shardplan

@Suite("shardplan clusters NAME --collective: the model's nccl-tests table")
struct CollectiveTableTests {
    @Test("the default sweep is nccl-tests' -b 8 -e 8G -f 2 on every device; the 1 GiB line of one DGX H100 is NVLS at 3,964.68 us")
    func textTable() throws {
        let command = try #require(try ShardPlanCommand.parseAsRoot(["clusters", "dgx-h100", "--collective", "all-reduce"]) as? ClustersCommand)
        let table = try CollectiveTable(cluster: try resolveCluster("dgx-h100"), kind: try #require(command.collective).kind,
                                        ranks: command.ranks, sizes: (command.sizes ?? .defaultSweep).bytes)
        #expect(table.ranks == 8 && table.predictions.count == 31)
        #expect(table.predictions.first?.bytes == 8 && table.predictions.last?.bytes == 8_589_934_592)
        // 2^30 B over NVLS's 480 x 8 / 14 GB/s plus 2 x 25 us: 3,964.68 us, algbw 270.83, busbw x 1.75 = 473.95 GB/s.
        let lines = table.text.split(separator: "\n")
        #expect(lines.contains { $0.hasPrefix("  1073741824    3964.68  270.83  473.95  nvls       Simple    intra_node") }, "\(table.text)")
        #expect(lines[0] == "# all_reduce on dgx-h100, 8 ranks: 1 node x 8 (predicted by ShardPlan's collective model; busbw = algbw x 2(n-1)/n)")
    }

    @Test("--format json gives one row a size with calibrate's member names and the model's choice")
    func jsonTable() throws {
        let sizes = try ByteSizes(parsing: "1G,8")
        let table = try CollectiveTable(cluster: try resolveCluster("dgx-h100:2"), kind: .allToAll, ranks: 8, sizes: sizes.bytes)
        guard case .object(let top) = table.json, case .array(let rows)? = top["rows"], case .object(let row)? = rows.first else {
            Issue.record("not a table: \(table.json)"); return
        }
        #expect(top["cluster"] == .string("dgx-h100:2") && top["collective"] == .string("all_to_all"))
        #expect(top["ranks"] == .int(8) && top["domains"] == .int(1) && rows.count == 2)
        // 7/8 x 2^30 / 370e9 + 7 x 3.4 us = 2,563.05 us; busbw 2^30 / t x 7/8 = 366.56 GB/s. All-to-all has no algorithm.
        #expect(row["size_bytes"] == .int(1_073_741_824) && row["time_us"] == .number(2563) && row["busbw_gb_per_s"] == .number(366.6))
        // Every row has every member the docs list: an all-to-all's algorithm and protocol are null.
        #expect(row["algorithm"] == .null && row["protocol"] == .null && row["links"] == .array([.string("intra_node")]))
        #expect(Array(row.keys) == ["size_bytes", "time_us", "algbw_gb_per_s", "busbw_gb_per_s", "algorithm", "protocol", "links"])
    }

    @Test("--ranks-per-node 8 on DGX H100 nodes prints what the default prints, text and JSON, over the whole sweep")
    func wholeNodesAreTheDefault() throws {
        let cluster = try resolveCluster("dgx-h100:2")
        let sizes = ByteSizes.defaultSweep.bytes
        let filled = try CollectiveTable(cluster: cluster, kind: .allReduce, ranks: nil, sizes: sizes)
        let perNode = try CollectiveTable(cluster: cluster, kind: .allReduce, ranks: nil, ranksPerNode: 8, sizes: sizes)
        #expect(perNode.text == filled.text && perNode.json == filled.json)
        #expect(perNode.text.hasPrefix("# all_reduce on dgx-h100:2, 16 ranks: 2 nodes x 8 ("))
        let eight = try CollectiveTable(cluster: cluster, kind: .allGather, ranks: 8, ranksPerNode: 8, sizes: sizes)
        #expect(eight.text == (try CollectiveTable(cluster: cluster, kind: .allGather, ranks: 8, sizes: sizes)).text)
    }

    @Test("--ranks-per-node 1 on four DGX H100s: ranks default to one a node, the header and JSON say so, the 1 GiB line is 34,397.72 us")
    func oneGPUPerNode() throws {
        let command = try #require(try ShardPlanCommand.parseAsRoot(["clusters", "dgx-h100:4", "--collective", "all-reduce", "--ranks-per-node", "1",
                                                                     "--sizes", "8,1G"]) as? ClustersCommand)
        let table = try CollectiveTable(cluster: try resolveCluster("dgx-h100:4"), kind: .allReduce, ranks: command.ranks,
                                        ranksPerNode: command.ranksPerNode, sizes: try #require(command.sizes).bytes)
        let lines = table.text.split(separator: "\n")
        #expect(lines[0].hasPrefix("# all_reduce on dgx-h100:4, 4 ranks: 4 nodes x 1 ("))
        // 1.4 x (8.4 + 6 x 14) us + 2 x 3/4 x 2^30 / 47e9 = 34,397.72 us (CollectivePredictionTests); 8 B: 6.6 + 6 x 2.7 = 22.80 us.
        #expect(lines.contains { $0.hasPrefix("  1073741824   34397.72   31.22   46.82  ring       Simple    inter_node") }, "\(table.text)")
        #expect(lines.contains { $0.hasPrefix("           8      22.80    0.00    0.00  ring       LL        inter_node") }, "\(table.text)")
        guard case .object(let top) = table.json else { Issue.record("not an object"); return }
        #expect(top["ranks"] == .int(4) && top["ranks_per_node"] == .int(1) && top["domains"] == .int(4))
        // The default layout reports the ranks it puts on a node too: 8 on each of two nodes, 4 inside one.
        guard case .object(let filled) = try CollectiveTable(cluster: try resolveCluster("dgx-h100:2"), kind: .allReduce, ranks: 4, sizes: [8]).json
        else { Issue.record("not an object"); return }
        #expect(filled["ranks_per_node"] == .int(4) && filled["domains"] == .int(1))
        // On a rack whose NVLink domain spans its trays, one GPU a tray stays on NVLink, and the header says how many a node.
        let rack = try CollectiveTable(cluster: try resolveCluster("gb200-nvl72"), kind: .allReduce, ranks: nil, ranksPerNode: 1, sizes: [8])
        #expect(rack.text.hasPrefix("# all_reduce on gb200-nvl72, 18 ranks: 1 NVLink domain x 18, 1 per node ("))
        #expect(rack.predictions.first?.links == [.intraNode])
    }

    @Test("sizes: counts with K, M, G (powers of 1024) and doubling ranges up to 2^50; zero, negatives, words and larger sizes are refused")
    func sizes() throws {
        #expect(try ByteSizes(parsing: "8,1K,2M,1G").bytes == [8, 1024, 2 << 20, 1 << 30])
        #expect(try ByteSizes(parsing: "8..64").bytes == [8, 16, 32, 64])
        #expect(try ByteSizes(parsing: "1M..3M").bytes == [1 << 20, 2 << 20])
        #expect(try ByteSizes(parsing: "1048576G").bytes == [1 << 50] && ByteSizes.largest == 1_125_899_906_842_624)
        #expect(ByteSizes.defaultSweep.bytes.count == 31)
        for bad in ["0", "-8", "8,", "eight", "8..", "64..8", "1.5K", "9999999999G", "1048577G", "1125899906842625",
                    "9223372036854775807", "99999999999999999999", "8..9223372036854775807"] {
            #expect(throws: ValidationError.self, "\(bad)") { try ByteSizes(parsing: bad) }
        }
        let error = #expect(throws: ValidationError.self) { try ByteSizes(parsing: "8,9223372036854775807") }
        #expect(error?.message == "9223372036854775807 is over the largest size, 1125899906842624 bytes (2^50, 1048576G)")
        #expect(CollectiveChoice(argument: "all_gather")?.kind == .allGather && CollectiveChoice(argument: "alltoall")?.kind == .allToAll)
        #expect(CollectiveChoice(argument: "send-recv") == nil)
    }

    @Test("--collective without NAME, --ranks or --sizes without --collective, --ranks 1 and bad sizes are usage errors (exit 2)")
    func usageErrors() {
        #expect(exitCode(["clusters", "--collective", "all-reduce"]) == 2)
        #expect(exitCode(["clusters", "dgx-h100", "--ranks", "4"]) == 2)
        #expect(exitCode(["clusters", "dgx-h100", "--sizes", "8..1K"]) == 2)
        #expect(exitCode(["clusters", "dgx-h100", "--collective", "all-reduce", "--ranks", "1"]) == 2)
        #expect(exitCode(["clusters", "dgx-h100", "--collective", "all-reduce", "--sizes", "0"]) == 2)
        #expect(exitCode(["clusters", "dgx-h100", "--collective", "broadcast"]) == 2)
        #expect(exitCode(["clusters", "dgx-h100:2", "--collective", "alltoall", "--ranks", "16", "--sizes", "1K", "--format", "json"]) == nil)
        #expect(exitCode(["clusters", "dgx-h100:2", "--ranks-per-node", "1"]) == 2)
        #expect(exitCode(["clusters", "dgx-h100:2", "--collective", "all-reduce", "--ranks-per-node", "0"]) == 2)
        #expect(exitCode(["clusters", "dgx-h100:2", "--collective", "all-reduce", "--ranks-per-node", "4", "--ranks", "6"]) == 2)
        #expect(exitCode(["clusters", "dgx-h100:2", "--collective", "all-reduce", "--ranks-per-node", "4", "--ranks", "8"]) == nil)
    }

    @Test("a size over 2^50 is a usage error giving the bound, never a trap; 2^50 itself prints as an integer in text and JSON")
    func largestSize() throws {
        func message(_ arguments: [String]) -> String? {
            do { _ = try ClustersCommand.parse(arguments); return nil } catch { return ClustersCommand.message(for: error) }
        }
        for sizes in ["9223372036854775807", "8..9223372036854775807", "1048577G"] {
            #expect(exitCode(["clusters", "dgx-h100", "--collective", "all-reduce", "--sizes", sizes, "--format", "json"]) == 2)
            #expect(message(["dgx-h100", "--collective", "all-gather", "--sizes", sizes])?.contains("over the largest size, 1125899906842624 bytes (2^50, 1048576G)") == true,
                    "\(message(["dgx-h100", "--collective", "all-gather", "--sizes", sizes]) ?? "accepted")")
        }
        for kind in Cluster.predictableCollectives {
            let table = try CollectiveTable(cluster: try resolveCluster("dgx-h100"), kind: kind, ranks: nil, sizes: [ByteSizes.largest])
            #expect(table.text.split(separator: "\n").last?.hasPrefix(" 1125899906842624 ") == true, "\(table.text)")
            #expect(JSONWriter(inlineDepth: 3, lineWidth: 110).render(table.json).contains("\"size_bytes\": 1125899906842624,"))
        }
    }

    @Test("--ranks -3 and --ranks-per-node -1 reach the command's own message, not \"Missing value\"")
    func negativeRanks() {
        func message(_ arguments: [String]) -> String? {
            do { _ = try ClustersCommand.parse(arguments); return nil } catch { return ClustersCommand.message(for: error) }
        }
        #expect(message(["dgx-h100", "--collective", "all-reduce", "--ranks", "-3"]) == "--ranks must be 2 or more; a collective on -3 ranks moves nothing.")
        #expect(message(["dgx-h100", "--collective", "all-reduce", "--ranks-per-node", "-1"]) == "--ranks-per-node must be 1 or more, not -1.")
        #expect(message(["dgx-h100", "--collective", "all-reduce", "--sizes", "-8"])?.contains("a size is 1 byte or more, not -8") == true)
        #expect(exitCode(["clusters", "dgx-h100", "--collective", "all-reduce", "--ranks", "-3"]) == 2)
    }

    @Test("the header titles a cluster file as plan output does (NAME from FILE) and escapes a line break in its name")
    func headerNamesTheFile() throws {
        var cluster = try resolveCluster("dgx-h100")
        let file = try CollectiveTable(cluster: cluster, named: "./dgx-h100", kind: .allReduce, ranks: nil, sizes: [8])
        #expect(file.text.hasPrefix("# all_reduce on dgx-h100 from ./dgx-h100, 8 ranks: 1 node x 8 ("), "\(file.text)")
        let preset = try CollectiveTable(cluster: cluster, named: "dgx-h100", kind: .allReduce, ranks: nil, sizes: [8])
        #expect(preset.text.hasPrefix("# all_reduce on dgx-h100, 8 ranks"))
        cluster.name = "lab\n1073741824 0.01 1e9"
        let broken = try CollectiveTable(cluster: cluster, named: "lab.json", kind: .allReduce, ranks: nil, sizes: [8])
        let lines = broken.text.split(separator: "\n")
        #expect(lines.count == 4 && lines[0].hasPrefix("# all_reduce on lab\\n1073741824 0.01 1e9 from lab.json, 8 ranks"), "\(broken.text)")
    }

    @Test("columns widen to fit huge values, a space before each: 8 GiB over an intra-node link of 1e-6 GB/s")
    func wideColumns() throws {
        var cluster = try resolveCluster("dgx-h100")
        cluster.intraNode = LinkSpec(bandwidth: 1e3, latency: 3.4e-6)
        let table = try CollectiveTable(cluster: cluster, kind: .allGather, ranks: nil, sizes: [8, 8 << 30])
        let lines = table.text.split(separator: "\n").map(String.init)
        // 7/8 x 2^33 B / (0.8 x 1e3 B/s) = 9.39e6 s: a time column of 17 characters.
        let fields = lines[4].split(separator: " ")
        #expect(fields.count == 7 && fields[0] == "8589934592" && fields[1].count == 16, "\(table.text)")
        // Every column's right edge lines up with its header's.
        for label in ["size", "time", "algbw", "busbw"] {
            let header = try #require(lines[1].range(of: label)).upperBound.utf16Offset(in: lines[1])
            let column = ["size": 0, "time": 1, "algbw": 2, "busbw": 3][label]!
            for line in lines[3...] {
                let cell = try #require(line.split(separator: " ").dropFirst(column).first)
                #expect(cell.endIndex.utf16Offset(in: line) == header, "\(label): \(table.text)")
            }
        }
        // The usual widths are kept where values fit (the 1 GiB line of the default sweep, textTable above).
        #expect(try CollectiveTable(cluster: try resolveCluster("dgx-h100"), kind: .allReduce, ranks: nil, sizes: [1 << 30]).text
                    .contains("\n  1073741824    3964.68  270.83  473.95  nvls"))
    }

    @Test("one device, or one GPU a node on one node, is refused naming the cluster")
    func oneRankNamesTheCluster() throws {
        var single = try resolveCluster("dgx-h100")
        single.devicesPerNode = 1
        single.intraNode = nil
        single.name = "lab"
        let error = #expect(throws: InputError.self) { try CollectiveTable(cluster: single, kind: .allReduce, ranks: nil, sizes: [8]) }
        #expect(error?.message == "a collective takes 2 or more ranks; lab has 1 device", "\(error?.message ?? "accepted")")
        let perNode = #expect(throws: InputError.self) {
            try CollectiveTable(cluster: try resolveCluster("dgx-h100"), kind: .allReduce, ranks: nil, ranksPerNode: 1, sizes: [8])
        }
        #expect(perNode?.message == "a collective takes 2 or more ranks; 1 at 1 per node on dgx-h100, which has 1 node of 8 devices",
                "\(perNode?.message ?? "accepted")")
    }

    @Test("ranks the cluster cannot hold or lay out are an input error (exit 1) naming the cluster")
    func inputErrors() throws {
        for ranks in ["9", "12"] {
            var command = try ShardPlanCommand.parseAsRoot(["clusters", "dgx-h100:1", "--collective", "all-reduce", "--ranks", ranks])
            #expect(throws: ExitCode.failure) { try command.run() }
        }
        // More ranks a node than a node holds, more nodes than the cluster has, and one GPU a node on one node.
        for arguments in [["--ranks-per-node", "9"], ["--ranks-per-node", "4", "--ranks", "12"], ["--ranks-per-node", "1", "--ranks", "4"]] {
            var command = try ShardPlanCommand.parseAsRoot(["clusters", "dgx-h100:2", "--collective", "all-reduce", "--sizes", "8"] + arguments)
            #expect(throws: ExitCode.failure) { try command.run() }
        }
        let cluster = try resolveCluster("dgx-h100:2")
        let error = #expect(throws: InputError.self) {
            try CollectiveTable(cluster: cluster, kind: .allReduce, ranks: 12, ranksPerNode: 4, sizes: [8])
        }
        #expect(error?.message == "12 ranks at 4 per node take 3 nodes; dgx-h100:2 has 2", "\(error?.message ?? "accepted")")
    }
}
