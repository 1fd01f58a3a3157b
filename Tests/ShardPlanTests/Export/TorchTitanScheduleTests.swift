import Testing
@testable import ShardPlan

/// torchtitan runs `torch.distributed.pipelining`'s schedules, and `Schedule1F1B` refuses fewer microbatches
/// than stages ("Number of microbatches (1) must be greater than or equal to the number of stages (2)").
@Suite("torchtitan's pipeline schedule runs the plan's microbatches")
struct TorchTitanScheduleTests {
    /// gpt-tiny's 8 sequences over 4 replicas of a 2-stage pipeline, `microBatchSize` each.
    static func titan(microBatchSize: Int) throws -> String {
        let graph = try #require(ModelCatalog.model(id: "gpt-tiny")).build()
        let cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1",
                                             configuration: MegatronConfiguration(tensorParallel: 1, pipelineParallel: 2,
                                                                                  microBatchSize: microBatchSize))
        return try FrameworkExport(plan: plan, prediction: PlanEvaluator(cluster: cluster).evaluate(plan), framework: .torchtitan).text
    }

    @Test("1F1B with one microbatch for two stages is written as GPipe, saying why; with two, as 1F1B")
    func fewerMicrobatchesThanStages() throws {
        let one = try Self.titan(microBatchSize: 2)
        #expect(one.contains("pipeline_parallel_schedule = \"GPipe\""))
        #expect(one.contains("# 1F1B with 1 microbatch for 2 stages: torch's Schedule1F1B refuses it; GPipe runs it in the same time and peak memory"))
        #expect(try TorchTitanJobConfigReader(one).layout().microBatchSize == 2)
        let two = try Self.titan(microBatchSize: 1)
        #expect(two.contains("pipeline_parallel_schedule = \"1F1B\"") && !two.contains("Schedule1F1B refuses"))
    }
}
