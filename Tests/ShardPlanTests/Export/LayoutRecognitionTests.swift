import Testing
@testable import ShardPlan

@Suite("Layout recognition: a plan read back as uniform tp/pp/dp/vp/sp, or the nearest such layout")
struct LayoutRecognitionTests {
    let graph: Graph
    let cluster: Cluster

    init() throws {
        graph = try ModelCatalog.model(id: "gpt-tiny")!.build()
        cluster = try Cluster.preset(named: "dgx-a100-80g:1")
    }

    func megatron(_ configuration: MegatronConfiguration) throws -> TrainingPlan {
        try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1", configuration: configuration)
    }

    @Test("a plan edited in code into one the validator refuses is an error, not a trap: no stages, a missing strategy, another graph")
    func unsoundPlans() throws {
        let plan = try megatron(MegatronConfiguration(tensorParallel: 2, pipelineParallel: 2))
        let prediction = PlanEvaluator(cluster: cluster).evaluate(plan)
        var noStages = plan
        noStages.stages = []
        var missingStrategy = plan
        missingStrategy.stages[0].strategies.removeLast()
        var otherGraph = plan
        otherGraph.graph = try ModelCatalog.model(id: "llama-tiny")!.build()
        for edited in [noStages, missingStrategy, otherGraph] {
            do {
                _ = try FrameworkExport(plan: edited, prediction: prediction, framework: .torchtitan)
                Issue.record("an unsound plan was exported")
            } catch {
                #expect(error.message.hasPrefix("the plan is not sound: "), "\(error.message)")
            }
        }
    }

    @Test("Megatron layouts are recognised exactly, with their degrees", arguments: [
        MegatronConfiguration(tensorParallel: 2, pipelineParallel: 2),
        MegatronConfiguration(tensorParallel: 4, pipelineParallel: 1, microBatchSize: 2, sequenceParallel: true,
                              options: TrainingOptions(recompute: .selective, zeroStage: 1)),
        MegatronConfiguration(tensorParallel: 1, pipelineParallel: 2, dataParallel: 2, options: TrainingOptions(recompute: .full)),
        MegatronConfiguration(tensorParallel: 8, pipelineParallel: 1, sequenceParallel: true, schedule: .gpipe),
    ])
    func exact(configuration: MegatronConfiguration) throws {
        let recognition = try LayoutRecognition(try megatron(configuration))
        #expect(recognition.isExact, "\(recognition.differences)")
        let layout = recognition.layout
        #expect(layout.tensorParallel == configuration.tensorParallel)
        #expect(layout.pipelineParallel == configuration.pipelineParallel)
        #expect(layout.dataParallel == configuration.dataParallel ?? 8 / (configuration.tensorParallel * configuration.pipelineParallel))
        #expect(layout.microBatchSize == configuration.microBatchSize)
        #expect(layout.sequenceParallel == configuration.sequenceParallel)
        #expect(layout.recompute == configuration.options.recompute)
        #expect(layout.zeroStage == configuration.options.zeroStage)
        #expect(layout.schedule == configuration.schedule ?? .oneForwardOneBackward)
        // gpt-tiny's 2 layers: one per rank with pp=2, both on the rank without a pipeline.
        #expect(layout.chunkLayers == (configuration.pipelineParallel == 2 ? [1, 1] : [2]))
        #expect(layout.sequenceLength == 32 && layout.globalBatch == 8)
    }

