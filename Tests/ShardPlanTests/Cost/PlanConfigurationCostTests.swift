import Testing
@testable import ShardPlan

@Suite("Invalid Megatron configurations")
struct PlanConfigurationCostTests {
    func plan(model: String, clusterName: String, tensorParallel: Int, pipelineParallel: Int) throws {
        let graph = try #require(ModelCatalog.model(id: model)).build()
        let cluster = try Cluster.preset(named: clusterName)
        _ = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: clusterName, configuration: MegatronConfiguration(
            tensorParallel: tensorParallel, pipelineParallel: pipelineParallel))
    }

    @Test("tp = 3 does not divide 64 devices: an error at --tp")
    func tensorParallelMustDivide() {
        let error = #expect(throws: InputError.self) {
            try plan(model: "gpt-tiny", clusterName: "dgx-a100-80g:8", tensorParallel: 3, pipelineParallel: 1)
        }
        #expect(error?.path == JSONPath([.key("--tp")]))
    }

    @Test("pp = 4 is more pipeline chunks than gpt-tiny's 2 layers: an error at --pp")
    func pipelineLongerThanTheModel() {
        let error = #expect(throws: InputError.self) {
            try plan(model: "gpt-tiny", clusterName: "dgx-a100-80g", tensorParallel: 1, pipelineParallel: 4)
        }
        #expect(error?.path == JSONPath([.key("--pp")]))
    }

    @Test("pp = 2 on gpt-tiny's 2 layers is accepted")
    func onePipelineChunkPerLayer() throws {
        try plan(model: "gpt-tiny", clusterName: "dgx-a100-80g", tensorParallel: 1, pipelineParallel: 2)
    }
}
