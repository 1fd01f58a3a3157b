import Testing
@testable import ShardPlan

@Suite("Pipeline planner: the stage DP over the intra-operator search")
struct PipelinePlannerTests {
    @Test("a model that fits on one device with a large batch gets no pipeline: GPT-3 125M, 256 sequences, one DGX")
    func smallModelNoPipeline() throws {
        let graph = try ModelCatalog.model(id: "gpt3-125m")!.build()
        let cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        for includesMegatronGrid in [false, true] {
            let found = try PipelinePlanner(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1",
                                            includesMegatronGrid: includesMegatronGrid).plan(microbatches: 4)
            #expect(found.plan.stages.count == 1, "\(found.plan.summary ?? "")")
            #expect(PlanValidator.violation(in: found.plan) == nil)
        }
    }

    @Test("the same input gives a byte-identical plan document, however the threads interleave")
    func deterministic() throws {
        let graph = try ModelCatalog.model(id: "gpt-tiny")!.build()
        let cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        let planner = PipelinePlanner(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1", includesMegatronGrid: false)
        let documents = try (0..<2).map { _ in
            let found = try planner.plan(microbatches: 2)
            return found.plan.jsonText(prediction: found.prediction)
        }
        #expect(Set(documents).count == 1)
    }

    @Test("a stage recomputes only when it must: GPT-3 760M with its 256 sequences in one microbatch fits one DGX only so")
    func recomputationChosenPerStage() throws {
        let graph = try ModelCatalog.model(id: "gpt3-760m")!.build()
        let cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        let planner = PipelinePlanner(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1", includesMegatronGrid: false)
        #expect(throws: InputError.self) { try planner.plan(microbatches: 1) }
        var choosing = planner
        choosing.choosesRecomputation = true
        let found = try choosing.plan(microbatches: 1)
        #expect(found.prediction.fitsInMemory)
        #expect(found.plan.options.recompute == .none)
        #expect(found.plan.stages.allSatisfy { $0.recompute != nil }, "\(found.plan.summary ?? "")")
        // The plan document says so per stage, and reads back the same.
        let document = found.plan.json(prediction: found.prediction)
        let decoded = try TrainingPlan(json: document, graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1")
        #expect(decoded.stages.map(\.recompute) == found.plan.stages.map(\.recompute))
        #expect(PlanEvaluator(cluster: cluster).evaluate(decoded).iterationSeconds == found.prediction.iterationSeconds)
    }

    @Test("two stages of 2x2 on 8 devices: disjoint halves, every op once, valid strategies")
    func twoStagesOfTwoByTwo() throws {
        let graph = try ModelCatalog.model(id: "gpt-tiny")!.build()
        let cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        let planner = PipelinePlanner(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1",
                                      maximumStageCount: 2, meshShape: [2, 2])
        let found = try planner.plan(microbatches: 4)
        #expect(found.plan.stages.count == 2)
        #expect(found.plan.stages.allSatisfy { $0.mesh.shape == [2, 2] })
        #expect(Set(found.plan.stages[0].mesh.devices).isDisjoint(with: found.plan.stages[1].mesh.devices))
        #expect(PlanValidator.violation(in: found.plan) == nil)
        #expect(found.prediction.iterationSeconds > 0)
    }

    @Test("Megatron plans from score satisfy the plan invariants")
    func megatronPlansAreValid() throws {
        let graph = try ModelCatalog.model(id: "gpt-tiny")!.build()
        let cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        for (tp, pp) in [(8, 1), (4, 2), (2, 2), (1, 2)] {
            let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1",
                                                 configuration: MegatronConfiguration(tensorParallel: tp, pipelineParallel: pp, dataParallel: 8 / (tp * pp)))
            #expect(PlanValidator.violation(in: plan) == nil, "tp=\(tp) pp=\(pp)")
        }
    }

    @Test("a two-stage plan document says what each stage sends: the residual stream forward, its gradient and the tied embedding's back")
    func pipelineSendBytes() throws {
        let graph = try ModelCatalog.model(id: "gpt-tiny")!.build()
        let cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1",
                                             configuration: MegatronConfiguration(tensorParallel: 2, pipelineParallel: 2, dataParallel: 2))
        let document = plan.json(prediction: PlanEvaluator(cluster: cluster).evaluate(plan))
        let stages = try JSONReader(document, at: .root).array("stages")
        let sends = try stages.indices.map { index in
            try JSONReader(stages[index], at: JSONPath.root.appending("stages").appending(index: index)).reader("pipeline_send_bytes")
        }
        // The residual stream between the blocks, [8, 32, 64] bf16 = 32,768 bytes, goes forward and its gradient
        // back; the embedding table [256, 64] bf16, tied to the logits in the last stage, sends its gradient back.
        #expect(try sends[0].number("activations") == 32_768)
        #expect(try sends[0].number("gradients") == 0)
        #expect(try sends[1].number("activations") == 0)
        #expect(try sends[1].number("gradients") == 32_768)
        #expect(try sends[1].number("tied_parameter_gradients") == 32_768)
    }

    @Test("the validator catches an op left out and devices shared by two ranks")
    func validatorCatchesBrokenPlans() throws {
        let graph = try ModelCatalog.model(id: "gpt-tiny")!.build()
        let cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        var plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1",
                                             configuration: MegatronConfiguration(tensorParallel: 2, pipelineParallel: 2, dataParallel: 2))
        var shortened = plan
        let last = shortened.stages[1]
        shortened.stages[1] = StageLayout(operations: last.operations.dropLast(), mesh: last.mesh,
                                          strategies: Array(last.strategies.dropLast()))
        #expect(PlanValidator.violation(in: shortened)?.contains("in no stage") == true)
        plan.stages[1] = StageLayout(operations: last.operations, mesh: plan.stages[0].mesh, strategies: last.strategies)
        #expect(PlanValidator.violation(in: plan)?.contains("share devices") == true)
    }
}

