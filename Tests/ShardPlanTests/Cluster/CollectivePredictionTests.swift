import Testing
@testable import ShardPlan

@Suite("Collective predictions as nccl-tests prints them")
struct CollectivePredictionTests {
    /// dgx-h100: NVLink4 at 450 GB/s per direction, all-reduce busbw 480 GB/s (NVLS), ring collectives 370 GB/s,
    /// 3.4 us per ring step.
    @Test("1 GiB all-reduce on one DGX H100: NVLS at 480 x 8 / 14 = 274.3 GB/s plus 2 x 25 us, 3,964.68 us, busbw 473.9 GB/s")
    func nvlsAllReduce() throws {
        let cluster = try Cluster.preset(named: "dgx-h100")
        let prediction = try cluster.predictCollective(.allReduce, ranks: 8, bytes: 1_073_741_824)
        // NVLS: 2^30 B / (480e9 x 8 / 14 B/s) + 2 x 25 us = 3,914.68 + 50 = 3,964.68 us. The Simple ring is slower:
        // 8.4 + 14 x 3.4 us + 2 x 7/8 x 2^30 / 370e9 = 56 + 5,078.5 = 5,134.5 us.
        #expect(abs(prediction.seconds - 3_964.68e-6) < 0.01e-6)
        #expect(prediction.algorithm == .nvls && prediction.wireProtocol == .simple)
        #expect(prediction.links == [.intraNode])
        // algbw 2^30 / 3,964.68 us = 270.83 GB/s; busbw x 2 x 7/8 = 473.95 GB/s.
        #expect(abs(prediction.algorithmBandwidth / 1e9 - 270.83) < 0.01)
        #expect(abs(prediction.busBandwidth / 1e9 - 473.95) < 0.01)
    }

    @Test("all-to-all takes nccl-tests' size per rank: 1 GiB each on 8 H100s is 7/8 x 1 GiB / 370 GB/s + 7 x 3.4 us")
    func allToAllPerRankSize() throws {
        let cluster = try Cluster.preset(named: "dgx-h100")
        let prediction = try cluster.predictCollective(.allToAll, ranks: 8, bytes: 1_073_741_824)
        // 7/8 x 2^30 / 370e9 = 2,539.25 us, plus 7 peers x 3.4 us = 23.8 us: 2,563.05 us; busbw = 2^30 / t x 7/8
        // = 366.56 GB/s, the link's 370 less the latency.
        #expect(abs(prediction.seconds - 2_563.05e-6) < 0.01e-6)
        #expect(abs(prediction.busBandwidth / 1e9 - 366.56) < 0.01)
        #expect(prediction.algorithm == nil && prediction.wireProtocol == nil)
    }

    @Test("a group over two DGX H100 nodes crosses the network and NVLink, and is priced as the model's own group of 16")
    func twoNodes() throws {
        let cluster = try Cluster.preset(named: "dgx-h100:2")
        let prediction = try cluster.predictCollective(.allGather, ranks: 16, bytes: 1_073_741_824)
        #expect(prediction.links == [.interNode, .intraNode])
        #expect(prediction.seconds == cluster.collectiveGroup(devices: 0 ..< 16).allGatherSeconds(bytes: 1_073_741_824))
        #expect(try cluster.predictCollective(.allReduce, ranks: 4, bytes: 8).links == [.intraNode])
        // nccl-tests' busbw factors: 2(n-1)/n and (n-1)/n.
        #expect(CollectiveKind.allReduce.busBandwidthFactor(ranks: 16) == 1.875)
        #expect(CollectiveKind.reduceScatter.busBandwidthFactor(ranks: 16) == 0.9375)
    }

