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
        let sizes = try #require(ByteSizes(argument: "1G,8"))
        let table = try CollectiveTable(cluster: try resolveCluster("dgx-h100:2"), kind: .allToAll, ranks: 8, sizes: sizes.bytes)
        guard case .object(let top) = table.json, case .array(let rows)? = top["rows"], case .object(let row)? = rows.first else {
            Issue.record("not a table: \(table.json)"); return
        }
        #expect(top["cluster"] == .string("dgx-h100:2") && top["collective"] == .string("all_to_all"))
        #expect(top["ranks"] == .int(8) && top["domains"] == .int(1) && rows.count == 2)
        // 7/8 x 2^30 / 370e9 + 7 x 3.4 us = 2,563.05 us; busbw 2^30 / t x 7/8 = 366.56 GB/s. All-to-all has no algorithm.
        #expect(row["size_bytes"] == .int(1_073_741_824) && row["time_us"] == .number(2563) && row["busbw_gb_per_s"] == .number(366.6))
        #expect(row["algorithm"] == nil && row["links"] == .array([.string("intra_node")]))
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

    @Test("sizes: counts with K, M, G (powers of 1024) and doubling ranges; zero, negatives and words are refused")
    func sizes() {
        #expect(ByteSizes(argument: "8,1K,2M,1G")?.bytes == [8, 1024, 2 << 20, 1 << 30])
        #expect(ByteSizes(argument: "8..64")?.bytes == [8, 16, 32, 64])
        #expect(ByteSizes(argument: "1M..3M")?.bytes == [1 << 20, 2 << 20])
        #expect(ByteSizes.defaultSweep.bytes.count == 31)
        for bad in ["0", "-8", "8,", "eight", "8..", "64..8", "1.5K", "9999999999G"] { #expect(ByteSizes(argument: bad) == nil, "\(bad)") }
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
