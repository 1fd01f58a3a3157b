import Testing
@testable import ShardPlan

/// QA: `score --format json` gave each stage's peak memory only, where the text lists its parts; the plan document
/// now carries them (`memory_parts_bytes`) and the microbatches in flight, per stage.
@Suite("a plan document's memory per stage")
struct PlanDocumentMemoryTests {
    /// gpt-tiny on 8 A100s as tp = 2, pp = 2, dp = 2: the first rank holds microbatches of the two in flight of
    /// 1F1B with 2 ranks; its parts add up to its peak and include the 3 GB every plan counts for the framework.
    @Test("each stage's memory parts add up to its peak, with the framework's 3 GB and the microbatches in flight")
    func partsAddUpToThePeak() throws {
        let graph = try #require(ModelCatalog.model(id: "gpt-tiny")).build()
        let cluster = try Cluster.preset(named: "dgx-a100-80g")
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g", configuration: MegatronConfiguration(
            tensorParallel: 2, pipelineParallel: 2, microBatchSize: 1))
        let prediction = PlanEvaluator(cluster: cluster).evaluate(plan)
        guard case .object(let top) = plan.json(prediction: prediction), case .array(let stages)? = top["stages"] else {
            Issue.record("no stages"); return
        }
        #expect(stages.count == 2)
        for (index, entry) in stages.enumerated() {
            guard case .object(let stage) = entry, case .number(let peak)? = stage["memory_bytes_per_device"],
                  case .object(let parts)? = stage["memory_parts_bytes"], case .number(let inFlight)? = stage["microbatches_in_flight"] else {
                Issue.record("stage \(index) lacks its memory"); continue
            }
            let values = ["weights", "gradients", "optimizer_state", "activations", "framework"].compactMap { name -> Double? in
                if case .number(let value)? = parts[name] { value } else { nil }
            }
            #expect(values.count == 5)
            #expect(abs(values.reduce(0, +) - peak) <= 4, "rounded parts within a byte each of the peak")
            #expect(parts["framework"] == .number(3e9))
            #expect(inFlight == (index == 0 ? 2 : 1), "1F1B over 2 ranks: the first holds 2 microbatches, the last 1")
        }
    }
}
