import Testing
@testable import ShardPlan

/// The model-state bytes `shardplan score` predicts: 2 bytes per parameter of bf16 weights, 4 of fp32
/// gradients and 12 of Adam state (fp32 master weights and two moments), the last divided by the data-parallel
/// size under ZeRO-1.
@Suite("Plan memory of a tiny GPT")
struct PlanMemoryCostTests {
    let graph: Graph

    init() throws {
        graph = try #require(ModelCatalog.model(id: "gpt-tiny")).build()
    }

    /// gpt-tiny: hidden 64, 4 heads, vocabulary 256, 32 positions, 2 layers, 4 x 64 = 256 feed-forward.
    /// Token embedding 256 x 64 = 16384, positions 32 x 64 = 2048; per layer QKV 64 x 192 + 192 = 12480,
    /// projection 64 x 64 + 64 = 4160, two layer norms 2 x 128 = 256, feed-forward 64 x 256 + 256 = 16640 and
    /// 256 x 64 + 64 = 16448: 49984; the final norm 128.
    static let expectedParameters = 16384 + 2048 + 2 * 49984 + 128

    func prediction(clusterName: String, dataParallel: Int? = nil, zeroStage: Int = 0) throws -> PlanPrediction {
        let cluster = try Cluster.preset(named: clusterName)
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: clusterName, configuration: MegatronConfiguration(
            tensorParallel: 1, pipelineParallel: 1, dataParallel: dataParallel, options: TrainingOptions(zeroStage: zeroStage)))
        return PlanEvaluator(cluster: cluster).evaluate(plan)
    }

    @Test("gpt-tiny has the hand-counted number of parameters")
    func parameterCount() {
        #expect(ModelCatalog.parameterCount(of: graph) == Self.expectedParameters)
    }

    @Test("on one A100, weights take 2 bytes, gradients 4 and optimizer state 12 per parameter")
    func modelState() throws {
        let parameters = Double(ModelCatalog.parameterCount(of: graph))
        let rank = try #require(try prediction(clusterName: "single-a100-80g").ranks.first)
        #expect(rank.weightBytes == 2 * parameters)
        #expect(rank.gradientBytes == 4 * parameters)
        #expect(rank.optimizerStateBytes == 12 * parameters)
        #expect(rank.microbatchesInFlight == 1)
        #expect(rank.peakMemoryBytes == 18 * parameters + rank.activationBytes + TrainingOptions.frameworkOverheadBytes)
    }

    @Test("ZeRO-1 over 2 data-parallel devices halves the optimizer state and nothing else")
    func zeroOne() throws {
        let parameters = Double(ModelCatalog.parameterCount(of: graph))
        let plain = try #require(try prediction(clusterName: "dgx-a100-80g", dataParallel: 2).ranks.first)
        let sharded = try #require(try prediction(clusterName: "dgx-a100-80g", dataParallel: 2, zeroStage: 1).ranks.first)
        #expect(plain.optimizerStateBytes == 12 * parameters)
        #expect(sharded.optimizerStateBytes == 6 * parameters)
        #expect(sharded.weightBytes == 2 * parameters)
        #expect(sharded.gradientBytes == 4 * parameters)
    }

    @Test("ZeRO-2 keeps a shard of the gradients, so it reduce-scatters them layer by layer in every microbatch's backward pass and all-gathers the updated weights once")
    func zeroTwo() throws {
        let cluster = try Cluster.preset(named: "dgx-a100-80g")
        func plan(zeroStage: Int) throws -> (TrainingPlan, PlanPrediction) {
            let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g", configuration: MegatronConfiguration(
                tensorParallel: 1, pipelineParallel: 1, dataParallel: 2, microBatchSize: 1, options: TrainingOptions(zeroStage: zeroStage)))
            return (plan, PlanEvaluator(cluster: cluster).evaluate(plan))
        }
        let (plain, one) = try plan(zeroStage: 1)
        let (_, two) = try plan(zeroStage: 2)
        // bf16 gradients, 2 bytes per parameter, the 256 x 64 embedding table's once for each of its two readers
        // (the lookup and the tied output layer).
        let gradients = 2 * Double(Self.expectedParameters + 256 * 64)
        let m = Double(plain.microbatches)
        #expect(m > 1)
        // ZeRO-1 all-reduces them once (plus the 4-byte loss per microbatch).
        #expect(one.communicationBytes[.allReduce] == gradients + 4 * m)
        #expect(one.communicationBytes[.reduceScatter] == nil)
        #expect(two.communicationBytes[.reduceScatter] == gradients * m)
        #expect(two.communicationBytes[.allGather] == gradients)
        #expect(two.communicationBytes[.allReduce] == 4 * m)
        // The reduce-scatters run on their own stream and nothing waits for them before the optimizer step:
        // per microbatch only what the stream cannot keep up with beside the backward compute shows, and the
        // compute they overlap loses 0.61 s a second of them at NVLink's rate, in proportion to the bus bandwidth
        // each reaches (`TrainingOptions.overlappedComputeSlowdown`, `CollectiveGroup.contention`). Units:
        // the embedding layer's tables with the tied output layer's reads (69,632 bytes), two blocks (99,968
        // each) and the final norm (256).
        let mesh = plain.stages[0].mesh
        let group = mesh.collectiveGroup(alongAxes: [0])
        let units = [69632.0, 99968, 99968, 256].map { ($0, mesh.seconds(for: Collective(.reduceScatter, axes: [0], bytes: $0))) }
        let reduceScatters = units.reduce(0) { $0 + $1.1 }
        // Latency-bound kilobytes over NVLink: each reduce-scatter reaches a small share of the bus bandwidth.
        let share = units.reduce(0) { $0 + $1.1 * group.contention(of: .reduceScatter, bytes: $1.0, seconds: $1.1) } / reduceScatters
        #expect(share > 0 && share < 0.05)
        let stage = two.stageCosts[0]
        let hidden = stage.backwardComputeSeconds
        #expect(abs(stage.backwardCommunicationSeconds - one.stageCosts[0].backwardCommunicationSeconds
                    - max(reduceScatters - hidden, 0) - TrainingOptions.overlappedComputeSlowdown * share * min(reduceScatters, hidden)) <= 1e-15,
                "reduce-scatters \(reduceScatters) s beside \(hidden) s")
        // Half the fp32 gradients, and one layer's bf16 gradients awaiting their reduce-scatter: the largest
        // layer's, a block's 49,984 parameters at 2 bytes (the embedding layer's tables, read by the lookup
        // and the tied output layer, come to 2 x 256 x 64 + 32 x 64 = 34,816). The reduce-scatter comes after the
        // loss's buffers and one microbatch's kept tensors of its layer are freed (`TransientMemory`), so the
        // gradients count what it adds beyond them.
        let reducing = two.stageCosts[0]
        #expect(reducing.unshardedGradientBytes == 2 * 49984)
        let rerun = reducing.recomputationWorkingBytes - reducing.lossLayerKeptBytes
        let added = max(reducing.lossBufferBytes, rerun + 2 * 49984) - max(reducing.lossBufferBytes, rerun)
        #expect(added > 0 && added < 2 * 49984)
        #expect(two.ranks[0].gradientBytes == one.ranks[0].gradientBytes / 2 + added)
    }
}