    /// dgx-h100:4 one GPU a node (`mpirun -N 1`): a group of 4 over 4 nodes, each node lending it one NDR NIC at
    /// 47 GB/s of ring bus bandwidth (line rate 50 GB/s), 14 us a network step, and no NVLink hop.
    @Test("one GPU a node on four DGX H100s: 1 GiB all-reduce is a Simple ring over one NIC a node, 34,397.72 us; 8 B is an LL ring, 22.80 us")
    func oneGPUPerNodeAllReduce() throws {
        let cluster = try Cluster.preset(named: "dgx-h100:4")
        #expect(try cluster.collectiveRanks(4, perNode: 1) == [0, 8, 16, 24])
        let large = try cluster.predictCollective(.allReduce, ranks: 4, perNode: 1, bytes: 1_073_741_824)
        // Simple ring: busbw min(47, 2 x 3/4 x 50) = 47 GB/s; 2 x 3 steps, all six between nodes:
        // 1.4 x (8.4 + 6 x 14) = 129.36 us, plus 2 x 3/4 x 2^30 / 47e9 = 34,268.36 us: 34,397.72 us.
        // The Simple tree (depth log2 4 = 2) is slower: 2 x 2 x 28 us + 2^30 / (0.5 x 0.92 x 47e9) = 49,776 us;
        // LL128 runs at 0.7 x 47 with one GPU a node, LL at 47 / 4.
        #expect(abs(large.seconds - 34_397.72e-6) < 0.01e-6, "\(large.seconds * 1e6)")
        #expect(large.algorithm == .ring && large.wireProtocol == .simple && large.links == [.interNode])
        #expect(large.ranks == 4 && large.ranksPerNode == 1)
        // busbw = 2^30 / 34,397.72 us x 2 x 3/4 = 46.82 GB/s, one NIC's 47 less the latency.
        #expect(abs(large.busBandwidth / 1e9 - 46.82) < 0.01)
        let small = try cluster.predictCollective(.allReduce, ranks: 4, perNode: 1, bytes: 8)
        // LL ring: 6.6 + 6 x 2.7 us = 22.80 us (plus 12 B / 11.75 GB/s, 0.001 us); the LL tree pays 6.8 + 2 x 2 x 5 = 26.8 us.
        #expect(abs(small.seconds - 22.80e-6) < 0.01e-6, "\(small.seconds * 1e6)")
        #expect(small.algorithm == .ring && small.wireProtocol == .lowLatency)
        // Two a node: each node lends two NICs and the ring hops over NVLink too.
        let two = try cluster.predictCollective(.allReduce, ranks: 8, perNode: 2, bytes: 1_073_741_824)
        #expect(two.links == [.interNode, .intraNode] && two.ranksPerNode == 2)
        #expect(two.seconds == cluster.collectiveGroup(devices: [0, 1, 8, 9, 16, 17, 24, 25]).allReduceSeconds(bytes: 1_073_741_824))
    }

    @Test("ranks per node equal to the node's GPUs is the default layout of whole nodes, for every collective")
    func wholeNodesPerNodeIsTheDefault() throws {
        let cluster = try Cluster.preset(named: "dgx-h100:2")
        #expect(try cluster.collectiveRanks(16, perNode: 8) == Array(0 ..< 16))
        for kind in Cluster.predictableCollectives {
            for bytes in [8.0, 65_536, 33_554_432, 8_589_934_592] {
                #expect(try cluster.predictCollective(kind, ranks: 16, perNode: 8, bytes: bytes)
                        == cluster.predictCollective(kind, ranks: 16, bytes: bytes))
            }
        }
        // Without perNode, ranks inside one node report that many on it.
        #expect(try cluster.predictCollective(.allReduce, ranks: 4, bytes: 8).ranksPerNode == 4)
    }

    @Test("a per-node layout the cluster cannot hold is refused with the reason",
          arguments: [(4, 0, "0 ranks per node on dgx-h100:2, whose nodes hold 8 devices; give 1 to 8"),
                      (18, 9, "9 ranks per node on dgx-h100:2, whose nodes hold 8 devices"),
                      (12, 8, "12 ranks do not fill nodes of 8 ranks each; give a multiple of 8"),
                      (3, 1, "3 ranks at 1 per node take 3 nodes; dgx-h100:2 has 2"),
                      (1, 1, "2 or more ranks")])
    func perNodeRefusals(ranks: Int, perNode: Int, message: String) throws {
        let cluster = try Cluster.preset(named: "dgx-h100:2")
        let error = #expect(throws: InputError.self) { try cluster.predictCollective(.allReduce, ranks: ranks, perNode: perNode, bytes: 8) }
        #expect(error?.message.contains(message) == true, "\(error?.message ?? "accepted")")
    }

    @Test("ranks the model does not lay out, sizes that are not positive and sends are refused with a clear error",
          arguments: [(1, 8.0, CollectiveKind.allReduce, "2 or more ranks"),
                      (17, 8.0, .allReduce, "17 ranks on dgx-h100:2, which has 16 devices"),
                      (12, 8.0, .allReduce, "at most 8 (one node) or a multiple of 8"),
                      (16, 0.0, .allReduce, "sizes are positive"),
                      (16, 8.0, .sendReceive, "send_recv is not a collective")])
    func refusals(ranks: Int, bytes: Double, kind: CollectiveKind, message: String) throws {
        let cluster = try Cluster.preset(named: "dgx-h100:2")
        let error = #expect(throws: InputError.self) { try cluster.predictCollective(kind, ranks: ranks, bytes: bytes) }
        #expect(error?.message.contains(message) == true, "\(error?.message ?? "accepted")")
    }
}
