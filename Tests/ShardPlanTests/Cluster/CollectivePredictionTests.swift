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
