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

    @Test("tp = 3 does not divide 64 devices: an error at tensorParallel")
    func tensorParallelMustDivide() {
        let error = #expect(throws: InputError.self) {
            try plan(model: "gpt-tiny", clusterName: "dgx-a100-80g:8", tensorParallel: 3, pipelineParallel: 1)
        }
        #expect(error?.path == JSONPath([.key("tensorParallel")]))
    }

    @Test("pp = 4 is more pipeline chunks than gpt-tiny's 2 layers: an error at pipelineParallel")
    func pipelineLongerThanTheModel() {
        let error = #expect(throws: InputError.self) {
            try plan(model: "gpt-tiny", clusterName: "dgx-a100-80g", tensorParallel: 1, pipelineParallel: 4)
        }
        #expect(error?.path == JSONPath([.key("pipelineParallel")]))
    }

    @Test("pp = 2 on gpt-tiny's 2 layers is accepted")
    func onePipelineChunkPerLayer() throws {
        try plan(model: "gpt-tiny", clusterName: "dgx-a100-80g", tensorParallel: 1, pipelineParallel: 2)
    }

    @Test("more model-parallel devices than the cluster has is said so, without advice to pass --dp, which cannot help",
          arguments: [(16, 1, "dgx-a100-80g", "tp x pp = 16 is more than the cluster's 8 devices"),
                      (3, 1, "dgx-a100-80g", "tp x pp = 3 does not divide the cluster's 8 devices; pass --dp"),
                      (2, 1, "single-a100-80g", "tp x pp = 2 is more than the cluster's 1 device")])
    func modelParallelBeyondTheCluster(tensorParallel: Int, pipelineParallel: Int, clusterName: String, message: String) throws {
        let graph = try #require(ModelCatalog.model(id: "gpt-tiny")).build()
        let cluster = try Cluster.preset(named: clusterName)
        let error = #expect(throws: InputError.self) {
            try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: clusterName,
                                      configuration: MegatronConfiguration(tensorParallel: tensorParallel, pipelineParallel: pipelineParallel))
        }
        #expect(error?.path == JSONPath([.key("tensorParallel")]))
        #expect(error?.description.hasSuffix(message) == true, "\(error?.description ?? "")")
    }

    /// Each refusal names the configuration's property at fault: chunks without a pipeline, a schedule the chunks cannot run,
    /// sequence parallelism without a tensor-parallel group, experts or sequences the graph does not have.
    @Test("configurations that cannot run: an error at the property at fault", arguments: [
        ("gpt-tiny", MegatronConfiguration(tensorParallel: 2, pipelineParallel: 1, virtualStages: 2), "virtualStages"),
        ("gpt-tiny", MegatronConfiguration(tensorParallel: 2, pipelineParallel: 2, virtualStages: 2, schedule: .oneForwardOneBackward), "schedule"),
        ("gpt-tiny", MegatronConfiguration(tensorParallel: 2, pipelineParallel: 2, schedule: .interleaved), "schedule"),
        ("gpt-tiny", MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1, sequenceParallel: true), "sequenceParallel"),
        ("gpt-tiny", MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1, expertParallel: 2), "expertParallel"),
        ("mlp-2", MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1, contextParallel: 2), "contextParallel"),
        ("gpt-tiny", MegatronConfiguration(tensorParallel: 2, pipelineParallel: 1, contextParallel: 3), "contextParallel"),
    ])
    func refusedConfigurations(model: String, configuration: MegatronConfiguration, property: String) throws {
        let graph = try #require(ModelCatalog.model(id: model)).build()
        let cluster = try Cluster.preset(named: "dgx-a100-80g")
        let error = #expect(throws: InputError.self) {
            try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g", configuration: configuration)
        }
        #expect(error?.path == JSONPath([.key(property)]))
    }
}