    @Test("a plan that shards one op otherwise is the Megatron layout with that difference, priced")
    func oneOpDiffers() throws {
        let original = try megatron(MegatronConfiguration(tensorParallel: 2, pipelineParallel: 1, dataParallel: 4,
                                                          options: TrainingOptions(gradientPrecision: .bf16)))
        var altered = original
        // The first contraction with a weight: Megatron splits its weight on the tensor axis; replicate it there.
        let op = try #require(original.stages[0].operations.first { graph.operations[$0].op.isContraction && graph.operations[$0].inputs.contains { graph[$0].isParameter } })
        altered.stages[0].strategies[op - original.stages[0].operations.lowerBound].indexOfAxis[MegatronLayout.tensorAxis] = nil
        let recognition = try LayoutRecognition(altered)
        #expect(recognition.differences.last == "stage 0 shards 1 of its \(original.stages[0].operations.count) ops otherwise than these settings do")
        #expect(recognition.layout.tensorParallel == 2 && recognition.layout.dataParallel == 4)
        let evaluator = PlanEvaluator(cluster: cluster)
        let export = try FrameworkExport(plan: altered, prediction: evaluator.evaluate(altered), framework: .megatron)
        // The nearest layout's price is the Megatron plan's own.
        #expect(export.prediction.iterationSeconds == evaluator.evaluate(original).iterationSeconds)
        #expect(export.text.contains("these settings run the nearest one"))
        #expect(export.text.contains("against the plan's"))
    }

