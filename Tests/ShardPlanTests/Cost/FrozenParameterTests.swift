import Testing
@testable import ShardPlan

/// Frozen parameters (`"trainable": false`, `Value.isFrozen`): a fine-tuned model's base weights beside its adapters.
/// They carry no gradient, so the backward pass computes no weight gradient for them (nor anything only they feed),
/// and they hold no gradient buffer or optimizer state and send nothing in the gradient synchronisation.
@Suite("Frozen parameters")
struct FrozenParameterTests {
    /// SPEC section 1's MLP (x [1024, 4096] through 4,096 x 16,384 and 16,384 x 4,096 weights, GELU, mean loss),
    /// with `w1` frozen or not.
    static func mlp(frozenW1: Bool) throws -> Graph {
        var graph = GraphBuilder(name: "mlp-2")
        let x = try graph.input("x", [1024, 4096], .bf16)
        let w1 = try graph.parameter("w1", [4096, 16384], trainable: !frozenW1)
        let w2 = try graph.parameter("w2", [16384, 4096])
        let h = try graph.einsum("h", "bd,df->bf", x, w1)
        let a = try graph.unary("a", .gelu, h)
        let y = try graph.einsum("y", "bf,fd->bd", a, w2)
        graph.output(try graph.add("loss", .reduce(.mean, axes: [0, 1], keepDimensions: false), [y]))
        return try graph.build()
    }

    static let weightElements = 4096.0 * 16384

