import Testing
@testable import ShardPlan

/// QA: a tied embedding table read by the first pipeline rank (the lookup) and the last (the output layer) reported its
/// gradient's exchange in the plan document (`tied_parameter_gradients`) but priced none of it: a tied and an untied
/// Llama scored the same. Megatron-LM all-reduces the copies' gradients over its embedding group once an iteration.
@Suite("Parameters several pipeline ranks read: their gradients are all-reduced once an iteration")
struct SharedParameterSynchronizationTests {
    let cluster: Cluster

    init() throws { cluster = try Cluster.preset(named: "dgx-a100-80g:2") }

    func plan(_ id: String, tp: Int, pp: Int, dp: Int? = nil) throws -> TrainingPlan {
        let graph = try #require(ModelCatalog.model(id: id)).build()
        return try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:2",
                                         configuration: MegatronConfiguration(tensorParallel: tp, pipelineParallel: pp, dataParallel: dp))
    }

    /// gpt-tiny ties its 256 x 64 table (`embed.table`, 16,384 elements; no other parameter crosses ranks): at tp = 1,
    /// 16,384 fp32 gradients, 65,536 bytes, which each of the two ranks exchanges once (2 (n - 1) / n = 1 of it) over
    /// the link from device 0 to the last rank's first device; at tp = 2 the vocabulary-parallel lookup holds half.
    @Test("gpt-tiny's tied table at pp = 2: 65,536 bytes a device at tp = 1 (half at tp = 2), priced as one transfer on each rank",
          arguments: [1, 2])
    func tiedTable(tp: Int) throws {
        let plan = try plan("gpt-tiny", tp: tp, pp: 2)
        let table = try #require(plan.graph.parameters.first { plan.graph[$0].name == "embed.table" })
        #expect(plan.graph[table].type.elementCount == 16384)
        let model = StageCostModel(graph: plan.graph, kernels: KernelModel(device: cluster.device), options: plan.options,
                                   microbatches: plan.microbatches)
        let shared = PlanEvaluator(cluster: cluster).sharedParameterSynchronization(plan, model: model)
        let shard = 16384.0 / Double(tp) * 4
        let transfer = cluster.sendSeconds(bytes: shard, from: plan.stages[0].mesh.devices[0], to: plan.stages[1].mesh.devices[0])
        #expect(shared.seconds == [transfer, transfer])
        #expect(shared.bytes == 2 * shard)
        // The evaluator adds it to each rank's exposed gradient synchronisation.
        let prediction = PlanEvaluator(cluster: cluster).evaluate(plan)
        #expect(prediction.ranks.allSatisfy { $0.exposedGradientSynchronizationSeconds >= transfer })
    }

    @Test("an untied model, and a tied one in one stage, exchange nothing")
    func nothingShared() throws {
        for plan in [try plan("llama-tiny", tp: 1, pp: 2), try plan("gpt-tiny", tp: 1, pp: 1, dp: 8)] {
            let model = StageCostModel(graph: plan.graph, kernels: KernelModel(device: cluster.device), options: plan.options,
                                       microbatches: plan.microbatches)
            let shared = PlanEvaluator(cluster: cluster).sharedParameterSynchronization(plan, model: model)
            #expect(shared.seconds.allSatisfy { $0 == 0 } && shared.bytes == 0)
        }
    }
}
