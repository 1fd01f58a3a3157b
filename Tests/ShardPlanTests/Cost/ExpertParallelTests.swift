import Testing
@testable import ShardPlan

@Suite("Expert parallelism")
struct ExpertParallelTests {
    /// moe-tiny (batch 8 x 32 tokens, hidden 64, 8 experts of 32, top-2, 2 layers) with Megatron's expert
    /// parallelism of 4 over a data-parallel group of 4 on one node: mesh [1, 4, 1]; one microbatch of 2 sequences
    /// a replica, or 2 microbatches of 1.
    static func plan(microBatchSize: Int = 2) throws -> (TrainingPlan, Graph, Cluster) {
        let graph = try ModelCatalog.model(id: "moe-tiny")!.build()
        let cluster = try Cluster.preset(named: "dgx-h100")
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-h100",
                                             configuration: MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1, dataParallel: 4,
                                                                                  microBatchSize: microBatchSize, expertParallel: 4))
        return (plan, graph, cluster)
    }

    @Test("each expert GEMM splits the experts over the expert axis; dense ops split the batch over both data axes")
    func layout() throws {
        let (plan, graph, _) = try Self.plan()
        let stage = plan.stages[0]
        #expect(stage.mesh.shape == [1, 4, 1])
        let up = try #require(graph.operations.firstIndex { $0.name == "h0.mlp.experts.up" })
        let expert = try #require(MegatronLayout.expertGEMMIndex(graph.operations[up], graph: graph)).index
        #expect(stage.strategy(of: up).indexOfAxis[1] == expert)
        // The permutation splits the experts too, so the two expert GEMMs reading it share one all-to-all.
        let permute = try #require(graph.operations.firstIndex { $0.name == "h0.mlp.dispatch.permute" })
        #expect(stage.strategy(of: permute).indexOfAxis[1] == graph.operations[permute].indexSpace.resultIndices[0])
        let qkv = try #require(graph.operations.firstIndex { $0.name == "h0.attn.q" })
        #expect(stage.strategy(of: qkv).indexOfAxis[1] == TensorRoles(graph).batchIndex[qkv])
    }

    /// A device's permuted buffer: 8 experts x 2 sequences x 8 slots (32 tokens x 2 / 8 experts) x 64 x 2 bytes
    /// = 16,384 bytes; each layer all-to-alls it to dispatch and to combine, and their gradients back: 4 per layer.
    @Test("dispatch and combine all-to-alls: 16,384 bytes a device, 4 a layer, 2 layers")
    func allToAllBytes() throws {
        let (plan, _, cluster) = try Self.plan()
        let stage = plan.stages[0]
        let model = StageCostModel(graph: plan.graph, kernels: KernelModel(device: cluster.device), options: plan.options,
                                   microbatches: plan.microbatches)
        let cost = model.cost(of: stage)
        #expect(plan.microbatches == 1)
        #expect(abs(cost.communicationBytes[.allToAll]! - 8 * 16_384) < 1e-6)
        let one = stage.mesh.seconds(for: Collective(.allToAll, axes: [1], bytes: 16_384))
        #expect(abs(cost.communicationSeconds[.allToAll]! - 8 * one) < 1e-15)
    }

    /// Each layer's 3 expert weights of 8 x 64 x 32 elements (49,152 parameters) are split 4 ways; everything else
    /// is replicated. 18 bytes of training state per parameter (`TrainingOptions`).
    @Test("expert weights are divided by the expert-parallel size")
    func expertWeights() throws {
        let (plan, graph, cluster) = try Self.plan()
        let model = StageCostModel(graph: graph, kernels: KernelModel(device: cluster.device), options: plan.options, microbatches: 1)
        let state = model.cost(of: plan.stages[0]).modelStateBytes
        let experts = 2 * 49_152
        let others = ModelCatalog.parameterCount(of: graph) - experts
        #expect(state == Double(others + experts / 4) * 18)
    }

    /// `--overlap-tp-comm` is TransformerEngine's userbuffer overlap of the linear layers' gathers and
    /// reduce-scatters; the experts' dispatch and combine are not among them, nor, at tp = 1, the loss's 8-byte
    /// all-reduce over the batch, which has no GEMM to hide behind: the option changes nothing, in the exact model and
    /// in the search's terms, and the plan says so (`ineffectiveOptions`).
    @Test("tensor parallelism's overlap hides none of the experts' all-to-alls, in the exact model and the search")
    func allToAllsAreNotTensorParallelOverlap() throws {
        let (plan, graph, cluster) = try Self.plan()
        let stage = plan.stages[0]
        var overlapped = plan.options
        overlapped.overlapTensorParallelCommunication = true
        let models = [plan.options, overlapped].map {
            StageCostModel(graph: graph, kernels: KernelModel(device: cluster.device), options: $0, microbatches: plan.microbatches)
        }
        let costs = models.map { $0.cost(of: stage) }
        #expect(costs[0].communicationSeconds[.allToAll]! > 0)
        #expect(costs[1].communicationSeconds[.allToAll] == costs[0].communicationSeconds[.allToAll])
        #expect(costs[0].communicationSeconds[.allReduce]! > 0)
        #expect(costs[1].communicationSeconds == costs[0].communicationSeconds)
        let objectives = models.map { Self.searchObjective(of: stage, $0) }
        #expect(objectives[1] == objectives[0])
        var asked = plan
        asked.options = overlapped
        #expect(asked.ineffectiveOptions.map(\.setting) == [.tensorParallelOverlap])
        #expect(!asked.stageSummary.contains("overlap-tp-comm"))
    }

    /// Under DeepEP each of the 8 all-to-alls sends a token once to each other rank that holds one of its 2 experts
    /// (2 experts a rank of 8: `TokenDispatch.missChance`), in the exact model and the search alike; the rest of the
    /// step is unchanged.
    @Test("DeepEP's deduplicated all-to-alls are priced alike in the exact model and the search")
    func deduplicatedDispatch() throws {
        let (plan, graph, cluster) = try Self.plan()
        let stage = plan.stages[0]
        var deepEP = plan.options
        deepEP.expertDispatcher = .deepEP
        let models = [plan.options, deepEP].map {
            StageCostModel(graph: graph, kernels: KernelModel(device: cluster.device), options: $0, microbatches: plan.microbatches)
        }
        let costs = models.map { $0.cost(of: stage) }
        let routing = TokenDispatch(experts: 8, topK: 2, deduplicates: true)
        let one = stage.mesh.collectiveGroup(alongAxes: [1]).deduplicatedAllToAllSeconds(bytes: 4 * 16_384, dispatch: routing)
        #expect(abs(costs[1].communicationSeconds[.allToAll]! - 8 * one) < 1e-15)
        let saved = costs[0].communicationSeconds[.allToAll]! - costs[1].communicationSeconds[.allToAll]!
        #expect(saved > 0)
        let objectives = models.map { Self.searchObjective(of: stage, $0) }
        #expect(abs(objectives[0] - objectives[1] - saved) < 1e-12)
    }

    /// A plan priced with DeepEP says so in its JSON (`expert_dispatcher`, absent for the all-to-all) and its summary,
    /// and reads back as written; an unknown dispatcher in a hand-edited plan is refused at its path.
    @Test("the plan document carries expert_dispatcher, and the summary the dispatcher's name")
    func dispatcherInThePlanDocument() throws {
        let (plan, graph, cluster) = try Self.plan()
        var deepEP = plan
        deepEP.options.expertDispatcher = .deepEP
        let prediction = PlanEvaluator(cluster: cluster).evaluate(deepEP)
        let text = deepEP.jsonText(prediction: prediction)
        #expect(text.contains("\"expert_dispatcher\": \"deepep\""))
        #expect(!plan.jsonText(prediction: PlanEvaluator(cluster: cluster).evaluate(plan)).contains("expert_dispatcher"))
        let decoded = try TrainingPlan(json: try JSONParser.parse(text), graph: graph, cluster: cluster, clusterName: "dgx-h100")
        #expect(decoded.options.expertDispatcher == .deepEP)
        #expect(decoded.describe(decoded.stages[0]).hasSuffix(" deepep"))
        let unknown = text.replacingOccurrences(of: "\"deepep\"", with: "\"nccl\"")
        let refused = #expect(throws: InputError.self) {
            try TrainingPlan(json: try JSONParser.parse(unknown), graph: graph, cluster: cluster, clusterName: "dgx-h100")
        }
        #expect(refused?.path == JSONPath.root.appending("options").appending("expert_dispatcher"), "\(refused?.message ?? "")")
        // Where no stage splits the experts the dispatcher changes nothing: neither written nor shown.
        var dense = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-h100", configuration: MegatronConfiguration(
            tensorParallel: 1, pipelineParallel: 1, dataParallel: 4, microBatchSize: 2))
        dense.options.expertDispatcher = .deepEP
        #expect(!dense.splitsExperts && deepEP.splitsExperts)
        #expect(!dense.jsonText(prediction: PlanEvaluator(cluster: cluster).evaluate(dense)).contains("expert_dispatcher"))
        #expect(!dense.describe(dense.stages[0]).contains("deepep"))
    }

    /// The search's price of `stage`'s layout under `model`: every op pinned to its strategy, so the problem has one
    /// choice.
    static func searchObjective(of stage: StageLayout, _ model: StageCostModel) -> Double {
        let pinned = Dictionary(uniqueKeysWithValues: stage.operations.map { ($0, stage.strategy(of: $0)) })
        let problem = StageShardingProblem(operations: stage.operations, mesh: stage.mesh, model: model, inFlight: 1,
                                           memoryBudget: nil, layers: [], pinned: pinned)
        return problem.problem.cost(of: problem.problem.nodes.map { _ in 0 })
    }

    @Test("expert parallelism must divide the data-parallel ranks")
    func divides() throws {
        let graph = try ModelCatalog.model(id: "moe-tiny")!.build()
        #expect(throws: InputError.self) {
            _ = try TrainingPlan.megatron(graph: graph, cluster: try Cluster.preset(named: "dgx-h100"), clusterName: "dgx-h100",
                                          configuration: MegatronConfiguration(tensorParallel: 2, pipelineParallel: 1, expertParallel: 8))
        }
    }
}
