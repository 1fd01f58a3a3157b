import Testing
@testable import ShardPlan

@Suite("The search finds expert parallelism")
struct ExpertParallelPlanTests {
    /// A fine-grained MoE in the shape of DeepSeekMoE 16B (Dai et al. 2024, arXiv:2401.06066: 64 experts of 1408,
    /// top-6, 2 shared), 4 layers of hidden 2048 at 4096 tokens, 32 sequences a step: 2.5B parameters, 2.2B of
    /// them in experts.
    static func fineGrained() throws -> Graph {
        var configuration = TransformerConfiguration.llama(layers: 4, hidden: 2048, heads: 16, keyValueHeads: 16,
                                                           feedForwardHidden: 10944, vocabulary: 32000,
                                                           sequenceLength: 4096, globalBatch: 32)
        configuration.mixtureOfExperts = .init(experts: 64, topK: 6, layerInterval: 1, dispatch: .permutation(capacityFactor: nil),
                                               expertFeedForwardHidden: 1408, sharedExperts: 2)
        return try TransformerBuilder(name: "moe-fine-grained", configuration: configuration).build()
    }

    @Test("a fine-grained MoE on one DGX H100: the plan splits the experts over the node")
    func fineGrainedMoE() throws {
        let graph = try Self.fineGrained()
        let cluster = try Cluster.preset(named: "dgx-h100")
        let planner = SingleStagePlanner(graph: graph, cluster: cluster, clusterName: "dgx-h100",
                                         options: TrainingOptions(recompute: .selective, zeroStage: 1), recomputeModes: [.selective])
        let (plan, prediction, _) = try planner.plan(microbatches: 4)
        let stage = plan.stages[0]
        let expert = try #require(graph.operations.firstIndex { $0.name == "h0.mlp.experts.up" })
        let index = try #require(MegatronLayout.expertGEMMIndex(graph.operations[expert], graph: graph)).index
        let split = stage.strategy(of: expert).splitFactor(of: index, meshShape: stage.mesh.shape)
        #expect(split == 8, "experts split over \(split) devices in mesh \(stage.mesh.shape)")
        // Data parallelism alone (the experts replicated, their gradients all-reduced) is priced 0.172 s and
        // Megatron's tensor parallelism over the node 0.416 s; the search's plan, 0.141 s, splits the experts
        // 8 ways (Megatron's ep = 8: 0.150 s).
        let dataParallel = try TrainingPlan.megatron(
            graph: graph, cluster: cluster, clusterName: "dgx-h100",
            configuration: MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1,
                                                 options: TrainingOptions(recompute: .selective, zeroStage: 1)))
        #expect(prediction.iterationSeconds < 0.9 * PlanEvaluator(cluster: cluster).evaluate(dataParallel).iterationSeconds)
        // Read back for the frameworks, the plan is Megatron's expert parallelism over the node's data-parallel ranks.
        let recognition = try LayoutRecognition(plan)
        #expect(recognition.layout.expertParallel == 8 && recognition.layout.dataParallel == 8)
        let megatron = try FrameworkExport(recognition: recognition, of: plan, prediction: prediction, framework: .megatron)
        #expect(megatron.text.contains("--expert-model-parallel-size 8"))
    }

    /// `score --ep 4 --zero 3 --zero-shard-group 4` is refused; a plan document that splits experts and names shard
    /// groups was read (QA): it is refused at `options.zero_shard_group` too.
    @Test("a plan document with ZeRO-3's shard groups beside split experts is refused at options.zero_shard_group")
    func shardGroupsBesideExperts() throws {
        let graph = try #require(ModelCatalog.model(id: "moe-tiny")).build()
        let cluster = try Cluster.preset(named: "dgx-h100")
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-h100", configuration:
            MegatronConfiguration(tensorParallel: 1, pipelineParallel: 2, expertParallel: 4))
        #expect(plan.splitsExperts)
        guard case .object(var top) = plan.json(prediction: PlanEvaluator(cluster: cluster).evaluate(plan)),
              case .object(var options)? = top["options"] else { Issue.record("no options"); return }
        options["zero_stage"] = .int(3)
        options["zero_shard_group"] = .int(4)
        top["options"] = .object(options)
        let error = #expect(throws: InputError.self) {
            try TrainingPlan(json: .object(top), graph: graph, cluster: cluster, clusterName: "dgx-h100")
        }
        #expect(error?.path.description == "options.zero_shard_group", "\(String(describing: error))")
        #expect(error?.message.contains("beside expert parallelism") == true)
    }
}
