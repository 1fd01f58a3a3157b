import Testing
@testable import ShardPlan

@Suite("Megatron layouts with lighter first and last pipeline ranks")
struct MegatronStageLayersTests {
    /// A two-layer Llama of 8 query and 4 key/value heads at 8,192 tokens, 8 sequences, its attention windowed to 4,096.
    static func windowedLlama() throws -> Graph {
        var configuration = TransformerConfiguration.llama(layers: 2, hidden: 64, heads: 8, keyValueHeads: 4, feedForwardHidden: 176,
                                                           vocabulary: 256, sequenceLength: 8192, globalBatch: 8)
        configuration.slidingWindow = 4096
        return try TransformerBuilder(name: "windowed-llama", configuration: configuration).build()
    }

    /// A GPT of 10 blocks with layer hints: embedding, h0 ... h9, head.
    static func graph() throws -> Graph {
        try TinyGPT(layers: 10, hinted: true).graph()
    }

    /// The blocks each chunk of a plan runs (by the names of the layers its ops carry).
    static func blocks(_ plan: TrainingPlan) -> [Int] {
        plan.stages.map { stage in Set(stage.operations.compactMap { plan.graph.operations[$0].layer }.filter { $0.hasPrefix("h") }).count }
    }

    @Test("4 ranks, 2 blocks on the first and the last: the middle ranks take 3 each")
    func lighterEnds() throws {
        let graph = try Self.graph()
        let cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1", configuration: MegatronConfiguration(
            tensorParallel: 2, pipelineParallel: 4, dataParallel: 1, firstStageLayers: 2, lastStageLayers: 2))
        #expect(Self.blocks(plan) == [2, 3, 3, 2])
        #expect(plan.summary?.contains("first=2 last=2") == true)
        #expect(PlanValidator.violation(in: plan) == nil)
    }

    @Test("interleaved: 3 ranks of 4, 2 and 4 blocks over 2 chunks run in pipeline order, the first rank's chunk 0 holding the embedding")
    func interleavedLighterMiddle() throws {
        let graph = try Self.graph()
        let cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        // 10 blocks: first 4, last 4, the one middle rank 2; each rank's blocks split over its 2 chunks.
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1", configuration: MegatronConfiguration(
            tensorParallel: 1, pipelineParallel: 2, dataParallel: 4, virtualStages: 2, firstStageLayers: 4, lastStageLayers: 6))
        // Chunks in pipeline order: rank 0 chunk 0, rank 1 chunk 0, rank 0 chunk 1, rank 1 chunk 1.
        #expect(Self.blocks(plan) == [2, 3, 2, 3])
        #expect(plan.stages[0].operations.lowerBound == 0)
        #expect(PlanValidator.violation(in: plan) == nil)
    }

    @Test("a split that leaves the middle ranks unequal, or a rank fewer layers than chunks, is an error naming the option",
          arguments: [(4, 3, 1, 2), (3, 2, 3, 3), (2, 1, 2, 9)])
    func invalidSplits(ranks: Int, first: Int, chunks: Int, last: Int) throws {
        let graph = try Self.graph()
        let cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        #expect(throws: InputError.self) {
            try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1", configuration: MegatronConfiguration(
                tensorParallel: 1, pipelineParallel: ranks, dataParallel: 1, virtualStages: chunks,
                firstStageLayers: first, lastStageLayers: last))
        }
    }

    /// Chunk layer counts in pipeline order for a GPT of `layers` blocks over `ranks x chunks` chunks.
    static func chunkBlocks(layers: Int, ranks: Int, chunks: Int, embedding: Bool, loss: Bool) throws -> [Int] {
        let graph = try TinyGPT(layers: layers, hinted: true).graph()
        let cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1", configuration: MegatronConfiguration(
            tensorParallel: 1, pipelineParallel: ranks, dataParallel: 1, virtualStages: chunks,
            embeddingInPipelineSplit: embedding, lossInPipelineSplit: loss))
        #expect(plan.stages[0].operations.lowerBound == 0)
        #expect(PlanValidator.violation(in: plan) == nil)
        return blocks(plan)
    }

    @Test("Llama 3.1 405B's split: 126 blocks over 8 ranks of 8 chunks, the embedding and the loss counted, leave chunks 0 and 63 one block each")
    func embeddingAndLossCounted() throws {
        let blocks = try Self.chunkBlocks(layers: 126, ranks: 8, chunks: 8, embedding: true, loss: true)
        #expect(blocks == [1] + Array(repeating: 2, count: 62) + [1])
        let configuration = MegatronConfiguration(tensorParallel: 8, pipelineParallel: 8, virtualStages: 8,
                                                  embeddingInPipelineSplit: true, lossInPipelineSplit: true)
        #expect(configuration.summary(dataParallel: 16, noSync: false).contains("vp=8 split+embedding+loss"))
    }

    @Test("the embedding or the loss alone counted, interleaved or not", arguments: [
        (15, 4, 2, true, false, [1, 2, 2, 2, 2, 2, 2, 2]), (15, 4, 2, false, true, [2, 2, 2, 2, 2, 2, 2, 1]),
        (10, 4, 1, true, true, [2, 3, 3, 2]), (11, 4, 1, true, false, [2, 3, 3, 3]), (7, 2, 2, false, true, [2, 2, 2, 1]),
    ])
    func embeddingOrLossCounted(layers: Int, ranks: Int, chunks: Int, embedding: Bool, loss: Bool, expected: [Int]) throws {
        #expect(try Self.chunkBlocks(layers: layers, ranks: ranks, chunks: chunks, embedding: embedding, loss: loss) == expected)
    }

    @Test("counting the embedding or the loss is an error at its property where the layers do not divide, beside first or last stage layers, or without a pipeline",
          arguments: [(4, 2, true, false, nil as Int?, "embeddingInPipelineSplit"),
                      (4, 2, false, true, nil, "lossInPipelineSplit"),
                      (4, 1, true, true, 2, "embeddingInPipelineSplit"),
                      (1, 1, false, true, nil, "lossInPipelineSplit")])
    func countedErrors(ranks: Int, chunks: Int, embedding: Bool, loss: Bool, first: Int?, option: String) throws {
        let graph = try Self.graph()
        let cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        let error = #expect(throws: InputError.self) {
            try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1", configuration: MegatronConfiguration(
                tensorParallel: 1, pipelineParallel: ranks, dataParallel: 1, virtualStages: chunks, firstStageLayers: first,
                embeddingInPipelineSplit: embedding, lossInPipelineSplit: loss))
        }
        #expect(error?.path.description == option)
    }

    /// Megatron-Core runs a chunk whose only layer is the counted embedding or loss: NVIDIA's Megatron-MoE-ModelZoo trains
    /// Qwen3-235B-A22B's 94 layers over pp 32 x vp 3 with both counted, a first chunk of the embedding alone and a last
    /// of the loss alone.
    @Test("a chunk of the counted embedding or loss alone: 7 blocks and the embedding, 6 and both, over 4 ranks of 2 chunks")
    func countedEmptyChunk() throws {
        #expect(try Self.chunkBlocks(layers: 7, ranks: 4, chunks: 2, embedding: true, loss: false) == [0] + Array(repeating: 1, count: 7))
        #expect(try Self.chunkBlocks(layers: 6, ranks: 4, chunks: 2, embedding: true, loss: true) == [0] + Array(repeating: 1, count: 6) + [0])
        #expect(MegatronLayerSplit(embeddingInPipelineSplit: true).runs(layers: 7, ranks: 4, chunks: 2))
        #expect(MegatronLayerSplit(chunkLayers: [0] + Array(repeating: 1, count: 6) + [0], ranks: 4)
                == MegatronLayerSplit(embeddingInPipelineSplit: true, lossInPipelineSplit: true))
        // Fewer blocks than the chunks need even so: 5 and both counted make 7 for 8 chunks.
        #expect(throws: InputError.self) { try Self.chunkBlocks(layers: 5, ranks: 4, chunks: 2, embedding: true, loss: true) }
    }

    @Test("interleaved first or last stage layers that the chunks do not divide are refused, naming Megatron-Core's rule", arguments: [
        (2, 2, 3 as Int?, nil as Int?, "firstStageLayers"), (2, 2, nil, 3, "lastStageLayers"), (4, 2, 2, 2, "firstStageLayers"),
    ])
    func interleavedEndsDivide(ranks: Int, chunks: Int, first: Int?, last: Int?, option: String) throws {
        let graph = try Self.graph()
        let cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        let error = #expect(throws: InputError.self) {
            try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1", configuration: MegatronConfiguration(
                tensorParallel: 1, pipelineParallel: ranks, dataParallel: 1, virtualStages: chunks,
                firstStageLayers: first, lastStageLayers: last))
        }
        #expect(error?.path.description == option)
        #expect(error?.message.contains("multiple of the \(chunks) chunks per rank") == true)
    }

    /// The refusal names the parts the layers were asked to split into; with both ends given on two ranks there are
    /// no other ranks, and the sentence does not speak of "the other 0 ranks".
    @Test("end layers that do not add up are refused naming each part, and no middle ranks where there are none", arguments: [
        (2, 3, 8, "12 repeated layers do not split into 3 on the first rank and 8 on the last rank, with at least 1 per rank"),
        (4, 4, nil as Int?, "12 repeated layers do not split into 4 on the first rank and an equal share of the rest on each of the other 3 ranks"),
    ])
    func endLayersThatDoNotAddUp(ranks: Int, first: Int, last: Int?, message: String) throws {
        let split = MegatronLayerSplit(firstStageLayers: first, lastStageLayers: last)
        let error = #expect(throws: InputError.self) { try split.chunkLayers(layers: 12, ranks: ranks, chunks: 1) }
        #expect(error?.message.hasPrefix(message) == true, "\(error?.message ?? "")")
    }

    @Test("the Megatron grid offers only splits Megatron-Core runs, the counted embedding and loss among them")
    func gridRunsOnMegatron() throws {
        let graph = try TinyGPT(batch: 32, layers: 14, hinted: true).graph()
        let cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        let configurations = MegatronGrid().configurations(for: graph, on: cluster, options: TrainingOptions(), analysis: GraphAnalysis(graph))
        #expect(configurations.contains { $0.embeddingInPipelineSplit && $0.lossInPipelineSplit && $0.virtualStages > 1 })
        for configuration in configurations {
            let (pp, vp) = (configuration.pipelineParallel, configuration.virtualStages)
            let split = configuration.layerSplit
            let chunks = try split.chunkLayers(layers: 14, ranks: pp, chunks: vp)
            #expect(chunks.allSatisfy { $0 >= 1 })
            if configuration.embeddingInPipelineSplit || configuration.lossInPipelineSplit {
                #expect(vp > 1 && configuration.firstStageLayers == nil && configuration.lastStageLayers == nil)
                #expect((14 + (configuration.embeddingInPipelineSplit ? 1 : 0) + (configuration.lossInPipelineSplit ? 1 : 0)) % (pp * vp) == 0)
            } else {
                // The first, the last and the middle ranks' layers all divide over their chunks.
                let rankLayers = (0 ..< pp).map { rank in stride(from: rank, to: chunks.count, by: pp).reduce(0) { $0 + chunks[$1] } }
                #expect(rankLayers.allSatisfy { $0 % vp == 0 }, "\(configuration.summary(dataParallel: 1, noSync: false))")
                #expect(zip(chunks, (0 ..< chunks.count).map { rankLayers[$0 % pp] / vp }).allSatisfy { $0 == $1 })
            }
        }
    }

    /// A mixture of experts' grid tries expert parallelism as Megatron-LM runs it: sizes dividing the experts, powers
    /// of two of the data-parallel replicas beyond the tensor-parallel ranks where the experts are whole on theirs
    /// (`--etp 1`), and tensor parallelism only with sequence parallelism; each such
    /// configuration lays out (`score --ep`), and its composed estimate is the evaluator's price of that layout.
    @Test("the grid of a mixture of experts tries the expert-parallel sizes Megatron-Core runs, estimated as they are priced")
    func gridTriesExpertParallelism() throws {
        let graph = try ModelCatalog.model(id: "moe-tiny")!.build()
        let cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        let analysis = GraphAnalysis(graph)
        let configurations = MegatronGrid().configurations(for: graph, on: cluster, options: TrainingOptions(), analysis: analysis)
        let expertParallel = configurations.filter { $0.expertParallel > 1 }
        // 8 experts on 8 devices: ep 2, 4 and 8 where the replicas allow.
        #expect(Set(expertParallel.map(\.expertParallel)) == [2, 4, 8])
        for configuration in expertParallel {
            let dp = configuration.dataParallel!, fold = configuration.expertFold
            #expect(configuration.expertParallel % fold == 0 && dp % (configuration.expertParallel / fold) == 0
                    && 8 % configuration.expertParallel == 0, "\(configuration.summary(dataParallel: dp))")
        }
        // With whole experts the tensor-parallel ranks join the expert group: ep 8 over tp 2 and 4 of dp 4.
        #expect(expertParallel.contains { $0.foldsExpertsOverTensor && $0.tensorParallel == 2 && $0.expertParallel == 8 })
        // Megatron-LM's validate_args: a mixture of experts beside tensor parallelism runs only with sequence parallelism.
        #expect(configurations.allSatisfy { $0.tensorParallel == 1 || $0.sequenceParallel })
        // The dense grid is the grid it was, with ep 1 throughout.
        let dense = try ModelCatalog.model(id: "gpt-tiny")!.build()
        #expect(MegatronGrid().configurations(for: dense, on: cluster, options: TrainingOptions(), analysis: GraphAnalysis(dense))
            .allSatisfy { $0.expertParallel == 1 })
        let sample = expertParallel.filter { $0.virtualStages == 1 && $0.pipelineParallel == 1 }.prefix(4)
        #expect(!sample.isEmpty)
        _ = try expectEstimatesArePrices(Array(sample), graph: graph, clusterName: "dgx-a100-80g:1")
    }

    /// For the Megatron-Core frameworks' settings the grid also tries each expert-parallel configuration with the
    /// experts' all-to-alls overlapped, where Megatron-Core runs it (no full recomputation; the interleaved schedule
    /// beside pipelining), and estimates it as the evaluator prices it; without the variant it tries none.
    @Test("the grid tries the experts' overlapped all-to-alls where Megatron-Core runs them, estimated as they are priced")
    func gridTriesExpertOverlap() throws {
        let graph = try ModelCatalog.model(id: "moe-tiny")!.build()
        let cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        let analysis = GraphAnalysis(graph)
        var variants = StageSearchOracle.Variants(zeroStages: [1], recomputeModes: [.none, .full])
        #expect(MegatronGrid().configurations(for: graph, on: cluster, options: TrainingOptions(), analysis: analysis, variants: variants)
            .allSatisfy { !$0.options.overlapExpertParallelCommunication })
        variants.triesExpertParallelOverlap = true
        let configurations = MegatronGrid().configurations(for: graph, on: cluster, options: TrainingOptions(), analysis: analysis,
                                                           variants: variants)
        let overlapped = configurations.filter(\.options.overlapExpertParallelCommunication)
        #expect(!overlapped.isEmpty)
        #expect(overlapped.allSatisfy { $0.expertParallel > 1 && ($0.pipelineParallel == 1 || $0.virtualStages > 1) && $0.options.recompute != .full })
        // Not where the launch leaves one work queue: tensor parallelism beside the distributed optimizer.
        #expect(overlapped.allSatisfy { $0.tensorParallel == 1 || $0.options.zeroStage >= 2 })
        #expect(configurations.contains { $0.expertParallel > 1 && $0.tensorParallel > 1 && $0.options.zeroStage < 2 })
        // Each one beside the same configuration without the overlap.
        for configuration in overlapped {
            var plain = configuration
            plain.options.overlapExpertParallelCommunication = false
            #expect(configurations.contains(plain))
        }
        #expect(configurations.contains { $0.expertParallel > 1 && $0.pipelineParallel > 1 && $0.virtualStages == 1 })
        // moe-tiny's 2 blocks make no interleaved pipeline: the overlapped ones are unpipelined.
        let sample = overlapped.prefix(4)
        #expect(!sample.isEmpty)
        _ = try expectEstimatesArePrices(Array(sample), graph: graph, clusterName: "dgx-a100-80g:1")
    }

    /// Expects `MegatronGrid.estimates` of `configurations` to equal, to 1e-6, what `PlanEvaluator` prices the plans
    /// `TrainingPlan.megatron` lays out for them on the preset `clusterName`; returns those plans.
    func expectEstimatesArePrices(_ configurations: [MegatronConfiguration], graph: Graph, clusterName: String) throws -> [TrainingPlan] {
        let cluster = try Cluster.preset(named: clusterName), evaluator = PlanEvaluator(cluster: cluster)
        let analysis = GraphAnalysis(graph)
        let estimates = MegatronGrid.estimates(configurations, graph: graph, cluster: cluster, analysis: analysis,
                                               clustering: LayerClustering(analysis, smallLayerFraction: 0), kernels: evaluator.kernels).estimates
        return try zip(configurations, estimates).map { configuration, estimate in
            let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: clusterName, configuration: configuration)
            let priced = evaluator.evaluate(plan).iterationSeconds
            let estimated = try #require(estimate).iterationSeconds
            #expect(abs(estimated / priced - 1) < 1e-6,
                    "\(configuration.summary(dataParallel: configuration.dataParallel ?? 1)): \(estimated) against \(priced)")
            return plan
        }
    }

    /// Context parallelism in the grid: sizes that leave every rank 4,096 tokens or more and cut the sequence into
    /// its `2 x cp` chunks, each laid out on Megatron's `[dp, cp, tp]` mesh with an estimate equal to the evaluator's
    /// price; none where the mesh is fixed or the sequence is short.
    @Test("the Megatron grid tries context parallelism for long sequences, estimated as the evaluator prices it")
    func gridTriesContextParallelism() throws {
        #expect(MegatronGrid.contextParallelSizes(sequenceLength: nil) == [1])
        #expect(MegatronGrid.contextParallelSizes(sequenceLength: 4096) == [1])
        #expect(MegatronGrid.contextParallelSizes(sequenceLength: 8192) == [1, 2])
        #expect(MegatronGrid.contextParallelSizes(sequenceLength: 12288) == [1, 2], "6,144 tokens a rank; 4 leaves 3,072")
        #expect(MegatronGrid.contextParallelSizes(sequenceLength: 131_072) == [1, 2, 4, 8, 16, 32])
        let configuration = TransformerConfiguration.llama(layers: 2, hidden: 64, heads: 8, keyValueHeads: 4, feedForwardHidden: 176,
                                                           vocabulary: 256, sequenceLength: 8192, globalBatch: 8)
        let graph = try TransformerBuilder(name: "long-llama", configuration: configuration).build()
        let cluster = try Cluster.preset(named: "dgx-h100:1")
        let analysis = GraphAnalysis(graph)
        let configurations = MegatronGrid().configurations(for: graph, on: cluster, options: TrainingOptions(), analysis: analysis)
        #expect(Set(configurations.map(\.contextParallel)) == [1, 2])
        let contextParallel = configurations.filter { $0.contextParallel == 2 }
        #expect(contextParallel.allSatisfy { $0.dataParallel! * 2 * $0.tensorParallel * $0.pipelineParallel == 8 })
        #expect(contextParallel.contains { $0.tensorParallel == 4 } && contextParallel.contains { $0.pipelineParallel == 2 })
        #expect(MegatronGrid().configurations(for: graph, on: cluster, options: TrainingOptions(), analysis: analysis, meshShape: [4, 2])
            .allSatisfy { $0.contextParallel == 1 })
        // The distributed optimizer shards over dp x cp: tp = 4 and cp = 2 leave one data-parallel replica, and still ZeRO-1.
        let sharded = MegatronGrid().configurations(for: graph, on: cluster, options: TrainingOptions(), analysis: analysis,
                                                    variants: StageSearchOracle.Variants(zeroStages: [0, 1], recomputeModes: [.none]))
        let lone = try #require(sharded.first { $0.contextParallel == 2 && $0.tensorParallel == 4 && $0.pipelineParallel == 1 })
        #expect(lone.dataParallel == 1 && lone.options.zeroStage == 1)
        // Without ZeRO-1 (torchtitan's search) sharded configurations take ZeRO-2, FSDP keeping the gathered weights.
        let torchtitan = MegatronGrid().configurations(for: graph, on: cluster, options: TrainingOptions(), analysis: analysis,
                                                       variants: StageSearchOracle.Variants(zeroStages: [0, 2, 3], recomputeModes: [.none]))
        #expect(torchtitan.allSatisfy { configuration in
            let sharded = configuration.dataParallel! * configuration.contextParallel > 1
            return sharded ? [2, 3].contains(configuration.options.zeroStage) && (configuration.pipelineParallel == 1 || configuration.options.zeroStage == 2)
                           : configuration.options.zeroStage == 0
        })
        let sample = [(1, 1), (2, 1), (1, 2), (2, 2)].compactMap { tp, pp in
            contextParallel.first { $0.tensorParallel == tp && $0.pipelineParallel == pp && $0.virtualStages == 1 }
        } + [lone]
        #expect(sample.count == 5)
        let plans = try expectEstimatesArePrices(sample, graph: graph, clusterName: "dgx-h100:1")
        for (configuration, plan) in zip(sample, plans) {
            #expect(plan.stages.allSatisfy { $0.mesh.shape == [configuration.dataParallel!, 2, configuration.tensorParallel] })
        }
    }

    /// Without a pipeline the grid also tries Megatron-FSDP, ZeRO-2 and ZeRO-3, where the variants allow them (not with
    /// NeMo's ZeRO 0 and 1); pipelined configurations keep the distributed optimizer. Each is estimated as priced (a
    /// Llama, whose embeddings are not tied: `LayerCostProfile` counts a tied table's gather once per reader, 0.1% of
    /// GPT's step here, and the four fastest estimates are priced exactly anyway).
    @Test("the Megatron grid tries Megatron-FSDP (ZeRO-2 and 3) without a pipeline, estimated as the evaluator prices it")
    func gridTriesMegatronFSDPWithoutAPipeline() throws {
        let graph = try ModelCatalog.model(id: "llama-tiny")!.build()
        let cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        let analysis = GraphAnalysis(graph)
        func configurations(_ zeroStages: [Int]) -> [MegatronConfiguration] {
            MegatronGrid().configurations(for: graph, on: cluster, options: TrainingOptions(), analysis: analysis,
                                          variants: StageSearchOracle.Variants(zeroStages: zeroStages, recomputeModes: [.none]))
        }
        let all = configurations([0, 1, 2, 3])
        let sharded = all.filter { $0.dataParallel! > 1 }
        #expect(Set(sharded.filter { $0.pipelineParallel == 1 }.map(\.options.zeroStage)) == [1, 2, 3])
        #expect(sharded.filter { $0.pipelineParallel > 1 }.allSatisfy { $0.options.zeroStage == 1 })
        #expect(configurations([0, 1]).allSatisfy { $0.options.zeroStage <= 1 })
        let sample = [2, 3].compactMap { zero in sharded.first { $0.pipelineParallel == 1 && $0.options.zeroStage == zero } }
        #expect(sample.count == 2)
        _ = try expectEstimatesArePrices(sample, graph: graph, clusterName: "dgx-a100-80g:1")
    }

    /// TransformerEngine's context-parallel ring, Megatron-Core's default, refuses sliding-window attention; its
    /// all-gather exchange runs it. The grid gives a windowed model's context-parallel configurations the all-gather,
    /// estimated as the evaluator prices them; a ring layout of one is refused by the Megatron-Core frameworks, an
    /// all-gather one is not, and each writes its exchange (torchtitan's ring is PyTorch's own, which it becomes).
    @Test("sliding-window attention: the grid's context parallelism all-gathers, and a ring layout is one Megatron-Core refuses")
    func slidingWindowsTakeTheAllGather() throws {
        let graph = try Self.windowedLlama()
        #expect(ContextParallelCommunication.standard(for: graph) == .allGather)
        #expect(ContextParallelCommunication.standard(for: try ModelCatalog.model(id: "llama-tiny")!.build()) == .ring)
        let cluster = try Cluster.preset(named: "dgx-h100:1")
        let grid = MegatronGrid().configurations(for: graph, on: cluster, options: TrainingOptions(), analysis: GraphAnalysis(graph))
        let contextParallel = grid.filter { $0.contextParallel > 1 }
        #expect(!contextParallel.isEmpty && contextParallel.allSatisfy { $0.options.contextParallelCommunication == .allGather })
        #expect(grid.filter { $0.contextParallel == 1 }.allSatisfy { $0.options.contextParallelCommunication == .ring })
        let sample = [1, 2].compactMap { tp in contextParallel.first { $0.tensorParallel == tp && $0.pipelineParallel == 1 } }
        #expect(sample.count == 2)
        _ = try expectEstimatesArePrices(sample, graph: graph, clusterName: "dgx-h100:1")

        // Hierarchical context parallelism's groups exchange by the ring, which refuses windows; it needs a cp of 4 or more.
        var hierarchical = TrainingOptions()
        hierarchical.contextParallelCommunication = .hierarchical
        #expect(MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1, contextParallel: 4, options: hierarchical)
            .unrunnableContextWindow(of: graph)?.contains("a2a+p2p, whose groups exchange by that ring") == true)
        for communication in ContextParallelCommunication.allCases where communication != .hierarchical {
            var options = TrainingOptions()
            options.contextParallelCommunication = communication
            let layout = MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1, contextParallel: 2, options: options)
            // Megatron-Core runs its own ring where PyTorch's is priced: both refuse windows there.
            #expect((layout.unrunnableContextWindow(of: graph) != nil) == (communication == .ring || communication.isPyTorchRing))
            let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-h100:1", configuration: layout)
            let prediction = PlanEvaluator(cluster: cluster).evaluate(plan)
            // A plan document says which exchange it prices only where it is not the ring, and reads back as priced.
            let document = plan.json(prediction: prediction)
            guard case .object(let top) = document, case .object(let written)? = top["options"] else { Issue.record("no options"); return }
            #expect(written["cp_comm_type"] == (communication == .ring ? nil : .string(communication.rawValue)))
            let read = try TrainingPlan(json: document, graph: graph, cluster: cluster, clusterName: "dgx-h100:1")
            #expect(read.options.contextParallelCommunication == communication)
            #expect(PlanEvaluator(cluster: cluster).evaluate(read).iterationSeconds == prediction.iterationSeconds)
            for framework in TrainingFramework.allCases {
                let export = try FrameworkExport(plan: plan, prediction: prediction, framework: framework)
                // Megatron-Core runs its own ring where the plan prices PyTorch's, and refuses it beside windows.
                let ringed = communication == .ring || communication.isPyTorchRing
                let refused = export.unrunnable.contains { $0.contains("refuses sliding-window attention") }
                #expect(refused == (framework.runsMegatronCore && ringed), "\(framework.rawValue): \(export.unrunnable)")
                let written: String? = switch framework {
                case .megatron: ringed ? nil : "--cp-comm-type \(communication.megatronValue)"
                case .nemo: "model.config.cp_comm_type='\(communication.megatronValue)'"
                case .megatronBridge: "cfg.model.cp_comm_type = '\(communication.megatronValue)'"
                case .torchtitan: nil
                }
                if let written { #expect(export.text.contains(written), "\(framework.rawValue): \(export.text)") }
                if framework == .megatron && ringed { #expect(!export.text.contains("    --cp-comm-type"), "the default is not written") }
                // Each framework runs its own exchange where the plan prices the other's, and says so.
                let becamePyTorchRing = export.differences.contains { $0.hasPrefix("torchtitan runs PyTorch's ring attention") }
                #expect(becamePyTorchRing == (framework == .torchtitan && !communication.isPyTorchRing), "\(framework.rawValue)")
                let becameTransformerEngineRing = export.differences.contains { $0.contains("runs TransformerEngine's ring (--cp-comm-type p2p)") }
                #expect(becameTransformerEngineRing == (framework.runsMegatronCore && communication.isPyTorchRing), "\(framework.rawValue)")
            }
        }
        #expect(MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1).unrunnableContextWindow(of: graph) == nil)
    }

    /// TransformerEngine's all-to-all exchange gives each context-parallel rank whole heads of each tensor-parallel
    /// rank's share. Asked for, the grid keeps it (windows included) and lays out only `tp x cp` that divides the 8
    /// query and 4 key/value heads (not tp 4 with cp 2, which the all-gather takes); a layout that does not is one
    /// the Megatron-Core frameworks refuse.
    @Test("the all-to-all exchange: the grid keeps tp x cp dividing the heads, keeps it for windows, and a split it refuses is named")
    func allToAllNeedsWholeHeads() throws {
        let graph = try Self.windowedLlama()
        let cluster = try Cluster.preset(named: "dgx-h100:1")
        var options = TrainingOptions()
        options.contextParallelCommunication = .allToAll
        let grid = MegatronGrid().configurations(for: graph, on: cluster, options: options, analysis: GraphAnalysis(graph))
        let contextParallel = grid.filter { $0.contextParallel > 1 }
        #expect(Set(contextParallel.map { [$0.tensorParallel, $0.contextParallel] }) == [[1, 2], [2, 2]])
        let gathered = MegatronGrid().configurations(for: graph, on: cluster, options: TrainingOptions(), analysis: GraphAnalysis(graph))
        #expect(Set(gathered.filter { $0.contextParallel > 1 }.map { [$0.tensorParallel, $0.contextParallel] }) == [[1, 2], [2, 2], [4, 2]])
        #expect(grid.allSatisfy { $0.options.contextParallelCommunication == .allToAll })
        _ = try expectEstimatesArePrices([try #require(contextParallel.first { $0.tensorParallel == 2 && $0.pipelineParallel == 1 })],
                                         graph: graph, clusterName: "dgx-h100:1")

        let refused = MegatronConfiguration(tensorParallel: 2, pipelineParallel: 1, contextParallel: 4, options: options)
        #expect(refused.unrunnableContextHeads(of: graph)?.contains("tp x cp = 8 does not divide the model's 4 key/value heads") == true)
        #expect(MegatronConfiguration(tensorParallel: 2, pipelineParallel: 1, contextParallel: 2, options: options).unrunnableContextHeads(of: graph) == nil)
        #expect(MegatronConfiguration(tensorParallel: 2, pipelineParallel: 1, contextParallel: 4).unrunnableContextHeads(of: graph) == nil, "the ring takes any")
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-h100:1", configuration: refused)
        let prediction = PlanEvaluator(cluster: cluster).evaluate(plan)
        for framework in TrainingFramework.allCases {
            let export = try FrameworkExport(plan: plan, prediction: prediction, framework: framework)
            #expect(export.unrunnable.contains { $0.contains("all-to-all exchange") } == framework.runsMegatronCore, "\(framework.rawValue)")
        }
    }

    /// Where no exchange is named, `plan` lets the grid try each of TransformerEngine's for its context-parallel
    /// configurations: the ring, the all-gather and, where `tp x cp` divides the 8 query and 4 key/value heads, the
    /// all-to-all; a windowed model's ring becomes the all-gather. Without context parallelism there is nothing to choose.
    @Test("the grid tries every exchange where none is named: ring, all-gather, and all-to-all where the heads divide; no ring beside windows")
    func gridTriesEveryExchange() throws {
        let heads = [AttentionHeads(query: 8, keyValue: 4)]
        var variants = StageSearchOracle.Variants(zeroStages: [1], recomputeModes: [.none])
        variants.contextParallelCommunications = [.ring, .allGather, .allToAll]
        let options = TrainingOptions()
        func exchanges(cp: Int, tp: Int, windowed: Bool, _ variants: StageSearchOracle.Variants?) -> [ContextParallelCommunication] {
            MegatronGrid.contextExchanges(contextParallel: cp, tensorParallel: tp, options: options, variants: variants, windowed: windowed, sinks: false, heads: heads,
                                          devicesPerDomain: 8)
        }
        #expect(exchanges(cp: 2, tp: 2, windowed: false, variants) == [.ring, .allGather, .allToAll])
        #expect(exchanges(cp: 2, tp: 4, windowed: false, variants) == [.ring, .allGather])
        #expect(exchanges(cp: 2, tp: 1, windowed: true, variants) == [.allGather, .allToAll])
        #expect(exchanges(cp: 1, tp: 4, windowed: true, variants) == [.ring])
        #expect(exchanges(cp: 2, tp: 1, windowed: false, nil) == [.ring])

        let graph = try Self.windowedLlama()
        let grid = MegatronGrid().configurations(for: graph, on: try Cluster.preset(named: "dgx-h100:1"), options: options,
                                                 analysis: GraphAnalysis(graph), variants: variants)
        let byExchange = Dictionary(grouping: grid.filter { $0.contextParallel > 1 }, by: \.options.contextParallelCommunication)
        #expect(Set(byExchange.keys) == [.allGather, .allToAll])
        #expect(Set(byExchange[.allToAll]!.map(\.tensorParallel)) == [1, 2] && Set(byExchange[.allGather]!.map(\.tensorParallel)) == [1, 2, 4])
    }

    /// gpt-oss's attention sinks: TransformerEngine's context parallelism runs them only under its all-to-all exchange.
    /// Where none is named the plan prices it (`ContextParallelCommunication.standard`), the grid lays out only the
    /// all-to-all for any of TransformerEngine's exchanges asked for (PyTorch's ring stays for torchtitan), and a layout
    /// under another is one the Megatron-Core frameworks refuse; without context parallelism nothing is refused.
    @Test("attention sinks: the grid's context parallelism exchanges by all-to-all, and another exchange is one Megatron-Core refuses")
    func sinksTakeTheAllToAll() throws {
        var configuration = TransformerConfiguration.llama(layers: 2, hidden: 64, heads: 8, keyValueHeads: 4, feedForwardHidden: 176,
                                                           vocabulary: 256, sequenceLength: 8192, globalBatch: 8)
        (configuration.slidingWindow, configuration.attentionSinks) = (4096, true)
        let graph = try TransformerBuilder(name: "sinks-llama", configuration: configuration).build()
        #expect(graph.operations.contains { if case .attention(true, _, true) = $0.op { true } else { false } })
        #expect(ContextParallelCommunication.standard(for: graph) == .allToAll)
        let heads = AttentionHeads.all(in: graph)
        var variants = StageSearchOracle.Variants(zeroStages: [1], recomputeModes: [.none])
        variants.contextParallelCommunications = [.ring, .allGather, .allToAll]
        func exchanges(cp: Int, tp: Int, _ variants: StageSearchOracle.Variants?, options: TrainingOptions = TrainingOptions()) -> [ContextParallelCommunication] {
            MegatronGrid.contextExchanges(contextParallel: cp, tensorParallel: tp, options: options, variants: variants, windowed: true,
                                          sinks: true, heads: heads, devicesPerDomain: 8)
        }
        #expect(exchanges(cp: 2, tp: 2, variants) == [.allToAll])
        #expect(exchanges(cp: 2, tp: 4, variants).isEmpty, "tp x cp = 8 does not divide the 4 key/value heads")
        #expect(exchanges(cp: 2, tp: 1, nil) == [.allToAll])
        variants.contextParallelCommunications = [.pytorchRing, .pytorchRingAllToAll]
        #expect(exchanges(cp: 2, tp: 1, variants) == [.pytorchRing, .pytorchRingAllToAll])
        let cluster = try Cluster.preset(named: "dgx-h100:1")
        let grid = MegatronGrid().configurations(for: graph, on: cluster, options: TrainingOptions(), analysis: GraphAnalysis(graph))
        let contextParallel = grid.filter { $0.contextParallel > 1 }
        #expect(!contextParallel.isEmpty && contextParallel.allSatisfy { $0.options.contextParallelCommunication == .allToAll })

        for communication in [ContextParallelCommunication.ring, .allGather, .allToAll] {
            var options = TrainingOptions()
            options.contextParallelCommunication = communication
            let layout = MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1, contextParallel: 2, options: options)
            #expect((layout.unrunnableContextSinks(of: graph) != nil) == (communication != .allToAll))
            let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-h100:1", configuration: layout)
            let prediction = PlanEvaluator(cluster: cluster).evaluate(plan)
            for framework in TrainingFramework.allCases {
                let export = try FrameworkExport(plan: plan, prediction: prediction, framework: framework)
                let refused = export.unrunnable.contains { $0.contains("runs attention sinks") }
                #expect(refused == (framework.runsMegatronCore && communication != .allToAll), "\(framework.rawValue): \(export.unrunnable)")
            }
        }
        #expect(MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1).unrunnableContextSinks(of: graph) == nil)
        // gpt-oss carries them, and its graph file says so.
        let gptOSS = try #require(ModelCatalog.model(id: "gpt-oss-20b")).build()
        #expect(MegatronConfiguration.hasAttentionSinks(gptOSS) && ContextParallelCommunication.standard(for: gptOSS) == .allToAll)
        #expect(try Graph(json: gptOSS.json) == gptOSS)
    }

    /// GShard's model alternates dense and expert blocks (six of each): Megatron-LM counts all twelve as its
    /// `--num-layers` (the experts placed by `--moe-layer-freq`), so two ranks take six blocks each, and the Megatron
    /// settings say 12, where counting only the more common structure said 6.
    @Test("alternating dense and expert blocks are all pipelined layers: 12 for GShard's model, six a rank of two")
    func alternatingStructures() throws {
        let graph = try ModelCatalog.model(id: "moe-gshard")!.build()
        let layers = GraphAnalysis(graph).layers
        #expect(Set(layers.map(\.structureKey)).count >= 3, "embedding, dense block, expert block, head")
        #expect(TrainingPlan.repeatedLayers(layers, in: graph).count == 12)
        let cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1", configuration: MegatronConfiguration(
            tensorParallel: 1, pipelineParallel: 2))
        let export = try FrameworkExport(plan: plan, prediction: PlanEvaluator(cluster: cluster).evaluate(plan), framework: .megatron)
        #expect(export.layout.chunkLayers == [6, 6])
        #expect(MegatronArguments(export.layout).arguments.contains("--num-layers 12"))
    }
    /// DeepSeek-V2-Lite's one dense block before the experts: its structure occurs once, but it is a transformer
    /// block, and Megatron-LM counts it in `--num-layers` (the experts placed by `--moe-layer-freq`) and pipelines it
    /// as any other. Before, it joined the embedding in the first chunk and the settings said one layer fewer.
    @Test("a single dense block before the experts is a pipelined layer: three blocks on three ranks, --num-layers 3")
    func singleLeadingDenseBlock() throws {
        var configuration = TransformerConfiguration.llama(layers: 3, hidden: 64, heads: 4, keyValueHeads: 2, feedForwardHidden: 176,
                                                           vocabulary: 256, sequenceLength: 32, globalBatch: 8)
        configuration.mixtureOfExperts = .init(experts: 8, topK: 2, layerInterval: 1, firstDenseLayers: 1,
                                               dispatch: .permutation(capacityFactor: nil), expertFeedForwardHidden: 32)
        let graph = try TransformerBuilder(name: "dense-then-experts", configuration: configuration).build()
        let layers = GraphAnalysis(graph).layers
        #expect(TrainingPlan.repeatedLayers(layers, in: graph).count == 3)
        let cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1", configuration: MegatronConfiguration(
            tensorParallel: 1, pipelineParallel: 3, dataParallel: 1))
        let export = try FrameworkExport(plan: plan, prediction: PlanEvaluator(cluster: cluster).evaluate(plan), framework: .megatron)
        #expect(export.layout.chunkLayers == [1, 1, 1])
        #expect(MegatronArguments(export.layout).arguments.contains("--num-layers 3"))
    }

    /// The pipelined layers are judged layer by layer, so a graph without `layer` hints (its layers found from
    /// repeated structure, the prologue and the epilogue apart) still pipelines its blocks alone: the embedding and
    /// the head hold no attention. A model whose structures all differ pipelines its blocks: one Llama block.
    @Test("without layer hints the prologue and the epilogue are not pipelined; a lone block is")
    func unhintedAndLoneBlocks() throws {
        let hinted = try TransformerBuilder(name: "tiny-4", configuration: .llama(layers: 4, hidden: 64, heads: 4, keyValueHeads: 2,
                                                                                 feedForwardHidden: 176, vocabulary: 256,
                                                                                 sequenceLength: 32, globalBatch: 8)).build()
        let stripped = hinted.jsonText.replacingOccurrences(of: #", "layer": "[^"]*""#, with: "", options: .regularExpression)
        #expect(stripped != hinted.jsonText)
        let unhinted = try Graph(jsonBytes: Array(stripped.utf8))
        #expect(!unhinted.operations.contains { $0.layer != nil })
        let layers = GraphAnalysis(unhinted).layers
        let pipelined = TrainingPlan.repeatedLayers(layers, in: unhinted)
        #expect(pipelined.count == 4 && pipelined.count < layers.count, "\(layers.map(\.name)) -> \(pipelined.map(\.name))")
        let single = try TransformerBuilder(name: "tiny-1", configuration: .llama(layers: 1, hidden: 64, heads: 4, keyValueHeads: 2,
                                                                                 feedForwardHidden: 176, vocabulary: 256,
                                                                                 sequenceLength: 32, globalBatch: 8)).build()
        let lone = TrainingPlan.repeatedLayers(GraphAnalysis(single).layers, in: single)
        #expect(lone.map(\.name) == ["layer0"], "\(lone.map(\.name))")
    }
}
