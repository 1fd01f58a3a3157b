import Testing
@testable import ShardPlan

/// Expert parallelism laid out as Megatron-Core orders expert ranks (`tp-ep-dp-pp` after the expert tensor-parallel
/// ranks): over the context-parallel ranks first and, with expert tensor parallelism 1, over the tensor-parallel
/// ones too (MoE parallel folding), each rank's tokens dispatched in one all-to-all over the whole group.
@Suite("Expert parallelism folded over context- and tensor-parallel ranks")
struct ExpertFoldingTests {
    static let cluster = try! Cluster.preset(named: "dgx-h100")

    static func plan(_ configuration: MegatronConfiguration) throws -> (Graph, TrainingPlan) {
        let graph = try #require(ModelCatalog.model(id: "moe-tiny")).build()
        return (graph, try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-h100", configuration: configuration))
    }

    static func operation(_ name: String, in graph: Graph) throws -> Int {
        try #require(graph.operations.firstIndex { $0.name == name })
    }

    /// The tokens of the first layer before their permutation in `stage`, in the layout their producer writes and the
    /// one the permutation reads, and their elements.
    static func dispatch(in stage: StageLayout, of graph: Graph) throws
        -> (permute: Int, slots: ValueID, source: ShardingSpec, wanted: ShardingSpec, elements: Double) {
        let permute = try operation("h0.mlp.dispatch.permute", in: graph)
        let slots = graph.operations[permute].inputs[0]
        let producer = try #require(graph[slots].operationIndex)
        return (permute, slots, stage.strategy(of: producer).resultSpec(in: graph.operations[producer].indexSpace),
                stage.strategy(of: permute).operandSpec(0, in: graph.operations[permute].indexSpace), Double(graph[slots].type.elementCount))
    }

    /// moe-tiny (8 experts) on 8 GPUs at tp = 2 with sequence parallelism and ep = 4 with whole experts: the
    /// expert axis takes 2 of the 4 data-parallel ranks, `[2, 2, 2]`, and the expert GEMMs split their 8 experts over
    /// it and the tensor axis (two a rank), their hidden and feed-forward indices whole. The tokens before the
    /// permutation, `[8, 8, 8, 64]` in bf16 (65,536 bytes), are split over the batch (data and expert axes) and,
    /// after sequence parallelism, the capacity (tensor axis): 8,192 bytes a device, which one all-to-all over the
    /// expert and tensor axes sends to their experts, where XLA's pieces would gather the whole tensor.
    @Test("--etp 1 with tp = 2 and ep = 4: the experts split over the expert and tensor axes, the tokens dispatched in one all-to-all of 8,192 bytes")
    func foldedOverTensor() throws {
        let (graph, plan) = try Self.plan(MegatronConfiguration(tensorParallel: 2, pipelineParallel: 1, sequenceParallel: true,
                                                                expertParallel: 4, expertTensorParallel: 1))
        let stage = plan.stages[0]
        #expect(stage.mesh.shape == [2, 2, 2])
        let up = try Self.operation("h0.mlp.experts.up", in: graph)
        let experts = try #require(MegatronLayout.expertGEMMIndex(graph.operations[up], graph: graph)).index
        let strategy = stage.strategy(of: up)
        #expect(strategy.indexOfAxis == [strategy.indexOfAxis[0], experts, experts])
        #expect(strategy.splitFactor(of: experts, meshShape: stage.mesh.shape) == 4)
        let weight = strategy.operandSpec(1, in: graph.operations[up].indexSpace)
        #expect(weight.dimensionAxes == [[1, 2], [], []], "whole experts: the weight splits its experts only")
        let (_, slots, source, wanted, elements) = try Self.dispatch(in: stage, of: graph)
        #expect(elements * 2 == 65_536)
        // The tokens before and after their permutation and the experts' output carry tokens; the values between the
        // expert GEMMs and their weights do not.
        let dispatchedTokens = TensorRoles(graph).dispatchedTokens
        func value(_ name: String) throws -> Int { graph.operations[try Self.operation(name, in: graph)].result.rawValue }
        let (permuted, output) = (try value("h0.mlp.dispatch.permute"), try value("h0.mlp.experts.down"))
        let (gate, gated) = (try value("h0.mlp.experts.gate"), try value("h0.mlp.experts.gated"))
        // moe-tiny routes each token to 2 of 8 experts.
        let routing = TokenDispatch(experts: 8, topK: 2)
        #expect(dispatchedTokens[slots.rawValue] == routing && dispatchedTokens[permuted] == routing && dispatchedTokens[output] == routing)
        #expect(dispatchedTokens[gate] == nil && dispatchedTokens[gated] == nil)
        #expect(dispatchedTokens[graph.operations[up].inputs[1].rawValue] == nil, "the experts' weight")
        let dispatched = Resharding.collectives(from: source, to: wanted, elementCount: elements, bytesPerElement: 2,
                                                meshShape: stage.mesh.shape, dispatch: TokenDispatch(experts: 8, topK: 2))
        #expect(dispatched == [Collective(.allToAll, axes: [1, 2], bytes: 8192)])
        let asXLA = Resharding.collectives(from: source, to: wanted, elementCount: elements, bytesPerElement: 2, meshShape: stage.mesh.shape)
        #expect(asXLA.contains { $0.kind == .allGather }, "XLA's partitioner gathers where two dimensions feed one")
        #expect(plan.summary?.contains("ep=4 etp=1") == true)
    }

    /// With the experts split by tensor parallelism (the default) ep = 4 takes the 4 data-parallel ranks, `[1, 4, 2]`,
    /// and the expert GEMMs split their feed-forward index over the tensor axis: each device holds half of 2 experts,
    /// the weight bytes of ep = 8 with whole experts (the same mesh, the experts over both axes), 83,584 bytes a
    /// device with the dense weights.
    @Test("ep = 4 with each expert over tp = 2 holds the weight bytes of ep = 8 with whole experts; ep = 4 with whole experts twice the experts'")
    func tensorSplitExperts() throws {
        let (graph, split) = try Self.plan(MegatronConfiguration(tensorParallel: 2, pipelineParallel: 1, sequenceParallel: true, expertParallel: 4))
        let (_, folded) = try Self.plan(MegatronConfiguration(tensorParallel: 2, pipelineParallel: 1, sequenceParallel: true,
                                                              expertParallel: 8, expertTensorParallel: 1))
        #expect(split.stages[0].mesh.shape == [1, 4, 2] && folded.stages[0].mesh.shape == [1, 4, 2])
        let up = try Self.operation("h0.mlp.experts.up", in: graph)
        let space = graph.operations[up].indexSpace
        #expect(split.stages[0].strategy(of: up).operandSpec(1, in: space).dimensionAxes == [[1], [], [2]],
                "experts over the expert axis, the feed-forward index over the tensor axis")
        #expect(folded.stages[0].strategy(of: up).operandSpec(1, in: space).dimensionAxes == [[1, 2], [], []])
        let evaluator = PlanEvaluator(cluster: Self.cluster)
        #expect(evaluator.evaluate(split).ranks[0].weightBytes == 83_584)
        #expect(evaluator.evaluate(folded).ranks[0].weightBytes == 83_584)
        let (_, twice) = try Self.plan(MegatronConfiguration(tensorParallel: 2, pipelineParallel: 1, sequenceParallel: true,
                                                             expertParallel: 4, expertTensorParallel: 1))
        let expertBytes = Double(ExpertLayers(graph).parameterElements) * 2 / 8
        #expect(evaluator.evaluate(twice).ranks[0].weightBytes == 83_584 + expertBytes)
    }