    @Test("a stage mesh of other axes is named against the settings' own, in no one framework's words")
    func meshDiffers() throws {
        let nearest = try megatron(MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1, dataParallel: 8))
        var altered = nearest
        let stage = nearest.stages[0]
        altered.stages[0] = StageLayout(operations: stage.operations, mesh: try DeviceMesh(devices: Array(0 ..< 8), shape: [2, 4], in: cluster),
                                        strategies: stage.strategies)
        #expect(LayoutRecognition.layoutDifferences(nearest, altered)
                == ["stage 0's mesh is 2x4; these settings' is dp x tp = \(stage.mesh.shape.map(String.init).joined(separator: "x"))"])
        #expect(stage.mesh.shape == [8, 1])
    }

    @Test("ranks of unequal devices become ranks of the fewest")
    func unequalRanks() throws {
        let original = try megatron(MegatronConfiguration(tensorParallel: 2, pipelineParallel: 2, dataParallel: 2))
        var altered = original
        let stage = original.stages[1]
        altered.stages[1] = StageLayout(operations: stage.operations, mesh: try DeviceMesh(devices: [4, 5], shape: [1, 2], in: cluster),
                                        strategies: stage.strategies)
        let recognition = try LayoutRecognition(altered)
        #expect(recognition.differences.contains("pipeline ranks have 4, 2 devices; every rank gets 2"))
        #expect(recognition.layout.dataParallel == 1 && recognition.layout.tensorParallel == 2)
    }

    @Test("a searched plan is read back as a layout the frameworks run, and its settings round-trip")
    func searched() throws {
        let found = try PipelinePlanner(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1", maximumStageCount: 2,
                                        meshShape: [2, 2], includesMegatronGrid: false).plan(microbatches: 2)
        let recognition = try LayoutRecognition(found.plan)
        #expect(recognition.layout.pipelineParallel == found.plan.pipelineRanks)
        #expect(recognition.layout.worldSize <= 8)
        for framework in TrainingFramework.allCases {
            let export = try FrameworkExport(recognition: recognition, of: found.plan, prediction: found.prediction, framework: framework)
            let read = try FrameworkRoundTripTests.readBack(export.text, framework)
            #expect(read == ReadBackLayout(export.layout), "\(framework.rawValue)")
        }
    }

    @Test("what each framework cannot run becomes the nearest it can")
    func frameworkLimits() {
        let gpipe = MegatronConfiguration(tensorParallel: 2, pipelineParallel: 2, dataParallel: 2, schedule: .gpipe,
                                          options: TrainingOptions(zeroStage: 3))
        let megatron = TrainingFramework.megatron.expressible(gpipe, chunkLayers: [1, 1])
        #expect(megatron.configuration.schedule == .oneForwardOneBackward && megatron.configuration.options.zeroStage == 3)
        // And the 16-bit reductions take a bf16 gradient buffer (Megatron-Core reduces in the buffer's type).
        #expect(megatron.changes.count == 2 && megatron.configuration.options.gradientPrecision == .bf16)
        let nemo = TrainingFramework.nemo.expressible(gpipe, chunkLayers: [1, 1])
        #expect(nemo.configuration.options.zeroStage == 1 && nemo.changes.count == 3)
        let titan = TrainingFramework.torchtitan.expressible(gpipe, chunkLayers: [1, 1])
        // torchtitan runs GPipe and ZeRO-3 (FSDP); it adds sequence parallelism and overlapped gradient reduction.
        #expect(titan.configuration.schedule == .gpipe && titan.configuration.options.zeroStage == 3)
        #expect(titan.configuration.sequenceParallel && titan.configuration.options.overlapGradientReduction)
        let zeroOne = MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1, dataParallel: 8, options: TrainingOptions(zeroStage: 1))
        #expect(TrainingFramework.torchtitan.expressible(zeroOne, chunkLayers: [2]).configuration.options.zeroStage == 2)
    }

    @Test("FSDP2's copy-out of gathered layers: Megatron-Core's FSDP does not run it, torchtitan always does")
    func fsdpTwoCopyOut() {
        var options = TrainingOptions(zeroStage: 3)
        options.copiesOutGatheredParameters = true
        let fsdp2 = MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1, dataParallel: 8, options: options)
        for framework in [TrainingFramework.megatron, .megatronBridge] {
            let nearest = framework.expressible(fsdp2, chunkLayers: [2])
            #expect(!nearest.configuration.options.copiesOutGatheredParameters)
            #expect(nearest.changes.contains { $0.contains("FSDP2 copy of each gathered layer") }, "\(nearest.changes)")
        }
        let titan = TrainingFramework.torchtitan.expressible(fsdp2, chunkLayers: [2])
        #expect(titan.configuration.options.copiesOutGatheredParameters && !titan.changes.contains { $0.contains("copies each gathered") })
        // A ZeRO-3 plan priced as FSDP1 (computing on its gathered buffer) runs in torchtitan as FSDP2.
        let flat = MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1, dataParallel: 8, options: TrainingOptions(zeroStage: 3))
        let flatTitan = TrainingFramework.torchtitan.expressible(flat, chunkLayers: [2])
        #expect(flatTitan.configuration.options.copiesOutGatheredParameters)
        #expect(flatTitan.changes.contains { $0.contains("copies each gathered layer") }, "\(flatTitan.changes)")
        // torchtitan's ZeRO-1 is FSDP keeping the gathered weights (ZeRO-2), which FSDP2 copies out too.
        let zeroOne = MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1, dataParallel: 8, options: TrainingOptions(zeroStage: 1))
        let zeroOneTitan = TrainingFramework.torchtitan.expressible(zeroOne, chunkLayers: [2]).configuration.options
        #expect(zeroOneTitan.zeroStage == 2 && zeroOneTitan.copiesOutGatheredParameters)
        // Nothing is gathered on one device: nothing to say.
        let alone = MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1, dataParallel: 1, options: options)
        #expect(!TrainingFramework.megatron.expressible(alone, chunkLayers: [2]).changes.contains { $0.contains("FSDP2") })
        let flatAlone = MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1, dataParallel: 1, options: TrainingOptions(zeroStage: 3))
        #expect(!TrainingFramework.torchtitan.expressible(flatAlone, chunkLayers: [2]).changes.contains { $0.contains("FSDP2") })
    }

    @Test("a plan whose every parameter takes ZeRO-3 in its stages reads back as ZeRO-3 without a note, whatever its options' floor")
    func zeroThreeInEveryStage() throws {
        let configuration = MegatronConfiguration(tensorParallel: 2, pipelineParallel: 1, dataParallel: 4, options: TrainingOptions(zeroStage: 3))
        var plan = try megatron(configuration)
        for index in plan.stages.indices {
            plan.stages[index] = TrainingPlan.withPlanZeroStage(plan.stages[index], 3, graph: graph)
        }
        plan.options.zeroStage = 0
        let recognition = try LayoutRecognition(plan)
        #expect(recognition.layout.zeroStage == 3)
        #expect(!recognition.differences.contains { $0.contains("only some parameters") }, "\(recognition.differences)")
        // One parameter's reader at ZeRO-1 makes it "some".
        let reader = try #require(plan.stages[0].operations.first { graph.operations[$0].inputs.contains { graph[$0].isParameter } })
        plan.stages[0].strategies[reader - plan.stages[0].operations.lowerBound].zeroStage = 1
        #expect(try LayoutRecognition(plan).differences.contains("ZeRO-3 shards only some parameters, ZeRO-1 the rest; the settings run ZeRO-3 on all of them"))
    }

    @Test("FP8 linear layers: TransformerEngine's recipes for Megatron-LM and NeMo, torchao's float8 converter for torchtitan",
          arguments: [(MatmulPrecision.fp8, FP8Recipe.tensorwise), (.fp8, .rowwise), (.fp8, .blockwise), (.auto, .tensorwise)])
    func fp8(precision: MatmulPrecision, recipe: FP8Recipe) throws {
        let hopper = try Cluster.preset(named: "dgx-h100:1")
        let plan = try TrainingPlan.megatron(graph: graph, cluster: hopper, clusterName: "dgx-h100:1", configuration: MegatronConfiguration(
            tensorParallel: 2, pipelineParallel: 2, sequenceParallel: true,
            options: TrainingOptions(overlapGradientReduction: true, precision: precision, fp8Recipe: recipe)))
        let prediction = PlanEvaluator(cluster: hopper).evaluate(plan)
        for framework in TrainingFramework.allCases {
            let export = try FrameworkExport(plan: plan, prediction: prediction, framework: framework)
            let read = try FrameworkRoundTripTests.readBack(export.text, framework)
            #expect(read.fp8 && read == ReadBackLayout(export.layout), "\(framework.rawValue): \(read)")
            let changedRecipe = (framework == .torchtitan && recipe == .blockwise) || (framework != .torchtitan && recipe == .rowwise)
            // torchtitan runs the replicated weights of dp = 2 beside tp and pp as FSDP (its DDP runs only alone), as fp32
            // weights that FSDP2 copies out of each gather, reduces their gradients in fp32 and runs eager PyTorch's
            // kernels; Megatron-Core reduces the plan's 16-bit gradients from a bf16 buffer.
            let frameworkNotes = framework == .torchtitan ? 5 : 1
            #expect(export.differences.count == (precision == .auto ? 1 : 0) + (changedRecipe ? 1 : 0) + frameworkNotes,
                    "\(export.differences)")
        }
        let megatron = try FrameworkExport(plan: plan, prediction: prediction, framework: .megatron).text
        #expect(megatron.contains("--fp8-format hybrid") && megatron.contains("--fp8-recipe \(recipe == .blockwise ? "blockwise" : "delayed")"))
    }

    @Test("a Megatron layout whose last chunk's head the tensor axis cannot split (an odd vocabulary) is still exact")
    func unsplitHeadIsExact() throws {
        let oddVocabulary = try TransformerBuilder(name: "gpt-6-odd", configuration: .gpt(
            layers: 6, hidden: 64, heads: 4, vocabulary: 251, sequenceLength: 32, globalBatch: 8)).build()
        let plan = try TrainingPlan.megatron(graph: oddVocabulary, cluster: cluster, clusterName: "dgx-a100-80g:1", configuration: MegatronConfiguration(
            tensorParallel: 2, pipelineParallel: 2, virtualStages: 3, sequenceParallel: true))
        // The last chunk's head reads the tied embedding unsplit: its tensor axis splits 4 of 5 weight contractions.
        #expect(MegatronSummary.roles(of: plan.stages[5], graph: oddVocabulary).axes.contains(.mixed))
        let recognition = try LayoutRecognition(plan)
        #expect(recognition.isExact, "\(recognition.differences)")
        #expect(recognition.layout.tensorParallel == 2 && recognition.layout.virtualStages == 3)
    }

    @Test("a plan with its own first and last stage layers is read back with them, and emitted so", arguments: [
        (4, 4 as Int?, 4 as Int?), (4, 6, nil), (4, nil, 6), (2, 4, nil), (3, 2, 3),
    ])
    func ownFirstAndLastStageLayers(ranks: Int, first: Int?, last: Int?) throws {
        let deeper = try TransformerBuilder(name: "gpt-12", configuration: .gpt(
            layers: 12, hidden: 64, heads: 4, vocabulary: 256, sequenceLength: 32, globalBatch: 8)).build()
        let plan = try TrainingPlan.megatron(graph: deeper, cluster: cluster, clusterName: "dgx-a100-80g:1", configuration: MegatronConfiguration(
            tensorParallel: 2, pipelineParallel: ranks, dataParallel: 1, sequenceParallel: true,
            firstStageLayers: first, lastStageLayers: last))
        let recognition = try LayoutRecognition(plan)
        #expect(recognition.isExact, "\(recognition.differences)")
        #expect(recognition.layout.configuration.firstStageLayers == first && recognition.layout.configuration.lastStageLayers == last)
        let prediction = PlanEvaluator(cluster: cluster).evaluate(plan)
        let megatron = try FrameworkExport(recognition: recognition, of: plan, prediction: prediction, framework: .megatron).text
        #expect(megatron.contains("They run the plan as it is"))
        #expect(megatron.contains("--decoder-first-pipeline-num-layers \(first ?? 0) \\") == (first != nil))
        #expect(megatron.contains("--decoder-last-pipeline-num-layers \(last ?? 0) \\") == (last != nil && ranks > 2))
    }

    @Test("Megatron's first and last stage layers, and the embedding and the loss counted as layers", arguments: [
        ([3, 4, 4, 5], 1, MegatronLayerSplit(firstStageLayers: 3, lastStageLayers: 5)), ([4, 4, 4, 4], 1, MegatronLayerSplit()),
        ([4, 3, 4, 4], 1, nil), ([3, 5], 1, MegatronLayerSplit(firstStageLayers: 3)), ([4, 4, 4, 5], 1, MegatronLayerSplit(lastStageLayers: 5)),
        // Two ranks of two chunks in pipeline order (rank 0, rank 1, rank 0, rank 1).
        ([1, 2, 2, 2], 2, MegatronLayerSplit(embeddingInPipelineSplit: true)), ([2, 2, 2, 1], 2, MegatronLayerSplit(lossInPipelineSplit: true)),
        ([1, 2, 2, 1], 2, MegatronLayerSplit(embeddingInPipelineSplit: true, lossInPipelineSplit: true)),
        ([2, 3, 2, 3], 2, MegatronLayerSplit(firstStageLayers: 4)),
        // Rank 0's light chunk last: no setting of Megatron-Core's puts it there.
        ([2, 2, 1, 2], 2, nil),
    ] as [([Int], Int, MegatronLayerSplit?)])
    func layerSplit(chunks: [Int], virtualStages: Int, expected: MegatronLayerSplit?) throws {
        var layout = try LayoutRecognition(try megatron(MegatronConfiguration(tensorParallel: 1, pipelineParallel: 2))).layout
        layout.chunkLayers = chunks
        layout.configuration.pipelineParallel = chunks.count / virtualStages
        layout.configuration.virtualStages = virtualStages
        #expect(layout.layerSplit == expected)
        #expect((TrainingFramework.megatron.unexpressedSplit(layout) == nil) == (expected != nil))
    }

    /// `score --pp 7` on GPT-3 1.3B's 24 blocks prices 3/3/4/3/4/3/4 (the lighter chunks spread), which
    /// Megatron-Core refuses: `score` notes it, and the settings no longer say they run the plan as it is (before,
    /// "They run the plan as it is" sat above the warning that they cannot).
    @Test("a split Megatron-Core refuses is named by the configuration, and the settings do not claim to run it")
    func unrunnableSplit() throws {
        let graph = try ModelCatalog.model(id: "gpt3-1.3b")!.build()
        let configuration = MegatronConfiguration(tensorParallel: 1, pipelineParallel: 7, dataParallel: 1)
        let note = try #require(configuration.unrunnableLayerSplit(of: graph))
        #expect(note.contains("24 repeated layers") && note.contains("3/3/4/3/4/3/4"), "\(note)")
        #expect(MegatronConfiguration(tensorParallel: 1, pipelineParallel: 4).unrunnableLayerSplit(of: graph) == nil)
        // 4/5/5/5/5 is Megatron-Core's first stage of 4 layers, which the settings write.
        #expect(MegatronConfiguration(tensorParallel: 1, pipelineParallel: 5).unrunnableLayerSplit(of: graph) == nil)
        #expect(MegatronConfiguration(tensorParallel: 1, pipelineParallel: 7, firstStageLayers: 4, lastStageLayers: 5)
            .unrunnableLayerSplit(of: graph) == nil)
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1", configuration: configuration)
        let text = try FrameworkExport(plan: plan, prediction: PlanEvaluator(cluster: cluster).evaluate(plan), framework: .megatron).text
        #expect(!text.contains("They run the plan as it is") && text.contains("but cannot run it") && text.contains("cannot split"))
    }

    /// Megatron-Core asserts that the tensor-parallel size divides the query heads and the key/value groups, and
    /// torchtitan views each rank's share as whole heads: llama-tiny's 4 query and 2 key/value heads take tp = 2
    /// only. `score` notes a larger degree, the settings do not claim to run it, and the grid never tries it.
    @Test("a tensor-parallel degree that does not divide the heads is named, and the Megatron grid leaves it out")
    func unrunnableHeadSplit() throws {
        let llama = try ModelCatalog.model(id: "llama-tiny")!.build()
        #expect(AttentionHeads.all(in: llama) == [AttentionHeads(query: 4, keyValue: 2)])
        #expect(MegatronConfiguration(tensorParallel: 2, pipelineParallel: 1).unrunnableHeadSplit(of: llama) == nil)
        for (tp, counts) in [(4, "2 key/value heads;"), (8, "4 query heads or 2 key/value heads;")] {
            let note = try #require(MegatronConfiguration(tensorParallel: tp, pipelineParallel: 1).unrunnableHeadSplit(of: llama))
            #expect(note.contains("tp = \(tp) does not divide the model's \(counts)"), "\(note)")
        }
        #expect(AttentionHeads(query: 6, keyValue: 6).undivided(over: 4) == ["6 heads"])
        let plan = try TrainingPlan.megatron(graph: llama, cluster: cluster, clusterName: "dgx-a100-80g:1",
                                             configuration: MegatronConfiguration(tensorParallel: 8, pipelineParallel: 1))
        // The settings run the largest degree that splits whole heads, the other devices data-parallel, and say so.
        let prediction = PlanEvaluator(cluster: cluster).evaluate(plan)
        for framework in TrainingFramework.allCases {
            let export = try FrameworkExport(plan: plan, prediction: prediction, framework: framework)
            #expect(export.layout.tensorParallel == 2 && export.layout.dataParallel == 4 && export.unrunnable.isEmpty)
            #expect(export.differences.contains { $0.contains("tp = 8 does not divide the model's 4 query heads or 2 key/value heads: tp = 2 is the largest that does, with 4-way data parallelism") },
                    "\(export.differences)")
            #expect(try FrameworkRoundTripTests.readBack(export.text, framework) == ReadBackLayout(export.layout), "\(framework.rawValue)")
        }
        // The framework's rules apply to the layout that runs: torchtitan refuses DDP beside tensor parallelism, so its
        // 4 replicas are FSDP that keeps the gathered weights (ZeRO-2), as `--tp 2 --dp 4 --zero 0` is written.
        let titan = try FrameworkExport(plan: plan, prediction: prediction, framework: .torchtitan)
        #expect(titan.layout.zeroStage == 2 && titan.differences.contains { $0.contains("DDP has not supported > 1D parallelism") })
        #expect(titan.text.contains("data_parallel_replicate_degree = 1\ndata_parallel_shard_degree = 4\nfsdp_reshard_after_forward = \"never\"\n"))
        // Where no such layout lays out, the settings describe the plan and warn that they cannot run it.
        var unconverted = try LayoutRecognition(plan).layout
        unconverted.attentionHeads = [AttentionHeads(query: 4, keyValue: 2)]
        #expect(FrameworkExport.wholeHeads(unconverted.configuration, heads: unconverted.attentionHeads, framework: .megatron)?.configuration.tensorParallel == 2)
        #expect(TrainingFramework.megatron.unrunnable(unconverted).count == 1)
        let grid = MegatronGrid().configurations(for: llama, on: cluster, options: TrainingOptions(), analysis: GraphAnalysis(llama))
        #expect(!grid.isEmpty && Set(grid.map(\.tensorParallel)) == [1, 2])
    }

    /// Megatron-Core's interleaved schedule refuses a microbatch count that is not a multiple of the pipeline ranks;
    /// PyTorch's `ScheduleInterleaved1F1B` (torchtitan's) runs max(1, m / pp) rounds and refuses a count they do not
    /// divide.
    @Test("an interleaved schedule's microbatch count is checked as each framework's schedule checks it")
    func unrunnableInterleaving() {
        let interleaved = MegatronConfiguration(tensorParallel: 1, pipelineParallel: 4, virtualStages: 3)
        #expect(TrainingFramework.megatron.unrunnableInterleaving(interleaved, microbatches: 6)?.contains("6 microbatches are not a multiple of 4") == true)
        #expect(TrainingFramework.nemo.unrunnableInterleaving(interleaved, microbatches: 2) != nil)
        #expect(TrainingFramework.megatron.unrunnableInterleaving(interleaved, microbatches: 8) == nil)
        // 6 over 4 ranks is one round of 6; 9 is two rounds, which 9 does not fill evenly.
        #expect(TrainingFramework.torchtitan.unrunnableInterleaving(interleaved, microbatches: 6) == nil)
        #expect(TrainingFramework.torchtitan.unrunnableInterleaving(interleaved, microbatches: 9)?.contains("in 2 rounds") == true)
        #expect(TrainingFramework.megatron.unrunnableInterleaving(MegatronConfiguration(tensorParallel: 1, pipelineParallel: 4),
                                                                  microbatches: 6) == nil)
    }

    /// Settings that differ from the plan and that the framework still refuses do not say they run: GPT-3 1.3B at
    /// 12 sequences on 4 ranks of 2 chunks has 6 microbatches, not whole rounds of 4.
    @Test("settings of a nearest layout the framework refuses say they describe it, with the warning")
    func unrunnableNearestLayout() throws {
        let gpt = try ModelCatalog.model(id: "gpt3-1.3b")!.build().rebatched(to: 12)
        let plan = try TrainingPlan.megatron(graph: gpt, cluster: cluster, clusterName: "dgx-a100-80g:1",
                                             configuration: MegatronConfiguration(tensorParallel: 1, pipelineParallel: 4, virtualStages: 2))
        let export = try FrameworkExport(plan: plan, prediction: PlanEvaluator(cluster: cluster).evaluate(plan), framework: .nemo)
        #expect(!export.differences.isEmpty && export.unrunnable.count == 1, "\(export.differences)")
        #expect(export.text.contains("these settings describe the nearest one, which differs so (NeMo 2.0 cannot run it either")
                && export.text.contains("Warning: Megatron-Core's interleaved schedule runs microbatches in whole rounds of the 4 pipeline ranks"))
    }

    /// A plan whose ZeRO stage is in its options (the Megatron grid's distributed optimizer) rather than in its
    /// strategies is summarised at that stage, as the cost model prices it and `score --plan` reads it back.
    @Test("a plan's one-line summary shows the ZeRO stage of its options")
    func summaryShowsThePlanZeroStage() throws {
        var plan = try megatron(MegatronConfiguration(tensorParallel: 1, pipelineParallel: 2))
        #expect(plan.stageSummary == "tp=1 dp=4 pp=2", "\(plan.stageSummary)")
        plan.options.zeroStage = 1
        #expect(plan.stageSummary == "tp=1 dp=4 zero=1 pp=2", "\(plan.stageSummary)")
    }
}
