import Testing
@testable import ShardPlan

@Suite("The search finds context parallelism")
struct ContextParallelPlanTests {
    /// Llama 3 8B's shapes (Dubey et al. 2024, Table 3) at 131,072 tokens per sequence, one sequence per
    /// iteration, on one DGX H100 with full recomputation (the activations of 128K tokens do not fit otherwise).
    /// Meta trained its 128K context stage with context parallelism (§3.3.2, CP = 16 with TP = 8 for 405B); on
    /// one node the search splits the sequence of every op over the 8 GPUs and exchanges keys and values.
    @Test("Llama 3 8B at 128K tokens on one DGX H100: the plan splits attention's queries over the node")
    func llama3LongContext() throws {
        let configuration = TransformerConfiguration.llama(layers: 32, hidden: 4096, heads: 32, keyValueHeads: 8,
                                                           feedForwardHidden: 14336, vocabulary: 128256,
                                                           sequenceLength: 131072, globalBatch: 1)
        let graph = try TransformerBuilder(name: "llama3-8b-128k", configuration: configuration).build()
        let cluster = try Cluster.preset(named: "dgx-h100")
        let planner = SingleStagePlanner(graph: graph, cluster: cluster, clusterName: "dgx-h100",
                                         options: TrainingOptions(recompute: .full, zeroStage: 1))
        let (plan, prediction, _) = try planner.plan(microbatches: 1)
        #expect(prediction.fitsInMemory)
        let stage = plan.stages[0]
        let attention = try #require(graph.operations.firstIndex { $0.name == "h0.attn" })
        let ring = ContextParallelExchange.ringSize(graph.operations[attention], stage.strategy(of: attention),
                                                    meshShape: stage.mesh.shape)
        #expect(ring == 8, "attention's queries split over \(ring) devices in mesh \(stage.mesh.shape)")
        // Megatron's tensor parallelism over the node (with sequence parallelism) is priced 9.1 s, its context
        // parallelism of 8 5.78 s; the search's plan is the latter (5.78 s, CP over a 4 x 2 view).
        let tensorParallel = try TrainingPlan.megatron(
            graph: graph, cluster: cluster, clusterName: "dgx-h100",
            configuration: MegatronConfiguration(tensorParallel: 8, pipelineParallel: 1, sequenceParallel: true,
                                                 options: TrainingOptions(recompute: .full, zeroStage: 1)))
        #expect(prediction.iterationSeconds < 0.8 * PlanEvaluator(cluster: cluster).evaluate(tensorParallel).iterationSeconds)
        // Read back for the frameworks, the plan is Megatron's context parallelism over the node.
        let recognition = try LayoutRecognition(plan)
        #expect(recognition.layout.contextParallel == 8 && recognition.layout.tensorParallel == 1 && recognition.layout.dataParallel == 1)
        let megatron = try FrameworkExport(recognition: recognition, of: plan, prediction: prediction, framework: .megatron)
        #expect(megatron.text.contains("--context-parallel-size 8"))
    }
}
