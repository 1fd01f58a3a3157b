import Testing
@testable import ShardPlan

/// One attention block: tokens `[1, 4096]` embedded to x `[1, 4096, 1024]` (the token input marks the sequence),
/// projected to q (32 heads) and k, v (8 key/value heads) of head
/// dimension 128, causal fused attention, output projection, mean loss. Under Megatron's context parallelism of
/// 4 every op splits the sequence, and K and V travel the ring.
private func attentionBlock(sequence: Int = 4096) throws -> Graph {
    var builder = GraphBuilder(name: "attention-block")
    let tokens = try builder.input("tokens", [1, sequence], .i32)
    let table = try builder.parameter("table", [1000, 1024])
    let x = try builder.add("x", .embedding, [tokens, table])
    let wq = try builder.parameter("wq", [1024, 32, 128])
    let wk = try builder.parameter("wk", [1024, 8, 128])
    let wv = try builder.parameter("wv", [1024, 8, 128])
    let wo = try builder.parameter("wo", [32, 128, 1024])
    let q = try builder.einsum("q", "bsd,dhk->bshk", x, wq)
    let k = try builder.einsum("k", "bsd,dhk->bshk", x, wk)
    let v = try builder.einsum("v", "bsd,dhk->bshk", x, wv)
    let context = try builder.attention("attention", q: q, k: k, v: v, causal: true)
    let out = try builder.einsum("out", "bshk,hkd->bsd", context, wo)
    builder.output(try builder.add("loss", .reduce(.mean, axes: [0, 1, 2], keepDimensions: false), [out]))
    return try builder.build()
}

/// Four devices on one node joined by a link of `gbPerSecond` with no efficiency loss and 3 us per step.
private func node(gbPerSecond: Double) -> Cluster {
    Cluster(name: "node", nodes: 1, devicesPerNode: 4,
            device: DeviceSpec(name: "test", memoryBytes: 80 * 1_073_741_824, peakFLOPsPerSecond: [.bf16: 1000e12],
                               memoryBandwidth: 3e12, multiprocessors: 132),
            intraNode: LinkSpec(bandwidth: gbPerSecond * 1e9, latency: 3e-6, collectiveEfficiency: 1), interNode: nil)
}

@Suite("Context parallelism")
struct ContextParallelTests {
    func contextParallelStage(_ graph: Graph, _ cluster: Cluster) throws -> (StageLayout, StageCostModel) {
        let layout = MegatronLayout(contextParallel: true)
        let meshShape = [1, 4, 1]
        let mesh = try DeviceMesh(devices: [0, 1, 2, 3], shape: meshShape, in: cluster)
        let stage = StageLayout(operations: 0 ..< graph.operations.count, mesh: mesh,
                                strategies: layout.strategies(for: graph, meshShape: meshShape))
        let model = StageCostModel(graph: graph, kernels: KernelModel(device: cluster.device), options: TrainingOptions(), microbatches: 1)
        return (stage, model)
    }

    @Test("Megatron's CP splits every op's sequence and the attention's queries; keys stay whole")
    func layout() throws {
        let graph = try attentionBlock()
        let (stage, _) = try contextParallelStage(graph, node(gbPerSecond: 300))
        let attention = try #require(graph.operations.firstIndex { $0.name == "attention" })
        let space = graph.operations[attention].indexSpace
        #expect(stage.strategy(of: attention).indexOfAxis == [nil, space.indices.firstIndex { $0.name == "query" }, nil])
        #expect(ContextParallelExchange.ringSize(graph.operations[attention], stage.strategy(of: attention), meshShape: [1, 4, 1]) == 4)
        // k is produced split along the sequence and wanted whole: an all-gather over the context axis.
        #expect(stage.strategy(of: attention).operandSpec(1, in: space) == ShardingSpec(dimensionAxes: [[], [], [], []]))
    }

    @Test("the ring moves K and V: at 16,384 tokens each 16384 x 8 x 128 x 2 = 33,554,432 bytes, gathered forward and reduce-scattered back")
    func ringTraffic() throws {
        let graph = try attentionBlock(sequence: 16384)
        let (stage, model) = try contextParallelStage(graph, node(gbPerSecond: 300))
        let cost = model.cost(of: stage)
        #expect(abs(cost.communicationBytes[.allGather]! - 2 * 33_554_432) < 1e-3)
        #expect(abs(cost.communicationBytes[.reduceScatter]! - 2 * 33_554_432) < 1e-3)
        // On 300 GB/s one gather takes 3/4 x 33,554,432 / 300e9 + 3 x 3 us = 92.9 us, less than half the attention
        // kernels of the three overlapped steps (4 x 4096 x 16384 x 32 x 128 / 2 FLOPs a device, about 0.2 ms):
        // nothing is exposed.
        #expect(cost.communicationSeconds[.allGather] == 0 && cost.communicationSeconds[.reduceScatter] == 0)
    }

