import Testing
@testable import ShardPlan

/// A stage that replicates its whole computation (the batch split over no axis) reduces no gradient, so ZeRO has
/// nothing to shard its state over, whatever stage its ops took: the plan document, the report, the summary and
/// the memory must all say so (Docs/plan-format.md, `zero_stages`).
@Suite("ZeRO over no data-parallel devices: nothing listed, nothing sharded")
struct ZeroWithoutDataParallelTests {
    @Test("a replicated stage whose ops took ZeRO-1 lists no zero_stages, labels no op ZeRO-1 and prices the state unsharded")
    func replicatedStageShardsNothing() throws {
        let graph = try ModelCatalog.model(id: "gpt-tiny")!.build()
        let cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        var plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1",
                                             configuration: MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1))
        // Every op replicated over the 8 devices, and every parameter's reader at ZeRO-1, as the stage search's
        // ZeRO-1 variant stamps it.
        let stage = plan.stages[0]
        let replicated = stage.operations.map { op in
            OpStrategy(indexOfAxis: Array(repeating: nil, count: stage.mesh.shape.count),
                       zeroStage: graph.operations[op].inputs.contains { graph[$0].isParameter } ? 1 : 0)
        }
        plan.stages[0] = StageLayout(operations: stage.operations, mesh: stage.mesh, strategies: replicated)
        #expect(PlanValidator.violation(in: plan) == nil)
        let prediction = PlanEvaluator(cluster: cluster).evaluate(plan)

        // gpt-tiny holds 118,528 parameters: per block 2 x 128 (norms) + 12,288 + 192 (qkv) + 4,096 + 64 (out)
        // + 16,384 + 256 (up) + 16,384 + 64 (down) = 49,984, two blocks 99,968, the tied table 16,384, the positions
        // 2,048 and the final norm 128. Unsharded Adam state is 12 bytes each (fp32 master, two moments):
        // 1,422,336 bytes; sharded over the 8 devices it would be 177,792.
        #expect(graph.elementCount(of: graph.parameters) == 118_528)
        #expect(prediction.ranks[0].optimizerStateBytes == 1_422_336)

        let document = try JSONParser.parse(plan.jsonText(prediction: prediction))
        let zeroStages = document.value(at: JSONPath([.key("stages"), .index(0, label: nil), .key("zero_stages")]))
        #expect(zeroStages == .object(JSONObject()))
        #expect(!PlanReport(plan: plan, prediction: prediction).html.contains("ZeRO-1"))
        #expect(!plan.stageSummary.contains("zero="), "\(plan.stageSummary)")
        // Read back, the plan prices the same.
        let decoded = try TrainingPlan(json: document, graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1")
        let again = PlanEvaluator(cluster: cluster).evaluate(decoded)
        #expect(again.iterationSeconds == prediction.iterationSeconds)
        #expect(again.peakMemoryBytesPerDevice == prediction.peakMemoryBytesPerDevice)
    }

    @Test("a data-parallel stage at ZeRO-1 lists every parameter, labels its readers and shards the state over its ranks")
    func dataParallelStageShardsState() throws {
        let graph = try ModelCatalog.model(id: "gpt-tiny")!.build()
        let cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1",
                                             configuration: MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1,
                                                                                  options: TrainingOptions(zeroStage: 1)))
        let prediction = PlanEvaluator(cluster: cluster).evaluate(plan)
        // 12 x 118,528 / 8 data-parallel ranks = 177,792 bytes.
        #expect(prediction.ranks[0].optimizerStateBytes == 177_792)
        let document = try JSONParser.parse(plan.jsonText(prediction: prediction))
        guard case .object(let zeroStages)? = document.value(at: JSONPath([.key("stages"), .index(0, label: nil), .key("zero_stages")])) else {
            Issue.record("no zero_stages object")
            return
        }
        #expect(zeroStages.keys.count == graph.parameters.count)
        #expect(PlanReport(plan: plan, prediction: prediction).html.contains("ZeRO-1"))
        #expect(plan.stageSummary.contains("zero=1"), "\(plan.stageSummary)")
    }
}
