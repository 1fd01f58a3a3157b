import Testing
@testable import ShardPlan

/// The bytes a pipeline's stages send each other (`PlanPrediction.communicationBytes[.sendReceive]`, the plan
/// document's `communication.send_recv_bytes`), which QA found always 0.
@Suite("Pipeline transfer bytes")
struct PointToPointBytesTests {
    /// gpt-tiny (hidden 64, 32 tokens, 8 sequences) in two stages of one device each, one sequence a microbatch: each
    /// of the 8 microbatches sends its residual stream, 32 x 64 bf16 values (4,096 bytes), forward and its gradient
    /// back. One stage sends nothing.
    @Test("a two-stage pipeline moves each microbatch's activation forward and its gradient back")
    func twoStages() throws {
        let graph = try #require(ModelCatalog.model(id: "gpt-tiny")).build()
        let cluster = try Cluster.preset(named: "dgx-h100:1")
        func prediction(pp: Int) throws -> PlanPrediction {
            let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-h100:1", configuration:
                MegatronConfiguration(tensorParallel: 1, pipelineParallel: pp, dataParallel: 1, microBatchSize: 1))
            return PlanEvaluator(cluster: cluster).evaluate(plan)
        }
        #expect(try prediction(pp: 2).communicationBytes[.sendReceive] == 2 * 4096 * 8)
        #expect(try prediction(pp: 1).communicationBytes[.sendReceive] == nil)
    }
}