    @Test("on a slow link only what exceeds the overlapped attention is exposed: max(0, gather - attention x 3/4 / 2) each for K and V")
    func exposedExchange() throws {
        let graph = try attentionBlock()
        let cluster = node(gbPerSecond: 1)
        let (stage, model) = try contextParallelStage(graph, cluster)
        let attention = try #require(graph.operations.firstIndex { $0.name == "attention" })
        let attentionCost = model.operatorModel(meshShape: [1, 4, 1]).cost(attention, stage.strategy(of: attention))
        // 3/4 x 8,388,608 B / 1e9 B/s = 6.291456 ms per tensor, plus the ring's latency (NCCL's model, tens of us).
        let gather = stage.mesh.seconds(for: Collective(.allGather, axes: [1], bytes: 8_388_608))
        #expect(gather >= 6.291456e-3 && gather < 6.291456e-3 + 100e-6)
        let forward = 2 * max(0, gather - attentionCost.forwardSeconds * 0.75 / 2)
        let backward = 2 * max(0, gather - attentionCost.backwardSeconds * 0.75 / 2)
        let cost = model.cost(of: stage)
        #expect(forward > 0 && abs(cost.communicationSeconds[.allGather]! - forward) < 1e-12)
        #expect(abs(cost.communicationSeconds[.reduceScatter]! - backward) < 1e-12)
    }

    /// TransformerEngine's ring of 4 around its attention kernels, for a local query chunk of 1,000 bytes, K and V
    /// chunks of 500 and a log-sum-exp of 10. Forward: K and V into the exchange buffer (2 x 500), three half-chunk
    /// copies (3 x 1,000), the accumulator zeroed (1,000), the log-sum-exp cloned (20), widened (30), corrected
    /// three times (3 x 50) and narrowed (30), four output corrections (4 x (3 x 1,000 + 20)): 17,310 bytes in 15
    /// kernels. Backward: half the log-sum-exp (10), K and V (1,000), three copies each of half q, out and dout
    /// (9,000), four concatenations of dk and dv (4,000), dq copied then added three times (2,000 + 9,000), dk/dv
    /// likewise (1,000 + 4,500): 30,510 bytes in 23 kernels.
    @Test("the ring's bookkeeping kernels by hand: a ring of 4 moves 17,310 bytes in 15 kernels forward and 30,510 in 23 backward")
    func ringBookkeeping() {
        let ring = ContextParallelExchange.bookkeeping(ringSize: 4, query: 1000, keyValue: 500, statistics: 10)
        #expect(ring.forward.bytes == 17_310 && ring.forward.kernels == 15)
        #expect(ring.backward.bytes == 30_510 && ring.backward.kernels == 23)
        let alone = ContextParallelExchange.bookkeeping(ringSize: 1, query: 1000, keyValue: 500, statistics: 10)
        #expect(alone.forward.bytes == 0 && alone.backward.kernels == 0)
    }

    @Test("activations per device are a quarter of one device's under cp = 4")
    func activationMemory() throws {
        let graph = try attentionBlock()
        let cluster = node(gbPerSecond: 300)
        let (stage, model) = try contextParallelStage(graph, cluster)
        let alone = try StageLayout.unsharded(graph, on: cluster)
        let (split, whole) = (model.cost(of: stage).activationBytesPerMicrobatch, model.cost(of: alone).activationBytesPerMicrobatch)
        #expect(abs(split * 4 / whole - 1) < 1e-9)
    }

    /// The search prices each parameter's gradient synchronisation on its own where the exact model buckets
    /// them, so they differ by the fixed costs of the separate all-reduces: under NCCL's latency model (protocol
    /// and algorithm chosen per message) a few times one small all-reduce per parameter (5 parameters here).
    /// Layouts that give a parameter ZeRO-3 are priced above the exact model, which overlaps its gathers.
    @Test("the ILP prices the ring as the exact model does, for the ILP's choice and random layouts", arguments: [1.0, 300.0])
    func searchAgrees(gbPerSecond: Double) throws {
        let graph = try attentionBlock(sequence: 8192)
        let cluster = node(gbPerSecond: gbPerSecond)
        let mesh = try DeviceMesh(devices: [0, 1, 2, 3], shape: [4], in: cluster)
        let model = StageCostModel(graph: graph, kernels: KernelModel(device: cluster.device), options: TrainingOptions(), microbatches: 1)
        let stage = StageShardingProblem(operations: 0 ..< graph.operations.count, mesh: mesh, model: model, inFlight: 1,
                                         memoryBudget: nil, layers: [])
        var random = SplitMix64(seed: 13)
        var choices = [try ShardingSolver().solve(stage.problem).choice]
        for _ in 0 ..< 40 { choices.append(stage.problem.nodes.map { Int.random(in: 0 ..< $0.costs.count, using: &random) }) }
        let attention = try #require(graph.operations.firstIndex { $0.name == "attention" })
        var rings = 0
        for choice in choices {
            let layout = stage.layout(for: choice)
            if ContextParallelExchange.ringSize(graph.operations[attention], layout.strategy(of: attention), meshShape: [4]) > 1 { rings += 1 }
            let cost = model.cost(of: layout)
            let exact = cost.forwardSeconds + cost.backwardSeconds + cost.gradientSynchronizationSeconds + cost.optimizerSeconds
            let objective = stage.problem.cost(of: choice)
            let latency = mesh.seconds(for: Collective(.allReduce, axes: [0], bytes: 4))
            let gathersWeights = layout.strategies.indices.contains { op in
                layout.strategies[op].zeroStage >= 3 && graph.operations[op].inputs.contains { graph[$0].isParameter }
            }
            if gathersWeights {
                // ZeRO-3's gathers: exposed in the search, hidden behind the compute where they can be in the exact
                // model (`ShardedParameterSchedule`), so the objective is an upper bound.
                #expect(objective >= exact - 0.002 * exact - 5 * 4 * latency, "objective \(objective) s, exact \(exact) s")
            } else {
                #expect(abs(objective - exact) <= 0.002 * exact + 5 * 4 * latency, "objective \(objective) s, exact \(exact) s")
            }
        }
        #expect(rings > 0, "some layout splits the queries")
    }
}
