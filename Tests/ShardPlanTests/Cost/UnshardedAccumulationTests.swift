import Testing
@testable import ShardPlan

/// ZeRO-3 gradients accumulated unsharded over the microbatches and reduce-scattered once, in the last one
/// (`TrainingOptions.accumulatesUnshardedGradients`: FSDP's `no_sync`, FSDP2's `set_requires_gradient_sync(False)`).
@Suite("ZeRO-3 with gradients accumulated unsharded")
struct UnshardedAccumulationTests {
    /// gpt-tiny at 128 sequences on two DGX A100s, pure data parallelism over all 16 devices under ZeRO-3 (FSDP2 over
    /// fp32 weights with fp32 reductions, as torchtitan and KempnerForge run it), `microBatchSize` sequences a
    /// microbatch, with or without `noSync`.
    static func configuration(microBatchSize: Int, noSync: Bool) -> MegatronConfiguration {
        var options = TrainingOptions(zeroStage: 3, optimizerState: .fp32Weights, reduceGradientsInFP32: true,
                                      copiesOutGatheredParameters: true)
        options.accumulatesUnshardedGradients = noSync
        return MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1, dataParallel: 16, microBatchSize: microBatchSize,
                                     options: options)
    }

    static func prediction(microBatchSize: Int, noSync: Bool) throws -> (plan: TrainingPlan, prediction: PlanPrediction) {
        let graph = try #require(ModelCatalog.model(id: "gpt-tiny")).build().rebatched(to: 128)
        let cluster = try Cluster.preset(named: "dgx-a100-80g:2")
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:2",
                                             configuration: configuration(microBatchSize: microBatchSize, noSync: noSync))
        return (plan, PlanEvaluator(cluster: cluster).evaluate(plan))
    }

    @Test("ParameterState: 1,000 fp32 gradients over 8 devices: 4,000 bytes held and 8,000 accumulated, where ZeRO-3 holds 500")
    func parameterStateByHand() {
        let sharded = ParameterState(elements: 1_000, dataParallel: 8, zeroStage: 3)
        let unsharded = ParameterState(elements: 1_000, dataParallel: 8, zeroStage: 3, unshardedGradientBytes: 4)
        #expect(sharded.gradientBytes == 500 && sharded.gradientAccumulationBytes == 1_000)
        #expect(unsharded.gradientBytes == 4_000 && unsharded.gradientAccumulationBytes == 8_000)
        // Weights and optimizer state stay sharded; the step reads the reduce-scattered shard.
        #expect(unsharded.weightBytes == sharded.weightBytes && unsharded.optimizerStateBytes == sharded.optimizerStateBytes)
        #expect(unsharded.optimizerStepBytes == sharded.optimizerStepBytes)
        // Over one device there is nothing to reduce-scatter: the buffer's own type (bf16 here), as without the mode.
        #expect(ParameterState(elements: 1_000, dataParallel: 1, zeroStage: 3, gradientPrecision: .bf16,
                               unshardedGradientBytes: 4).gradientBytes == 2_000)
        // ZeRO-2 has no such mode.
        #expect(ParameterState(elements: 1_000, dataParallel: 8, zeroStage: 2, unshardedGradientBytes: 4).gradientBytes == 500)
        // From the options: nothing to accumulate with one microbatch; FSDP2's reduce_dtype, fp32 or the weights' bf16.
        var options = TrainingOptions(reduceGradientsInFP32: true)
        options.accumulatesUnshardedGradients = true
        #expect(ParameterState(elements: 1_000, dataParallel: 8, zeroStage: 3, options: options, microbatches: 1).gradientBytes == 500)
        #expect(ParameterState(elements: 1_000, dataParallel: 8, zeroStage: 3, options: options, microbatches: 4).gradientBytes == 4_000)
        options.reduceGradientsInFP32 = false
        #expect(ParameterState(elements: 1_000, dataParallel: 8, zeroStage: 3, options: options, microbatches: 4).gradientBytes == 2_000)
    }

    /// The stage search skips a variant at least as heavy as one that fits (`FittingVariants`). A fitting ZeRO-2
    /// variant makes ZeRO-3 needless when both reduce-scatter every microbatch, not when ZeRO-3 reduces once.
    @Test("the stage search keeps ZeRO-3 beside a fitting ZeRO-2 where ZeRO-3 reduces once an iteration")
    func searchKeepsZeroThree() {
        let zeroTwo = StageSearchOracle.Layout(meshShape: [1, 8], layout: 0, zeroStage: 2, recompute: RecomputeMode.none)
        var zeroThree = zeroTwo
        zeroThree.zeroStage = 3
        for reducesOnce in [false, true] {
            var fitting = FittingVariants(prunes: true, recompute: .none, reducesZeroThreeOnce: reducesOnce)
            fitting.record(zeroTwo)
            #expect(fitting.makesNeedless(zeroThree) == !reducesOnce)
        }
    }

    /// The searches price the mode through layer profiles (the last microbatch's seconds are their sixth column) and
    /// rank summaries, as the Megatron grid's estimate does: for gpt-tiny as a two-stage pipeline of ZeRO-3 over 4
    /// devices each on one DGX A100, in 4 microbatches, the estimate is the evaluator's to rounding (3.1209 ms against
    /// 3.1606 ms without the mode), and only the mode charges the last microbatch's reduce-scatters.
    @Test("the searches' estimate of a no-sync ZeRO-3 pipeline matches the evaluator's")
    func searchEstimate() throws {
        let graph = try #require(ModelCatalog.model(id: "gpt-tiny")).build().rebatched(to: 32)
        let cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        let configuration = { (noSync: Bool) -> MegatronConfiguration in
            var options = TrainingOptions(zeroStage: 3, optimizerState: .fp32Weights, reduceGradientsInFP32: true)
            options.accumulatesUnshardedGradients = noSync
            return MegatronConfiguration(tensorParallel: 1, pipelineParallel: 2, dataParallel: 4, microBatchSize: 2, options: options)
        }
        let analysis = GraphAnalysis(graph)
        let evaluator = PlanEvaluator(cluster: cluster)
        // One call a setting: the grid varies layouts under fixed training options.
        let estimates = [false, true].map { noSync in
            MegatronGrid.estimates([configuration(noSync)], graph: graph, cluster: cluster, analysis: analysis,
                                   clustering: LayerClustering(analysis, smallLayerFraction: 0), kernels: evaluator.kernels).estimates[0]
        }
        var evaluated: [Double] = []
        for (noSync, estimate) in zip([false, true], estimates) {
            let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1", configuration: configuration(noSync))
            #expect(plan.microbatches == 4 && plan.accumulatesUnshardedGradients == noSync)
            let prediction = evaluator.evaluate(plan)
            evaluated.append(prediction.iterationSeconds)
            let estimated = try #require(estimate).iterationSeconds
            // Exact here: the profiles compose layers that interact only with their neighbours, on one node.
            #expect(abs(estimated - prediction.iterationSeconds) <= 1e-9 * prediction.iterationSeconds,
                    "no-sync \(noSync): estimate \(estimated) s, evaluator \(prediction.iterationSeconds) s")
            #expect(prediction.stageCosts.allSatisfy { ($0.lastMicrobatchSeconds > 0) == noSync })
        }
        #expect(evaluated[1] != evaluated[0])
    }

    @Test("one microbatch: the same plan either way")
    func oneMicrobatch() throws {
        let (_, standard) = try Self.prediction(microBatchSize: 8, noSync: false)
        let (plan, noSync) = try Self.prediction(microBatchSize: 8, noSync: true)
        #expect(plan.microbatches == 1)
        #expect(standard.iterationSeconds == noSync.iterationSeconds)
        #expect(standard.peakMemoryBytesPerDevice == noSync.peakMemoryBytesPerDevice)
    }

    /// Four microbatches of 2 sequences a device: each device holds every parameter's fp32 gradient (gpt-tiny's
    /// 16,384 + 2,048 embedding, 2 x 49,984 block and 128 final-norm parameters: 118,528, so 474,112 bytes) where
    /// ZeRO-3 holds a sixteenth, both beside one block's unsharded gradients in the reduce-scatter's input; the iteration reduce-scatters once where it did four
    /// times, and what that once adds is the only gradient synchronisation left exposed.
    @Test("four microbatches: every gradient held in fp32, one reduce-scatter an iteration, exposed once")
    func fourMicrobatches() throws {
        let (plan, standard) = try Self.prediction(microBatchSize: 2, noSync: false)
        let (_, noSync) = try Self.prediction(microBatchSize: 2, noSync: true)
        #expect(plan.microbatches == 4)
        // Beside them, the reduce-scatter's input buffer for one block (49,984 fp32 gradients: 199,936 bytes), less
        // what the loss's buffers and one microbatch's kept tensors of its layer free before it (`TransientMemory`).
        let stage = noSync.stageCosts[0]
        #expect(stage.unshardedGradientBytes == 199_936 && standard.stageCosts[0].unshardedGradientBytes == 199_936)
        let rerun = stage.recomputationWorkingBytes - stage.lossLayerKeptBytes
        let added = max(stage.lossBufferBytes, rerun + 199_936) - max(stage.lossBufferBytes, rerun)
        #expect(added > 0 && added < 199_936)
        #expect(noSync.ranks[0].gradientBytes == 474_112 + added)
        // Standard ZeRO-3: a sixteenth (29,632 bytes) and one block's 49,984 fp32 gradients awaiting their
        // reduce-scatter, as far as the same.
        #expect(standard.ranks[0].gradientBytes == 29_632 + added)
        let scattered = { (prediction: PlanPrediction) in prediction.communicationBytes[.reduceScatter] ?? 0 }
        #expect(scattered(standard) > 0 && abs(scattered(noSync) * 4 - scattered(standard)) <= 1e-9 * scattered(standard))
        let last = noSync.stageCosts[0].lastMicrobatchSeconds
        #expect(last > 0 && noSync.stageCosts[0].gradientSynchronizationSeconds == 0)
        #expect(noSync.ranks[0].exposedGradientSynchronizationSeconds == last)
        let rank = noSync.ranks[0]
        let perMicrobatch = rank.forwardSeconds + rank.backwardSeconds
        #expect(abs(noSync.iterationSeconds - (4 * perMicrobatch + last + rank.optimizerSeconds)) <= 1e-12)
        // Three reduce-scatters fewer, over the network between the two nodes: faster.
        #expect(noSync.iterationSeconds < standard.iterationSeconds)
        #expect(standard.stageCosts[0].lastMicrobatchSeconds == 0)
    }

    /// The summaries and the report name the mode only where gradients accumulate: several microbatches and
    /// ZeRO-3 over more than one data-parallel device. gpt-tiny on one device in 4 microbatches of 32 has nothing to
    /// reduce-scatter.
    @Test("no-sync is named only with several microbatches and several data-parallel devices")
    func namedOnlyWhereGradientsAccumulate() throws {
        let configuration = Self.configuration(microBatchSize: 2, noSync: true)
        #expect(configuration.summary(dataParallel: 16, noSync: true).contains(" zero=3 no-sync"))
        #expect(!configuration.summary(dataParallel: 16, noSync: false).contains("no-sync"))
        #expect(try Self.prediction(microBatchSize: 8, noSync: true).plan.summary?.contains("no-sync") == false)
        var single = configuration
        single.dataParallel = 1
        single.microBatchSize = 32
        let graph = try #require(ModelCatalog.model(id: "gpt-tiny")).build().rebatched(to: 128)
        let cluster = try Cluster.preset(named: "dgx-a100-80g:2")
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:2", configuration: single)
        #expect(plan.microbatches == 4 && plan.deviceCount == 1)
        #expect(!plan.accumulatesUnshardedGradients && plan.summary?.contains("no-sync") == false)
        #expect(!PlanEvaluator(cluster: cluster).evaluate(plan).textReport(for: plan).contains("no_sync"))
        #expect(try Self.prediction(microBatchSize: 2, noSync: true).plan.accumulatesUnshardedGradients)
    }

    /// A saved plan keeps the option (`options.fsdp_no_sync`) and is priced the same when read back; Megatron-LM's
    /// settings reduce-scatter every microbatch and say so.
    @Test("a plan document keeps fsdp_no_sync; the frameworks' settings say they reduce-scatter every microbatch")
    func documentAndFrameworks() throws {
        let (plan, prediction) = try Self.prediction(microBatchSize: 2, noSync: true)
        let document = plan.json(prediction: prediction)
        guard case .object(let top) = document, case .object(let options)? = top["options"] else { Issue.record("no options"); return }
        #expect(options["fsdp_no_sync"] == .bool(true))
        let read = try TrainingPlan(json: document, graph: plan.graph, cluster: plan.cluster, clusterName: plan.clusterName)
        #expect(read.options.accumulatesUnshardedGradients)
        #expect(PlanEvaluator(cluster: plan.cluster).evaluate(read).iterationSeconds == prediction.iterationSeconds)
        for framework in TrainingFramework.allCases {
            let configuration = Self.configuration(microBatchSize: 2, noSync: true)
            let (nearest, changes) = framework.expressible(configuration, chunkLayers: [2], microbatches: 4)
            #expect(!nearest.options.accumulatesUnshardedGradients)
            // NeMo runs no ZeRO-3 (its own sentence says ZeRO-1); with one microbatch nothing accumulates.
            let said = { (changes: [String]) in changes.contains { $0.contains("reduce-scatter every microbatch") } }
            #expect(said(changes) == (framework.largestZeroStage >= 3), "\(framework)")
            #expect(!said(framework.expressible(configuration, chunkLayers: [2], microbatches: 1).changes))
        }
        #expect(prediction.textReport(for: plan).contains("reduce-scattered once (no_sync)"))
        let (single, singlePrediction) = try Self.prediction(microBatchSize: 8, noSync: true)
        #expect(!singlePrediction.textReport(for: single).contains("no_sync"))
    }
}