@Suite("Pipeline planner known answers on GPT-3 175B's layers")
struct PipelinePlannerKnownAnswerTests {
    @Test("GPT-3 175B's layers on two DGX nodes: tensor parallelism stays inside each node, the pipeline crosses them")
    func tensorParallelInsideNodesPipelineAcross() throws {
        // 16 of GPT-3 175B's 96 layers (d_model 12288, 96 heads): 29.6B parameters, 474 GB of training
        // state, more than one node's 8 x 80 GB holds, so the model must span both nodes of the cluster.
        let configuration = TransformerConfiguration.gpt(layers: 16, hidden: 12288, heads: 96, vocabulary: 50257,
                                                         sequenceLength: 2048, globalBatch: 32)
        let graph = try TransformerBuilder(name: "gpt3-175b-16-layers", configuration: configuration).build()
        let cluster = try Cluster.preset(named: "dgx-a100-80g:2")
        // The DP alone (without Megatron's configurations, which would include the layout compared below).
        let found = try PipelinePlanner(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:2",
                                        includesMegatronGrid: false).plan(microbatches: 32)
        #expect(PlanValidator.violation(in: found.plan) == nil)
        #expect(found.plan.stages.count >= 2, "\(found.plan.summary ?? "")")
        for stage in found.plan.stages {
            let nodes = Set(stage.mesh.devices.map { cluster.node(ofDevice: $0) })
            #expect(nodes.count == 1, "stage \(stage.mesh.devices) spans nodes \(nodes.sorted())")
        }
        // And it is no slower than Megatron's layout for the same devices: tp=8 in each node, pp=2 across.
        let megatron = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:2",
                                                 configuration: MegatronConfiguration(tensorParallel: 8, pipelineParallel: 2, dataParallel: 1))
        #expect(found.prediction.iterationSeconds <= PlanEvaluator(cluster: cluster).evaluate(megatron).iterationSeconds)
    }
}
