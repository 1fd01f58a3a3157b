import Testing
@testable import ShardPlan

@Suite("The search finds context parallelism")
struct ContextParallelPlanTests {
    /// Llama 3 8B's shapes (Dubey et al. 2024, Table 3) at 131,072 tokens per sequence, one sequence per
    /// iteration, on one DGX H100 with full recomputation (the activations of 128K tokens do not fit otherwise).
    /// Meta trained its 128K context stage with context parallelism (§3.3.2, CP = 16 with TP = 8 for 405B); on
    /// one node splitting the sequence of every op over the 8 GPUs and exchanging keys and values beats tensor
    /// parallelism, and the search finds a plan at least as fast.
    @Test("Llama 3 8B at 128K tokens on one DGX H100: context parallelism over the node beats tensor parallelism by over 15%, and the search is no slower")
    func llama3LongContext() throws {
        let configuration = TransformerConfiguration.llama(layers: 32, hidden: 4096, heads: 32, keyValueHeads: 8,
                                                           feedForwardHidden: 14336, vocabulary: 128256,
                                                           sequenceLength: 131072, globalBatch: 1)
        let graph = try TransformerBuilder(name: "llama3-8b-128k", configuration: configuration).build()
        let cluster = try Cluster.preset(named: "dgx-h100")
        let options = TrainingOptions(recompute: .full, zeroStage: 1)
        let planner = SingleStagePlanner(graph: graph, cluster: cluster, clusterName: "dgx-h100", options: options, recomputeModes: [options.recompute])
        let prediction = try planner.plan(microbatches: 1).prediction
        #expect(prediction.fitsInMemory)
        // Megatron's tensor parallelism over the node (with sequence parallelism) is priced 7.94 s, its context
        // parallelism of 8 6.53 s (the ring's eight attention kernels per layer and the copies, corrections and
        // accumulations around them, `OperatorCostModel.attentionCost`), the search's plan 6.25 s.
        // The search's plan is at least as fast as the context-parallel layout; which of the near-equal plans it
        // returns (queries split over the ring, or heads split between all-to-alls of sequence-split activations)
        // turns on a few percent of attention time, so the test holds the prices, not the tie.
        let tensorParallel = try TrainingPlan.megatron(
            graph: graph, cluster: cluster, clusterName: "dgx-h100",
            configuration: MegatronConfiguration(tensorParallel: 8, pipelineParallel: 1, sequenceParallel: true, options: options))
        let contextParallel = try TrainingPlan.megatron(
            graph: graph, cluster: cluster, clusterName: "dgx-h100",
            configuration: MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1, dataParallel: 1, contextParallel: 8, options: options))
        let evaluator = PlanEvaluator(cluster: cluster)
        let ringSeconds = evaluator.evaluate(contextParallel).iterationSeconds
        let tensorSeconds = evaluator.evaluate(tensorParallel).iterationSeconds
        #expect(ringSeconds < 0.85 * tensorSeconds)
        #expect(prediction.iterationSeconds <= ringSeconds * 1.001)
        let attention = try #require(graph.operations.firstIndex { $0.name == "h0.attn" })
        let stage = contextParallel.stages[0]
        #expect(ContextParallelExchange.ringSize(graph.operations[attention], stage.strategy(of: attention), meshShape: stage.mesh.shape) == 8)
        // Read back for the frameworks, the context-parallel plan is Megatron's context parallelism over the node.
        let recognition = try LayoutRecognition(contextParallel)
        #expect(recognition.layout.contextParallel == 8 && recognition.layout.tensorParallel == 1 && recognition.layout.dataParallel == 1)
        let megatron = try FrameworkExport(recognition: recognition, of: contextParallel, prediction: evaluator.evaluate(contextParallel),
                                           framework: .megatron)
        #expect(megatron.text.contains("--context-parallel-size 8"))
    }

    /// The stage DP's 2-D views cannot split a microbatch's samples, its sequence and its heads at once; for long
    /// sequences a view whose rows outnumber the iteration's samples also comes as Megatron's `[dp, cp, tp]` meshes.
    /// On 16 devices (views 1 x 16 to 16 x 1, nodes of 8), 2 samples and context-parallel sizes 2 and 4: 4 x 4 gives
    /// 2 x 2 x 4 and 1 x 4 x 4; 8 x 2 gives 2 x 4 x 2 only (cp = 2 leaves 4 data-parallel rows for 2 samples); 16 x 1
    /// none (cp = 4 leaves 4); 2 x 8 none (its 2 rows take the 2 samples); 1 x 16 none (its columns cross nodes).
    @Test("context-parallel views by hand: 4 x 4 and 8 x 2 become [2, 2, 4], [1, 4, 4] and [2, 4, 2] for 2 samples")
    func contextViewsByHand() {
        let planar = [[1, 16], [2, 8], [4, 4], [8, 2], [16, 1]]
        #expect(StageSearchOracle.contextViews(of: planar, sizes: [2, 4], devicesPerDomain: 8, batch: 2) == [[2, 2, 4], [1, 4, 4], [2, 4, 2]])
        #expect(StageSearchOracle.contextViews(of: planar, sizes: [2, 4], devicesPerDomain: 8, batch: 16).isEmpty)
        // Under the all-to-all exchange the heads must divide over cp x columns: 16 for 1 x 4 x 4, 8 for 2 x 2 x 4 and
        // 2 x 4 x 2. 4 key/value heads divide over none of them; 8 over the last two.
        let heads = [AttentionHeads(query: 8, keyValue: 4)]
        #expect(StageSearchOracle.contextViews(of: planar, sizes: [2, 4], devicesPerDomain: 8, batch: 2, heads: heads).isEmpty)
        #expect(StageSearchOracle.contextViews(of: planar, sizes: [2, 4], devicesPerDomain: 8, batch: 2,
                                               heads: [AttentionHeads(query: 32, keyValue: 8)]) == [[2, 2, 4], [2, 4, 2]])
    }

    /// Llama-tiny at 16,384 tokens, 2 sequences, on one DGX H100: the oracle offers context-parallel views, and their
    /// catalogs hold Megatron's context-parallel layouts, attention's queries split over the context axis; at 8,192
    /// tokens (below `contextViewTokens`) it offers none.
    @Test("long sequences: the oracle's context-parallel views hold Megatron's context-parallel layouts; none at 8,192 tokens")
    func oracleOffersContextViews() throws {
        let cluster = try Cluster.preset(named: "dgx-h100")
        for (sequence, expectsViews) in [(16384, true), (8192, false)] {
            let graph = try #require(ModelCatalog.model(id: "llama-tiny")).build(sequenceLength: sequence, globalBatch: 2)
            let analysis = GraphAnalysis(graph)
            let clustering = LayerClustering(analysis, smallLayerFraction: 0)
            let node = try #require(SubmeshShape.equalShare(of: 1, nodes: 1, devicesPerNode: 8))
            let model = StageCostModel(graph: graph, kernels: PlanEvaluator(cluster: cluster).kernels, options: TrainingOptions(), microbatches: 1)
            let oracle = StageSearchOracle(model: model, cluster: cluster, clustering: clustering, analysis: analysis,
                                           search: IntraOperatorSearch(), submeshes: [node])
            let views = try #require(oracle.views[node]).filter { $0.count == 3 }
            #expect(views.isEmpty != expectsViews, "\(sequence) tokens: \(views)")
            for view in views {
                let catalog = try #require(try oracle.catalog(node, view))
                #expect(!catalog.layouts.isEmpty)
                for layout in catalog.layouts {
                    let operations = clustering.layers.flatMap(\.operations)
                    let attention = try #require(operations.firstIndex { if case .attention = graph.operations[$0].op { true } else { false } })
                    let strategy = layout.flatMap { $0 }[attention]
                    let query = graph.operations[operations[attention]].indexSpace.indices.firstIndex { $0.name == "query" }
                    #expect(strategy.indexOfAxis[1] == query, "view \(view): attention splits its queries on the context axis")
                }
            }
        }
    }

    /// A stage the DP takes from a context-parallel view reads as Megatron's: its middle axis splits every attention
    /// op's queries, which `MegatronSummary` names context parallelism, not a mixed axis.
    @Test("a [dp, cp, tp] stage is summarised tp=2 dp=2 cp=2, its context axis a role of its own")
    func contextAxisIsNamed() throws {
        let graph = try #require(ModelCatalog.model(id: "llama-tiny")).build(sequenceLength: 16384, globalBatch: 2)
        let cluster = try Cluster.preset(named: "dgx-h100")
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-h100", configuration: MegatronConfiguration(
            tensorParallel: 2, pipelineParallel: 1, dataParallel: 2, contextParallel: 2))
        let roles = MegatronSummary.roles(of: plan.stages[0], graph: graph)
        #expect(roles.axes == [.data, .context, .tensor] && roles.contextParallel == 2 && roles.mixedAxes.isEmpty)
        #expect(MegatronSummary.describe(plan.stages[0], graph: graph) == "tp=2 dp=2 cp=2")
    }
}
