import Testing
@testable import ShardPlan

/// Two nodes of 8 devices with round figures and no efficiency loss: NVLink 300 GB/s and 3 us a step, network
/// 25 GB/s a device and 10 us a step.
private let roundCluster = Cluster(
    name: "round", nodes: 2, devicesPerNode: 8,
    device: DeviceSpec(name: "test", memoryBytes: 80 * 1_073_741_824, peakFLOPsPerSecond: [.bf16: 300e12], memoryBandwidth: 2e12),
    intraNode: LinkSpec(bandwidth: 300e9, latency: 3e-6, collectiveEfficiency: 1),
    interNode: LinkSpec(bandwidth: 25e9, latency: 10e-6, collectiveEfficiency: 1))

private func close(_ actual: Double, _ expected: Double) -> Bool {
    abs(actual - expected) <= 1e-12 + 1e-9 * abs(expected)
}

/// Qwen3-30B-A3B's routing: each token to 8 of 128 experts.
private let qwenRouting = TokenDispatch(experts: 128, topK: 8, deduplicates: true)

@Suite("Token dispatch")
struct TokenDispatchCostTests {
    @Test("a token misses a rank of 16 of 128 experts with chance 112/128 x 111/127 x ... x 105/121 = 0.3326 when it picks 8")
    func missChance() {
        #expect(abs(qwenRouting.missChance(held: 16) - 0.332_580_388) < 1e-9)
        #expect(TokenDispatch(experts: 8, topK: 2).missChance(held: 2) == 6.0 / 8 * 5 / 7)
        #expect(TokenDispatch(experts: 8, topK: 2).missChance(held: 8) == 0, "a node that holds every expert is always reached")
    }

    /// 16 devices over 2 nodes re-split 1.6 GB (100 MB a device): 8/16 of it leaves through the device's NIC (2 ms
    /// at 25 GB/s) while 7/16 crosses NVLink (0.146 ms at 300 GB/s); 7 steps of 3 us and 8 of 10 us.
    @Test("NCCL's all-to-all across nodes: the remote share through the NIC beside the local share over NVLink, 2.101 ms")
    func allToAllAcrossNodes() {
        let group = roundCluster.collectiveGroup(devices: 0 ..< 16)
        #expect(close(group.allToAllSeconds(bytes: 1.6e9), 0.5 * 1e8 / 25e9 + 7 * 3e-6 + 8 * 10e-6))
        #expect(close(group.allToAllSeconds(bytes: 1.6e9), 2.101e-3))
    }

    /// 8 devices of one node, 100 MB of permuted tokens a device (8 copies of 12.5 MB): each token reaches
    /// 8 x (1 - 0.3326) = 5.34 ranks, 7/8 of them others: 12.5 MB x 7 x 0.6674 = 58.4 MB at 300 GB/s, 194.7 us, and 7
    /// steps of 3 us, against the all-to-all's 7/8 x 100 MB, 291.7 us.
    @Test("DeepEP inside a node sends a token once to each other rank that holds one of its experts: 215.7 us against 312.7 us")
    func deduplicatedInsideANode() {
        let node = roundCluster.collectiveGroup(devices: 0 ..< 8)
        let tokenBytes = 1e8 / 8
        let expected = tokenBytes * 7 * (1 - 0.332_580_388_077) / 300e9 + 7 * 3e-6
        #expect(close(node.deduplicatedAllToAllSeconds(bytes: 8e8, dispatch: qwenRouting), expected))
        #expect(abs(node.deduplicatedAllToAllSeconds(bytes: 8e8, dispatch: qwenRouting) - 215.664e-6) < 0.001e-6)
        #expect(close(node.allToAllSeconds(bytes: 8e8), 7.0 / 8 * 1e8 / 300e9 + 7 * 3e-6))
        // One expert a rank and one expert a token: nothing to deduplicate, the all-to-all's own time.
        let single = TokenDispatch(experts: 8, topK: 1, deduplicates: true)
        #expect(close(node.deduplicatedAllToAllSeconds(bytes: 8e8, dispatch: single), node.allToAllSeconds(bytes: 8e8)))
    }

    /// 16 devices over 2 nodes, 64 experts a node: a token reaches the other node with chance 1 - 0.0031 and crosses
    /// once, 12.5 MB x 0.9969 at 25 GB/s = 498.5 us; over NVLink it reaches 16 x (1 - 0.5877) = 6.60 ranks, 7/8 of
    /// them forwarded, 72.1 MB at 300 GB/s = 240.5 us, at the same time; 7 steps of 3 us and 1 of 10 us. The NCCL
    /// all-to-all sends the 4 copies bound for the other node: 2.101 ms.
    @Test("DeepEP across nodes sends a token once to each other node, forwarded over NVLink there: 529.5 us against 2.101 ms")
    func deduplicatedAcrossNodes() {
        let group = roundCluster.collectiveGroup(devices: 0 ..< 16)
        let tokenBytes = 1e8 / 8
        let network = tokenBytes * (1 - 0.003_095_864_277) / 25e9
        let forwarded = tokenBytes * 16 * (1 - 0.587_717_949_312) * 7 / 8 / 300e9
        #expect(forwarded < network)
        #expect(close(group.deduplicatedAllToAllSeconds(bytes: 1.6e9, dispatch: qwenRouting), network + 7 * 3e-6 + 10e-6))
        #expect(abs(group.deduplicatedAllToAllSeconds(bytes: 1.6e9, dispatch: qwenRouting) - 529.452e-6) < 0.001e-6)
    }

    @Test("a dispatch under a deduplicating dispatcher marks its all-to-alls, which the mesh prices so; other collectives stay NCCL's")
    func reshardingMarksTheDispatch() throws {
        let source = ShardingSpec(dimensionAxes: [[0, 1], [2], []]), target = ShardingSpec(dimensionAxes: [[0], [], [1, 2]])
        let plain = Resharding.collectives(from: source, to: target, elementCount: 16384, bytesPerElement: 4, meshShape: [2, 2, 2, 2],
                                           dispatch: TokenDispatch(experts: 8, topK: 2))
        let deduplicating = TokenDispatch(experts: 8, topK: 2, deduplicates: true)
        let marked = Resharding.collectives(from: source, to: target, elementCount: 16384, bytesPerElement: 4, meshShape: [2, 2, 2, 2],
                                            dispatch: deduplicating)
        #expect(plain == [Collective(.allToAll, axes: [1, 2], bytes: 8192)])
        #expect(marked == [Collective(.allToAll, axes: [1, 2], bytes: 8192, dispatch: deduplicating)])
        let mesh = try DeviceMesh(devices: Array(0 ..< 16), shape: [2, 2, 2, 2], in: roundCluster)
        let group = mesh.collectiveGroup(alongAxes: [1, 2])
        #expect(close(mesh.seconds(for: marked[0]), group.deduplicatedAllToAllSeconds(bytes: 4 * 8192, dispatch: deduplicating)))
        #expect(close(mesh.seconds(for: plain[0]), group.allToAllSeconds(bytes: 4 * 8192)))
        // A layout change that is not a dispatch carries no routing.
        #expect(Resharding.collectives(from: source, to: target, elementCount: 16384, bytesPerElement: 4, meshShape: [2, 2, 2, 2])
            .allSatisfy { $0.dispatch == nil })
    }
}