    @Test("`trainable: false` round-trips through the graph document; a non-boolean is refused at its member")
    func graphDocument() throws {
        let graph = try Self.mlp(frozenW1: true)
        let text = graph.jsonText
        #expect(text.contains(#""trainable": false"#))
        let decoded = try Graph(jsonBytes: Array(text.utf8))
        #expect(decoded == graph)
        #expect(decoded[try #require(decoded.value(named: "w1"))].isFrozen)
        #expect(!decoded[try #require(decoded.value(named: "w2"))].isFrozen)
        // A trainable parameter writes nothing new: documents without frozen parameters are unchanged.
        #expect(!(try Self.mlp(frozenW1: false)).jsonText.contains("trainable"))
        let broken = text.replacingOccurrences(of: #""trainable": false"#, with: #""trainable": "no""#)
        let error = #expect(throws: InputError.self) { try Graph(jsonBytes: Array(broken.utf8)) }
        #expect(error?.path.description == #"parameters[0] "w1".trainable"#, "\(String(describing: error))")
    }

    /// Frozen w1 reads the data input x: the first product's result carries no gradient, nor GELU's, so their
    /// backward passes vanish (dW1 = x^T dh, 2 x 1024 x 4096 x 16384 FLOPs, and GELU's, 2 x 9 FLOPs an element),
    /// and the second product computes dW2 alone, not dA (another 2 x 1024 x 16384 x 4096).
    @Test("a frozen first weight removes its weight gradient and the backward pass below it, in the analysis and MFU's FLOPs")
    func backwardFLOPs() throws {
        let (trained, frozen) = (GraphAnalysis(try Self.mlp(frozenW1: false)), GraphAnalysis(try Self.mlp(frozenW1: true)))
        let w1 = try #require(frozen.graph.value(named: "w1")), h = try #require(frozen.graph.value(named: "h"))
        #expect(!frozen.gradients[w1] && !frozen.gradients[h] && trained.gradients[h])
        #expect(frozen.gradients[try #require(frozen.graph.value(named: "y"))])
        let product = 2.0 * 1024 * 4096 * 16384, gelu = 9.0 * 1024 * 16384
        #expect(trained.backwardFLOPs - frozen.backwardFLOPs == 2 * product + 2 * gelu)
        #expect(frozen.frozenParameterCount == Int(Self.weightElements) && trained.frozenParameterCount == 0)
        // `inspect --format json` says both (Docs/analysis.md); a graph with nothing frozen writes neither.
        guard case .object(let document) = frozen.json, case .object(let parameters)? = document["parameters"],
              case .object(let flops)? = document["flops"] else { Issue.record("no analysis members"); return }
        #expect(parameters["frozen_count"] == .int(Int(Self.weightElements)))
        #expect(flops["model_training"] == .number(frozen.modelTrainingFLOPs))
        guard case .object(let plainDocument) = trained.json, case .object(let plain)? = plainDocument["parameters"] else {
            Issue.record("no parameters"); return
        }
        #expect(plain["frozen_count"] == nil)
        // MFU's count: three forward passes of a fully trained graph, less, op by op, the share of its two backward
        // passes freezing saves: all of the first product's and GELU's, half of the second product's.
        #expect(trained.modelTrainingFLOPs == 3 * trained.modelForwardFLOPs)
        #expect(frozen.modelTrainingFLOPs == trained.modelTrainingFLOPs - (2 * product + 2 * gelu + product))
    }

    @Test("a frozen parameter's state is its weight alone, sharded as a trainable one's", arguments: [0, 1, 3])
    func parameterState(zeroStage: Int) {
        let frozen = ParameterState(elements: 1000, dataParallel: 4, zeroStage: zeroStage, options: TrainingOptions(), trainable: false)
        #expect(frozen.weightBytes == (zeroStage >= 3 ? 500 : 2000))
        #expect(frozen.gradientBytes == 0 && frozen.optimizerStateBytes == 0 && frozen.gradientAccumulationBytes == 0)
        #expect(frozen.optimizerStepBytes == 0 && frozen.optimizerStepLaunches == 0)
        #expect(frozen.weightBytes == ParameterState(elements: 1000, dataParallel: 4, zeroStage: zeroStage, options: TrainingOptions()).weightBytes)
    }

    /// mlp-2 on one DGX H100, data parallel over 8 (128 samples each, one microbatch), Megatron's distributed
    /// optimizer: w1 frozen drops its fp32 gradient (4 bytes an element) and its share of the sharded Adam state
    /// (12 / 8), and halves the gradients' all-reduce (2 bytes an element of w2 alone); under ZeRO-3 it is gathered as
    /// before and not reduce-scattered.
    @Test("mlp-2 on 8 H100s: a frozen weight holds no gradient or optimizer state and sends no gradient", arguments: [1, 3])
    func dataParallelMemoryAndSynchronisation(zeroStage: Int) throws {
        let cluster = try Cluster.preset(named: "dgx-h100")
        func prediction(frozen: Bool) throws -> PlanPrediction {
            let plan = try TrainingPlan.megatron(graph: try Self.mlp(frozenW1: frozen), cluster: cluster, clusterName: "dgx-h100",
                                                 configuration: MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1, dataParallel: 8,
                                                                                      microBatchSize: 128, options: TrainingOptions(zeroStage: zeroStage)))
            return PlanEvaluator(cluster: cluster).evaluate(plan)
        }
        let (trained, frozen) = (try prediction(frozen: false), try prediction(frozen: true))
        let (t, f) = (trained.ranks[0], frozen.ranks[0])
        let weight = Self.weightElements
        #expect(f.weightBytes == t.weightBytes)
        // Under ZeRO-3 the gradients' shard, and the layer's 16-bit gradients awaiting their reduce-scatter (both
        // weights are in one layer here).
        #expect(t.gradientBytes - f.gradientBytes == (zeroStage >= 3 ? weight * 4 / 8 + weight * 2 : weight * 4))
        #expect(t.optimizerStateBytes - f.optimizerStateBytes == weight * 12 / 8)
        if zeroStage == 3 {
            // Both weights are gathered (before the forward and the backward pass), one is reduce-scattered.
            #expect(f.optimizerSeconds < t.optimizerSeconds)
            #expect(frozen.communicationBytes[.allGather] == trained.communicationBytes[.allGather])
            #expect(frozen.communicationBytes[.reduceScatter] == weight * 2)
            #expect(trained.communicationBytes[.reduceScatter] == 2 * weight * 2)
        } else {
            // The loss's scalar all-reduce besides.
            #expect(trained.communicationBytes[.allReduce, default: 0] - frozen.communicationBytes[.allReduce, default: 0] == weight * 2)
        }
        #expect(f.backwardSeconds < t.backwardSeconds && f.forwardSeconds == t.forwardSeconds)
        #expect(frozen.iterationSeconds < trained.iterationSeconds)
        // The reports say what is frozen (w1: 67.1 M of 134.2 M parameters).
        let plan = try TrainingPlan.megatron(graph: try Self.mlp(frozenW1: true), cluster: cluster, clusterName: "dgx-h100",
                                             configuration: MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1, dataParallel: 8,
                                                                                  microBatchSize: 128, options: TrainingOptions(zeroStage: zeroStage)))
        #expect(frozen.textReport(for: plan).contains("frozen: 67.1 M of 134.2 M parameters in 1 tensor (no gradients or optimizer state); trained: 67.1 M in 1 tensor"))
    }

    /// GPT-3 125M's last block and head with every product's weight frozen but the head's (a frozen base beside a
    /// trained output layer): the search's objective is the exact model's iteration time, as
    /// `StageCostTermsTests.objectiveMatchesExactPrice` checks for a trained model.
    @Test("the search prices frozen weights as the exact model does", arguments: [[2, 2], [1, 4]])
    func objectiveMatchesExactPrice(shape: [Int]) throws {
        var document = try ModelCatalog.model(id: "gpt3-125m")!.build().json
        guard case .object(var top) = document, case .array(let parameters)? = top["parameters"] else { Issue.record("no parameters"); return }
        top["parameters"] = .array(parameters.map { entry in
            guard case .object(var object) = entry, case .string(let name)? = object["name"], name.hasSuffix(".w") else { return entry }
            object["trainable"] = .bool(false)
            return .object(object)
        })
        document = .object(top)
        let graph = try Graph(json: document)
        #expect(graph.parameters.contains { graph[$0].isFrozen })
        let cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        let first = try #require(graph.operations.firstIndex { $0.name.hasPrefix("h11.") })
        let operations = first..<graph.operations.count
        let mesh = try DeviceMesh(devices: Array(0..<4), shape: shape, in: cluster)
        var options = TrainingOptions()
        options.maximumZeroStage = 2
        let model = StageCostModel(graph: graph, kernels: KernelModel(device: cluster.device), options: options, microbatches: 2)
        let stage = StageShardingProblem(operations: operations, mesh: mesh, model: model, inFlight: 1, memoryBudget: nil, layers: [])
        var random = SplitMix64(seed: 5)
        var choices = [try ShardingSolver().solve(stage.problem).choice]
        for _ in 0..<5 { choices.append(stage.problem.nodes.map { Int.random(in: 0..<$0.costs.count, using: &random) }) }
        for choice in choices {
            let cost = model.cost(of: stage.layout(for: choice))
            let exact = 2 * (cost.forwardSeconds + cost.backwardSeconds) + cost.gradientSynchronizationSeconds + cost.optimizerSeconds
            #expect(abs(stage.problem.cost(of: choice) / exact - 1) < 0.002, "objective \(stage.problem.cost(of: choice)) s, exact \(exact) s")
        }
    }

    /// Two products of one input with weights of one shape, merged by `merge-parallel-contractions` into one product
    /// of the stacked weights: both frozen makes a frozen merged weight; one frozen and one trained are not merged.
    @Test("merging frozen weights gives a frozen weight; a frozen and a trained one are not merged", arguments: [true, false])
    func mergedWeights(bothFrozen: Bool) throws {
        var builder = GraphBuilder(name: "siblings")
        let x = try builder.input("x", [8, 16], .bf16)
        let a = try builder.parameter("a.w", [16, 16], trainable: false)
        let b = try builder.parameter("b.w", [16, 16], trainable: !bothFrozen)
        let ya = try builder.einsum("ya", "bd,df->bf", x, a)
        let yb = try builder.einsum("yb", "bd,df->bf", x, b)
        let sum = try builder.binary("sum", .add, ya, yb)
        builder.output(try builder.add("loss", .reduce(.mean, axes: [0, 1], keepDimensions: false), [sum]))
        let graph = try builder.build()
        let rewritten = try graph.rewritingEverywhere(with: [(RewriteRule.mergeParallelContractions, nil)])
        #expect(rewritten.rewrites.count == (bothFrozen ? 1 : 0))
        if bothFrozen {
            #expect(rewritten.graph.parameters.count == 1)
            #expect(rewritten.graph.parameters.allSatisfy { rewritten.graph[$0].isFrozen })
        }
    }

    /// gpt-tiny with the weights of `frozen` (parameter name prefixes) frozen, by way of its document.
    static func gptTiny(freezing frozen: [String]) throws -> Graph {
        guard case .object(var top) = try ModelCatalog.model(id: "gpt-tiny")!.build().json,
              case .array(let parameters)? = top["parameters"] else { throw InputError(.invalidValue, at: .root, "no parameters") }
        top["parameters"] = .array(parameters.map { entry in
            guard case .object(var object) = entry, case .string(let name)? = object["name"],
                  frozen.contains(where: name.hasPrefix) else { return entry }
            object["trainable"] = .bool(false)
            return .object(object)
        })
        return try Graph(json: .object(top))
    }

    /// The stage DP prices each distinct layer structure once (`Layer.structureKey`): a frozen block and a trained
    /// one cost differently, and so does a trained block whose input needs no gradient (only frozen weights below).
    @Test("a frozen block and a trained one above frozen ones are distinct structures; rebatching keeps the flags")
    func structureKeys() throws {
        let trained = GraphAnalysis(try Self.gptTiny(freezing: []))
        let blocks = trained.layers.filter { $0.name.hasPrefix("layer") }
        #expect(blocks.count == 2 && blocks[0].structureKey == blocks[1].structureKey)
        let frozenFirst = try Self.gptTiny(freezing: ["embed.", "h0."])
        let analysis = GraphAnalysis(frozenFirst)
        let frozenBlocks = analysis.layers.filter { $0.name.hasPrefix("layer") }
        #expect(frozenBlocks[0].structureKey != frozenBlocks[1].structureKey)
        #expect(frozenBlocks[1].structureKey != blocks[1].structureKey)
        let rebatched = try frozenFirst.rebatched(to: 16)
        #expect(rebatched.parameters.map { rebatched[$0].isFrozen } == frozenFirst.parameters.map { frozenFirst[$0].isFrozen })
    }

    /// gpt-tiny in two stages of one device, one sequence a microbatch, the embedding and the first block frozen: the
    /// residual stream the first stage sends carries no gradient, so each of the 8 microbatches sends its 4,096 bytes
    /// forward only (both ways when trained: `PointToPointBytesTests`), and the first stage holds only its forward
    /// pass's working set.
    @Test("a pipeline whose first stage is frozen sends activations forward and no gradient back, and keeps no activations")
    func frozenFirstStage() throws {
        let cluster = try Cluster.preset(named: "dgx-h100:1")
        func prediction(_ graph: Graph) throws -> PlanPrediction {
            let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-h100:1", configuration:
                MegatronConfiguration(tensorParallel: 1, pipelineParallel: 2, dataParallel: 1, microBatchSize: 1))
            return PlanEvaluator(cluster: cluster).evaluate(plan)
        }
        let (trained, frozen) = (try prediction(try Self.gptTiny(freezing: [])), try prediction(try Self.gptTiny(freezing: ["embed.", "h0."])))
        #expect(trained.communicationBytes[.sendReceive] == Double(2 * 4096 * 8))
        #expect(frozen.communicationBytes[.sendReceive] == Double(4096 * 8))
        #expect(frozen.ranks[0].pointToPointSeconds == trained.ranks[0].pointToPointSeconds / 2)
        // The frozen stage keeps nothing for a backward pass; while its largest op runs (the GELU over the
        // feed-forward width, 32 x 256 bf16 values in and as many out) 32,768 bytes are alive.
        #expect(frozen.stageCosts[0].activationBytesPerMicrobatch == 0)
        #expect(frozen.stageCosts[0].recomputationWorkingBytes == 32_768)
        #expect(frozen.ranks[0].activationBytes == 32_768)
        #expect(frozen.ranks[0].peakTensorBytes == frozen.ranks[0].weightBytes + frozen.ranks[0].gradientBytes
                    + frozen.ranks[0].optimizerStateBytes + 32_768)
    }

    /// gpt-tiny on one device with the embedding and the first block frozen: no gradient reaches the first block, so no
    /// recomputation mode reruns it or keeps its input as a checkpoint; the second block reruns as it does trained
    /// (the two blocks' forward passes cost the same, so half the trained model's recomputation). Over two pipeline
    /// stages the frozen first one recomputes nothing and keeps nothing.
    @Test("no recomputation mode reruns a frozen block no gradient reaches", arguments: [RecomputeMode.full, .selectiveOperators, .elementwise])
    func frozenBlockNotRecomputed(mode: RecomputeMode) throws {
        let cluster = try Cluster.preset(named: "dgx-h100:1")
        func prediction(_ graph: Graph, pipeline: Int) throws -> PlanPrediction {
            let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-h100:1", configuration:
                MegatronConfiguration(tensorParallel: 1, pipelineParallel: pipeline, dataParallel: 1, microBatchSize: 1,
                                      options: TrainingOptions(recompute: mode)))
            return PlanEvaluator(cluster: cluster).evaluate(plan)
        }
        let trainedGraph = try Self.gptTiny(freezing: []), frozenGraph = try Self.gptTiny(freezing: ["embed.", "h0."])
        let (trained, frozen) = (try prediction(trainedGraph, pipeline: 1), try prediction(frozenGraph, pipeline: 1))
        #expect(trained.ranks[0].recomputeSeconds > 0)
        #expect(abs(frozen.ranks[0].recomputeSeconds / (trained.ranks[0].recomputeSeconds / 2) - 1) < 1e-9)
        let stages = try prediction(frozenGraph, pipeline: 2)
        #expect(stages.ranks[0].recomputeSeconds == 0 && stages.stageCosts[0].activationBytesPerMicrobatch == 0)
        #expect(stages.ranks[1].recomputeSeconds > 0)
    }

    /// FSDP's `SHARD_GRAD_OP` (ZeRO-2 over fp32 weights) gathers the 16-bit copy of every weight before each forward
    /// pass, frozen ones too; only the trained one's gradients are reduce-scattered.
    @Test("under ZeRO-2 over fp32 weights a frozen weight is gathered and not reduce-scattered")
    func gatheredCopyOfFrozenWeight() throws {
        let cluster = try Cluster.preset(named: "dgx-h100")
        func prediction(frozen: Bool) throws -> PlanPrediction {
            let plan = try TrainingPlan.megatron(graph: try Self.mlp(frozenW1: frozen), cluster: cluster, clusterName: "dgx-h100",
                                                 configuration: MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1, dataParallel: 8, microBatchSize: 64,
                                                                                      options: TrainingOptions(zeroStage: 2, optimizerState: .fp32Weights)))
            return PlanEvaluator(cluster: cluster).evaluate(plan)
        }
        let (trained, frozen) = (try prediction(frozen: false), try prediction(frozen: true))
        // Two microbatches, each gathering both weights' 16-bit copies.
        #expect(frozen.communicationBytes[.allGather] == trained.communicationBytes[.allGather])
        #expect(trained.communicationBytes[.allGather] == 2 * 2 * Self.weightElements * 2)
        #expect(frozen.communicationBytes[.reduceScatter] == 2 * Self.weightElements * 2)
        // The frozen fp32 weight keeps its shard and its gathered copy, as the trained one does.
        #expect(frozen.ranks[0].weightBytes == trained.ranks[0].weightBytes)
    }

    /// gpt-tiny on 8 H100s under ZeRO-3, the embedding and the first block frozen: no gradient passes through the first
    /// block, so its unit (layer0: 49,984 weights, 99,968 bytes in bf16) is gathered before the forward pass only. The
    /// embedding's unit is gathered again, since its tied table is read by the output layer's backward pass, and so
    /// is the trained second block's. The search's terms gather the first block's weights once too.
    @Test("under ZeRO-3 a frozen layer with no backward pass is gathered before the forward pass only")
    func frozenLayerGatheredOnce() throws {
        let cluster = try Cluster.preset(named: "dgx-h100")
        let configuration = MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1, dataParallel: 8, microBatchSize: 1,
                                                  options: TrainingOptions(zeroStage: 3))
        func prediction(_ graph: Graph) throws -> PlanPrediction {
            let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-h100", configuration: configuration)
            return PlanEvaluator(cluster: cluster).evaluate(plan)
        }
        let trainedGraph = try Self.gptTiny(freezing: [])
        let frozenGraph = try Self.gptTiny(freezing: ["embed.", "h0."])
        let (trained, frozen) = (try prediction(trainedGraph), try prediction(frozenGraph))
        let layer0 = 4 * 64 + 64 * 192 + 192 + 64 * 64 + 64 + 2 * 256 * 64 + 256 + 64
        #expect(layer0 == 49_984)
        #expect(trained.communicationBytes[.allGather]! - frozen.communicationBytes[.allGather]! == Double(2 * layer0))
        let stageCost = StageCostModel(graph: frozenGraph, kernels: KernelModel(device: cluster.device),
                                       options: configuration.options, microbatches: 1)
        let layers = stageCost.layersGatheredForBackward(0..<frozenGraph.operations.count)
        #expect(!layers.contains("layer0") && layers.contains("layer1") && layers.contains("embed"))
    }

    /// The searches prune with `ParameterState.leastBytes`: it must stay below what any layout holds.
    @Test("the memory bound with frozen parameters stays below the exact model's state", arguments: [0, 1, 3])
    func boundBelowExact(zeroStage: Int) throws {
        let cluster = try Cluster.preset(named: "dgx-h100")
        let plan = try TrainingPlan.megatron(graph: try Self.mlp(frozenW1: true), cluster: cluster, clusterName: "dgx-h100",
                                             configuration: MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1, dataParallel: 8,
                                                                                  microBatchSize: 128, options: TrainingOptions(zeroStage: zeroStage)))
        let rank = PlanEvaluator(cluster: cluster).evaluate(plan).ranks[0]
        let bound = ParameterState.leastBytes(elements: 2 * Self.weightElements, frozenElements: Self.weightElements, devices: 8,
                                              options: TrainingOptions())
        #expect(bound <= rank.weightBytes + rank.gradientBytes + rank.optimizerStateBytes)
        // ZeRO-3 over 8 devices: w1's 2 bytes and w2's 18, each an eighth.
        #expect(bound == Self.weightElements * (2 + 18) / 8)
    }
}