    /// Megatron-Core's expert ranks follow the tensor-parallel ones, so beside context parallelism they are the
    /// context-parallel ranks first: cp = 2 and ep = 2 on 8 GPUs (tp = 1, dp = 4) is an expert group of the two ranks
    /// that share each sequence, with no expert axis cut from the data-parallel ones.
    @Test("beside cp = 2, ep = 2 folds over the context axis: the expert GEMMs split their experts there")
    func foldedOverContext() throws {
        let (graph, plan) = try Self.plan(MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1, contextParallel: 2, expertParallel: 2))
        let stage = plan.stages[0]
        #expect(stage.mesh.shape == [4, 2, 1])
        let up = try Self.operation("h0.mlp.experts.up", in: graph)
        let experts = try #require(MegatronLayout.expertGEMMIndex(graph.operations[up], graph: graph)).index
        #expect(stage.strategy(of: up).indexOfAxis[1] == experts)
        let attention = try Self.operation("h0.attn", in: graph)
        #expect(ContextParallelExchange.ringSize(graph.operations[attention], stage.strategy(of: attention), meshShape: stage.mesh.shape) == 2)
    }

    /// Beside context parallelism 2 and sequence parallelism over tp = 2, ep = 4 with each expert over the tensor-parallel
    /// ranks takes the context axis and 2 of the 4 data-parallel ranks (16 GPUs: mesh `[2, 2, 2, 2]`). The permuted
    /// buffer (65,536 bytes) is split 16 ways before the dispatch, 4,096 bytes a device: one all-to-all over the expert and
    /// context axes sends them to their experts, then an all-gather over the tensor axis gives each of its ranks every
    /// token of its experts, 8,192 bytes, as Megatron-Core's dispatcher gathers them after its all-to-all.
    @Test("cp = 2, ep = 4, sequence parallelism over tp = 2: the dispatch is one all-to-all of 4,096 bytes, then an all-gather to 8,192 over the tensor axis")
    func dispatchBesideContextAndSequenceParallelism() throws {
        let graph = try #require(ModelCatalog.model(id: "moe-tiny")).build()
        let cluster = try Cluster.preset(named: "dgx-h100:2")
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-h100:2", configuration: MegatronConfiguration(
            tensorParallel: 2, pipelineParallel: 1, sequenceParallel: true, contextParallel: 2, expertParallel: 4))
        let stage = plan.stages[0]
        #expect(stage.mesh.shape == [2, 2, 2, 2])
        let (permute, _, source, wanted, elements) = try Self.dispatch(in: stage, of: graph)
        let dispatched = Resharding.collectives(from: source, to: wanted, elementCount: elements, bytesPerElement: 2,
                                                meshShape: stage.mesh.shape, dispatch: TokenDispatch(experts: 8, topK: 2))
        // The permutation keeps the tensor axis's split; the expert GEMM, tensor-parallel over its feed-forward index,
        // reads every token of its experts.
        let up = try Self.operation("h0.mlp.experts.up", in: graph)
        let permuted = stage.strategy(of: permute).resultSpec(in: graph.operations[permute].indexSpace)
        let read = stage.strategy(of: up).operandSpec(0, in: graph.operations[up].indexSpace)
        let gathered = Resharding.collectives(from: permuted, to: read, elementCount: elements, bytesPerElement: 2,
                                              meshShape: stage.mesh.shape, dispatch: TokenDispatch(experts: 8, topK: 2))
        #expect(dispatched + gathered == [Collective(.allToAll, axes: [1, 2], bytes: 4096), Collective(.allGather, axes: [3], bytes: 8192)])
    }

    @Test("expert layouts Megatron-Core cannot run or ShardPlan cannot lay out are refused at expertParallel and expertTensorParallel")
    func refusals() throws {
        func problem(_ configuration: MegatronConfiguration) -> String? {
            do { _ = try Self.plan(configuration); return nil } catch let error as InputError { return error.description } catch { return "\(error)" }
        }
        let etp3 = problem(MegatronConfiguration(tensorParallel: 2, pipelineParallel: 1, sequenceParallel: true, expertParallel: 4, expertTensorParallel: 3))
        #expect(etp3?.contains("expertTensorParallel") == true)
        let partialContext = problem(MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1, contextParallel: 4, expertParallel: 2))
        #expect(partialContext?.contains("must be a multiple of 4") == true, "\(partialContext ?? "accepted")")
        let tooMany = problem(MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1, expertParallel: 16, expertTensorParallel: 1))
        #expect(tooMany != nil)
        let noExperts = problem(MegatronConfiguration(tensorParallel: 2, pipelineParallel: 1, sequenceParallel: true, expertTensorParallel: 1))
        #expect(noExperts?.contains("--etp 1 folds") == true)
        let beyondData = problem(MegatronConfiguration(tensorParallel: 2, pipelineParallel: 1, sequenceParallel: true, expertParallel: 8, expertTensorParallel: 2))
        #expect(beyondData?.contains("must divide dp = 4") == true, "\(beyondData ?? "accepted")")
    }

    /// ExpertLayers' layouts for 8 experts over 4 data-parallel replicas of tp = 2: none, 2 and 4 experts' ranks from
    /// the replicas with each expert split over the tensor-parallel ranks, and 2, 4 and 8 with whole experts folded
    /// over them.
    @Test("the grid's expert layouts: ep from the data-parallel ranks with etp = tp, and folded over tp with etp = 1")
    func gridLayouts() throws {
        let graph = try #require(ModelCatalog.model(id: "moe-tiny")).build()
        let layouts = ExpertLayers(graph).parallelLayouts(dataParallel: 4, contextParallel: 1, tensorParallel: 2)
        #expect(layouts.map { "\($0.size)/\($0.tensor.map(String.init) ?? "tp")" } == ["1/tp", "2/tp", "4/tp", "2/1", "4/1", "8/1"])
        let context = ExpertLayers(graph).parallelLayouts(dataParallel: 2, contextParallel: 2, tensorParallel: 1)
        #expect(context.map(\.size) == [1, 2, 4])
    }

    /// For torchtitan (`plan --emit torchtitan`), whose DeepEP refuses expert tensor parallelism, the grid prices DeepEP
    /// only where the experts are whole on their ranks and NCCL's all-to-all where each is split over tp.
    @Test("the grid for torchtitan prices DeepEP for whole experts only")
    func gridDispatcherForTorchTitan() throws {
        let graph = try #require(ModelCatalog.model(id: "moe-tiny")).build()
        let cluster = try Cluster.preset(named: "dgx-h100")
        var options = TrainingOptions()
        options.expertDispatcher = .deepEP
        var variants = StageSearchOracle.Variants(zeroStages: [1], recomputeModes: [.none])
        variants.deduplicatesOnlyWholeExperts = true
        let configurations = MegatronGrid().configurations(for: graph, on: cluster, options: options, analysis: GraphAnalysis(graph),
                                                           variants: variants)
        let expertSplitOverTensor = configurations.filter { $0.expertParallel > 1 && $0.tensorParallel > 1 && !$0.foldsExpertsOverTensor }
        let wholeExperts = configurations.filter { $0.expertParallel > 1 && ($0.tensorParallel == 1 || $0.foldsExpertsOverTensor) }
        #expect(!expertSplitOverTensor.isEmpty && !wholeExperts.isEmpty)
        #expect(expertSplitOverTensor.allSatisfy { $0.options.expertDispatcher == .allToAll })
        #expect(wholeExperts.allSatisfy { $0.options.expertDispatcher == .deepEP })
        // Megatron-Core's flex dispatcher runs beside expert tensor parallelism: without the flag every one keeps DeepEP.
        let megatron = MegatronGrid().configurations(for: graph, on: cluster, options: options, analysis: GraphAnalysis(graph),
                                                     variants: StageSearchOracle.Variants(zeroStages: [1], recomputeModes: [.none]))
        #expect(megatron.allSatisfy { $0.options.expertDispatcher == .deepEP })
    }
}
