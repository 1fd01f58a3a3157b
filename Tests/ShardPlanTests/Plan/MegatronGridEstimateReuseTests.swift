import Testing
@testable import ShardPlan

/// The Megatron grid's estimate reuses work across its configurations: one `StageCostModel` per option set, moved
/// to each microbatch count (`with(microbatches:)`), and the tied parameters' exchange priced from the ops that read
/// a parameter another op reads (`PlanEvaluator.readsSharedParameter`). Each must price exactly as the full
/// computation does, or the grid would rank its configurations otherwise than before, in silence.
@Suite("Megatron grid estimate: the work it reuses prices as the full computation")
struct MegatronGridEstimateReuseTests {
    let cluster: Cluster

    init() throws { cluster = try Cluster.preset(named: "dgx-a100-80g:8") }

    func plan(_ id: String, pp: Int, microBatchSize: Int = 1) throws -> TrainingPlan {
        let graph = try #require(ModelCatalog.model(id: id)).build()
        return try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:8",
                                         configuration: MegatronConfiguration(tensorParallel: 2, pipelineParallel: pp, dataParallel: 1,
                                                                              microBatchSize: microBatchSize))
    }

    /// Two models built apart may sum a stage's figures in another order (their sets of ops iterate differently), so
    /// the figures are compared to a part in 10^12, not to the bit.
    @Test("a model moved to another microbatch count prices every stage as one built for it", arguments: [1, 3, 8])
    func movedModel(microbatches: Int) throws {
        let plan = try plan("gpt-tiny", pp: 2)
        var options = plan.options
        options.zeroStage = 3
        let kernels = KernelModel(device: cluster.device)
        let moved = StageCostModel(graph: plan.graph, kernels: kernels, options: options, microbatches: 5).with(microbatches: microbatches)
        let built = StageCostModel(graph: plan.graph, kernels: kernels, options: options, microbatches: microbatches)
        #expect(moved.microbatches == microbatches)
        func close(_ a: Double, _ b: Double) -> Bool { abs(a - b) <= 1e-12 * max(abs(a), abs(b)) }
        for stage in plan.stages {
            let (a, b) = (moved.cost(of: stage), built.cost(of: stage))
            #expect(close(a.forwardComputeSeconds, b.forwardComputeSeconds) && close(a.backwardComputeSeconds, b.backwardComputeSeconds))
            #expect(close(a.gradientSynchronizationSeconds, b.gradientSynchronizationSeconds) && close(a.lastMicrobatchSeconds, b.lastMicrobatchSeconds))
            #expect(close(a.activationBytesPerMicrobatch, b.activationBytesPerMicrobatch) && close(a.gatheredWeightBytes, b.gatheredWeightBytes))
            #expect(close(a.unshardedGradientBytes, b.unshardedGradientBytes) && close(a.optimizerSeconds, b.optimizerSeconds))
        }
    }

    /// gpt-tiny ties its table (the lookup and the output layer read it), llama-tiny does not; on 1 and 2 ranks the
    /// exchange from the marked ops alone is the exchange from every op, to the bit.
    @Test("the tied exchange from the ops that read a shared parameter is the exchange from every op",
          arguments: [("gpt-tiny", 1), ("gpt-tiny", 2), ("llama-tiny", 1), ("llama-tiny", 2)])
    func sharedReaders(id: String, pp: Int) throws {
        let plan = try plan(id, pp: pp)
        let graph = plan.graph
        let marked = PlanEvaluator.readsSharedParameter(graph)
        let readers = graph.operations.indices.filter { op in graph.operations[op].inputs.contains { graph[$0].name == "embed.table" } }
        #expect(marked.indices.filter { marked[$0] } == (id == "gpt-tiny" ? readers : []))
        var rankOf = Array(repeating: 0, count: graph.operations.count)
        for (index, stage) in plan.stages.enumerated() { for op in stage.operations { rankOf[op] = plan.rank(ofStage: index) } }
        let all = plan.stages.flatMap { Array($0.operations) }
        func exchange(_ operations: [Int]) -> (seconds: [Double], bytes: Double) {
            PlanEvaluator.sharedParameterSynchronization(
                graph: graph, operations: operations, ranks: plan.pipelineRanks, rank: { rankOf[$0] },
                shardElements: { parameter, _ in Double(graph[parameter].type.elementCount) / 2 }, gradientBytes: 4,
                transferSeconds: { bytes, from, to in cluster.sendSeconds(bytes: bytes, from: rankOf[from] * 2, to: rankOf[to] * 2) })
        }
        let full = exchange(all), filtered = exchange(all.filter { marked[$0] })
        #expect(filtered.seconds == full.seconds && filtered.bytes == full.bytes)
        #expect((full.bytes > 0) == (id == "gpt-tiny" && pp > 1))
    }
}
