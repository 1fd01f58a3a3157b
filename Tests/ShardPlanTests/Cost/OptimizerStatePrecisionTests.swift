import Testing
@testable import ShardPlan

/// Adam's state in bf16 without a master copy (`torch.optim.Adam` on a bf16 model, NeMo AutoModel) against the fp32
/// master weights and moments of Megatron-LM and FSDP over fp32 parameters.
@Suite("Optimizer state precision")
struct OptimizerStatePrecisionTests {
    @Test("per parameter: bf16 state takes 4 bytes and its step moves 12 + 2 x the gradient's bytes; fp32 state 12 and 30 + 3 x")
    func parameterState() {
        let fp32 = ParameterState(elements: 1000, dataParallel: 4, zeroStage: 1)
        let bf16 = ParameterState(elements: 1000, dataParallel: 4, zeroStage: 1, gradientPrecision: .bf16, optimizerState: .bf16)
        // ZeRO-1 over 4 devices: 250 elements of state each.
        #expect(fp32.optimizerStateBytes == 3000 && bf16.optimizerStateBytes == 1000)
        // fp32: norm 4, Adam 4 + 24, master copy 6, reset 4 = 42; bf16 with bf16 gradients: norm 2, Adam 2 + 12 = 16
        // (PyTorch's optimizer frees its gradients rather than zeroing them).
        #expect(fp32.optimizerStepBytes == 42 * 250 && bf16.optimizerStepBytes == 16 * 250)
        // Four multi-tensor passes (norm, Adam, copy, reset) at 36 tensors a launch against PyTorch's two.
        #expect(fp32.optimizerStepLaunches == 4.0 / 36 && bf16.optimizerStepLaunches == 2.0 / 36)
        #expect(bf16.weightBytes == fp32.weightBytes && bf16.gradientBytes == 2000)
        // With fp32 gradients the bf16 state's step reads them at 4 bytes: 12 + 8.
        let mixed = ParameterState(elements: 1000, dataParallel: 4, zeroStage: 1, optimizerState: .bf16)
        #expect(mixed.optimizerStepBytes == 20 * 250)
    }

    @Test("per parameter: fp32 weights take 4 bytes, sharded only by ZeRO-3, their state 8 and their step 24 + 2 x the gradient's bytes")
    func fp32WeightsParameterState() {
        let zero1 = ParameterState(elements: 1000, dataParallel: 4, zeroStage: 1, optimizerState: .fp32Weights)
        // ZeRO-1 over 4 devices: the weights whole (4,000 bytes), 250 elements of two fp32 moments each.
        #expect(zero1.weightBytes == 4000 && zero1.gradientBytes == 4000 && zero1.optimizerStateBytes == 2000)
        // Adam reads and writes weight and moments in place (24) besides the gradient's norm and read (8); PyTorch's
        // `zero_grad(set_to_none=True)` frees the gradients, no reset.
        #expect(zero1.optimizerStepBytes == 32 * 250)
        let zero3 = ParameterState(elements: 1000, dataParallel: 4, zeroStage: 3, optimizerState: .fp32Weights)
        #expect(zero3.weightBytes == 1000 && zero3.totalBytes == 16 * 250)
        let master = ParameterState(elements: 1000, dataParallel: 4, zeroStage: 3)
        #expect(master.totalBytes == 18 * 250)
        // ZeRO-2 is FSDP's SHARD_GRAD_OP: fp32 shards (1,000 bytes) and the whole gathered 16-bit copy (2,000).
        let zero2 = ParameterState(elements: 1000, dataParallel: 4, zeroStage: 2, optimizerState: .fp32Weights)
        #expect(zero2.weightBytes == 3000 && zero2.gradientBytes == 1000 && zero2.totalBytes == 6000)
        // One device shards nothing and gathers nothing: its weights are the fp32 ones.
        #expect(ParameterState(elements: 1000, dataParallel: 1, zeroStage: 2, optimizerState: .fp32Weights).weightBytes == 4000)
    }

    /// Under ZeRO-2 over fp32 weights (FSDP's `SHARD_GRAD_OP`) each device casts its 1/8 shard before the gather,
    /// and the gathered 16-bit weights are the copies the products read: none is cast or kept per microbatch. Under
    /// full recomputation the rerun forward pass reads that copy, kept until the backward pass: it casts nothing
    /// again (`StageCostTermsTests` checks the search's terms against this).
    @Test("mlp-2 on 8 GPUs under ZeRO-2 with fp32 weights: shards cast before the gather, the gathered copy kept once, no cast in a rerun",
          arguments: [RecomputeMode.none, .full])
    func fp32WeightsUnderZeroTwo(recompute: RecomputeMode) throws {
        let graph = try ModelCatalog.model(id: "mlp-2")!.build()
        let cluster = try Cluster.preset(named: "dgx-h100")
        func rank(_ state: OptimizerStatePrecision) throws -> PlanPrediction.Rank {
            let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-h100", configuration:
                MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1, dataParallel: 8, microBatchSize: 128,
                                      options: TrainingOptions(recompute: recompute, zeroStage: 2, optimizerState: state)))
            return PlanEvaluator(cluster: cluster).evaluate(plan).ranks[0]
        }
        let (master, weights) = (try rank(.fp32), try rank(.fp32Weights))
        let parameters = 2.0 * 4096 * 16384
        #expect(abs(weights.weightBytes - parameters * (4.0 / 8 + 2)) < 1)
        #expect(abs(weights.activationBytes - master.activationBytes) < 1)
        // Two casts of an 8,388,608-element shard: 10 us + 50,331,648 bytes at the H100's streaming rate each. Besides
        // them the forward pass waits for the first layer's gather whole and for what the second's takes beyond the
        // first layer's compute (`fp32WeightsUnderZeroTwoGathersEveryMicrobatch`); the backward pass gathers nothing.
        let cast = KernelModel(device: cluster.device).memorySeconds(bytes: 6 * 4096 * 16384 / 8)
        let mesh = try DeviceMesh(devices: Array(0..<8), shape: [8], in: cluster)
        let gather = mesh.seconds(for: Collective(.allGather, axes: [0], bytes: 2 * 4096 * 16384))
        let waited = weights.forwardSeconds - master.forwardSeconds - 2 * cast
        #expect(waited >= gather && waited < 2 * gather)
        #expect(weights.communicationSeconds[.allGather, default: 0] == waited)
    }

    /// FSDP's `SHARD_GRAD_OP` (FSDP2's `reshard_after_forward=False`) frees the gathered weights after each
    /// microbatch's backward pass, so every forward pass gathers them again, layer by layer, and every backward pass
    /// reduce-scatters the gradients; Megatron's distributed optimizer over 16-bit weights with fp32 master copies
    /// gathers the updated weights once, after the step. mlp-2's two weights hold 134,217,728 parameters: 268,435,456
    /// bytes in 16 bits.
    @Test("mlp-2 on 8 GPUs under ZeRO-2: fp32 weights are gathered before every microbatch's forward pass, 16-bit ones once an iteration",
          arguments: [1, 4])
    func fp32WeightsUnderZeroTwoGathersEveryMicrobatch(microbatches: Int) throws {
        let graph = try ModelCatalog.model(id: "mlp-2")!.build()
        let cluster = try Cluster.preset(named: "dgx-h100")
        func prediction(_ state: OptimizerStatePrecision) throws -> PlanPrediction {
            let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-h100", configuration:
                MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1, dataParallel: 8, microBatchSize: 128 / microbatches,
                                      options: TrainingOptions(zeroStage: 2, optimizerState: state)))
            return PlanEvaluator(cluster: cluster).evaluate(plan)
        }
        let (master, weights) = (try prediction(.fp32), try prediction(.fp32Weights))
        let bytes = 2.0 * 4096 * 16384 * 2
        #expect(weights.communicationBytes[.allGather] == Double(microbatches) * bytes)
        #expect(weights.communicationBytes[.reduceScatter] == Double(microbatches) * bytes)
        #expect(weights.ranks[0].exposedGradientSynchronizationSeconds == 0)
        // One microbatch: Megatron all-reduces the gradients in one bucket after the backward pass; more: it
        // reduce-scatters them every microbatch and gathers once, after the step.
        #expect(master.communicationBytes[.allGather] == (microbatches > 1 ? bytes : nil))
        #expect(master.communicationBytes[.reduceScatter] == (microbatches > 1 ? Double(microbatches) * bytes : nil))
    }

    /// mlp-2 is two 4,096 x 16,384 weights (134,217,728 parameters, no biases) on one A100 (2,039 GB/s, streamed at
    /// 85%). Each pass that casts a weight reads 4 and writes 2 bytes an element in a kernel of its own.
    @Test("mlp-2 on one A100 with fp32 weights: each forward pass casts both weights and keeps the 16-bit copies, eager or compiled")
    func fp32WeightsCastPerPass() throws {
        let parameters = 2.0 * 4096 * 16384
        let master = try TrainingOptionsFixtures.mlp2Rank(TrainingOptions())
        let eager = try TrainingOptionsFixtures.mlp2Rank(TrainingOptions(optimizerState: .fp32Weights))
        // Two casts of 67,108,864 elements: 2 x (10 us + 402,653,184 bytes / (2,039 GB/s x 0.85)) = 484.6 us.
        let eagerCast = 2 * (10e-6 + 6 * parameters / 2 / (2039e9 * 0.85))
        #expect(abs(eagerCast - 484.6e-6) < 0.1e-6)
        #expect(abs((eager.forwardSeconds - master.forwardSeconds) - eagerCast) < 1e-9)
        #expect(abs(eager.backwardSeconds - master.backwardSeconds) < 1e-9)
        // 4 + 4 + 8 bytes of state and the 2-byte copies alive until the backward pass: the 18 of master weights.
        #expect(eager.weightBytes == 4 * parameters && eager.optimizerStateBytes == 8 * parameters)
        #expect(abs(eager.activationBytes - master.activationBytes - 2 * parameters) < 1)
        #expect(abs(eager.peakMemoryBytes - master.peakMemoryBytes) < 1)
        // No copy to 16-bit weights after the step and no reset: 10 bytes a parameter less, and two multi-tensor
        // passes of the two weights instead of four (2 x 2/36 of a 10 us launch less).
        #expect(abs((master.optimizerSeconds - eager.optimizerSeconds) - (10 * parameters / (2039e9 * 0.85) + 2 * 2.0 / 36 * 10e-6)) < 1e-12)

        let compiledMaster = try TrainingOptionsFixtures.mlp2Rank(TrainingOptions(kernelFusion: .compiled))
        let compiled = try TrainingOptionsFixtures.mlp2Rank(TrainingOptions(kernelFusion: .compiled, optimizerState: .fp32Weights))
        // A compiled step launches at 4 us (2 x 478.6 us of casts) and keeps the copies too: AOTAutograd saves them.
        let compiledCast = 2 * (4e-6 + 6 * parameters / 2 / (2039e9 * 0.85))
        #expect(abs((compiled.forwardSeconds - compiledMaster.forwardSeconds) - compiledCast) < 1e-9)
        #expect(abs(compiled.backwardSeconds - compiledMaster.backwardSeconds) < 1e-9)
        #expect(abs(compiled.activationBytes - compiledMaster.activationBytes - 2 * parameters) < 1)
    }

    /// Full recomputation keeps no 16-bit copies between the passes, but each layer's rerun casts its weights again
    /// and holds the copies while its backward pass runs. mlp-2's unnamed layer (the GELU, `y` and the loss) keeps
    /// h and a (2 x 1024 x 16,384 x 2 bytes) against the `mlp` layer's x, so its rerun is the working set: w2's copy
    /// (4,096 x 16,384 x 2 bytes) is added to it.
    @Test("mlp-2 under full recomputation with fp32 weights: the rerun layer holds the copies it casts")
    func fp32WeightsUnderFullRecomputation() throws {
        let master = try TrainingOptionsFixtures.mlp2Rank(TrainingOptions(recompute: .full))
        let weights = try TrainingOptionsFixtures.mlp2Rank(TrainingOptions(recompute: .full, optimizerState: .fp32Weights))
        #expect(abs((weights.activationBytes - master.activationBytes) - 2 * 4096 * 16384) < 1)
        // The rerun casts again: the forward pass's casts are also in the backward pass.
        #expect(weights.backwardSeconds - master.backwardSeconds > 0)

        // Llama's untied output weight is cast when the head's layer reruns, beside the loss's gradient buffers.
        let graph = try ModelCatalog.model(id: "llama-tiny")!.build()
        let cluster = try Cluster.preset(named: "single-h100")
        func rank(_ state: OptimizerStatePrecision) throws -> PlanPrediction.Rank {
            let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "single-h100", configuration:
                MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1, microBatchSize: 8,
                                      options: TrainingOptions(recompute: .full, optimizerState: state)))
            return PlanEvaluator(cluster: cluster).evaluate(plan).ranks[0]
        }
        let head = Double(try #require(graph.value(named: "head.w").map { graph[$0].type.elementCount }))
        #expect(try rank(.fp32Weights).activationBytes - rank(.fp32).activationBytes >= 2 * head)
    }

    /// Under ZeRO-3 each pass casts the layer's local fp32 shards before its gather, on the gathers' stream (FSDP2's
    /// all-gather copy-in, one foreach kernel): the compute stream runs no cast, and full recomputation reruns the
    /// forward pass on the weights the backward pass gathered, so the rerun casts nothing either. The gathers take
    /// the casts' time more.
    @Test("mlp-2 on 8 GPUs under ZeRO-3 and full recomputation with fp32 weights: the shards' casts run on the gathers' stream")
    func fp32WeightsUnderZeroThreeAndFullRecomputation() throws {
        let graph = try ModelCatalog.model(id: "mlp-2")!.build()
        let cluster = try Cluster.preset(named: "dgx-h100")
        func cost(_ state: OptimizerStatePrecision) throws -> (rank: PlanPrediction.Rank, stage: StageCost) {
            let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-h100", configuration:
                MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1, dataParallel: 8, microBatchSize: 128,
                                      options: TrainingOptions(recompute: .full, zeroStage: 3, optimizerState: state)))
            let prediction = PlanEvaluator(cluster: cluster).evaluate(plan)
            return (prediction.ranks[0], prediction.stageCosts[0])
        }
        let (master, weights) = (try cost(.fp32), try cost(.fp32Weights))
        #expect(weights.stage.forwardComputeSeconds == master.stage.forwardComputeSeconds)
        #expect(weights.stage.computeSeconds == master.stage.computeSeconds)
        #expect(abs(weights.rank.recomputeSeconds - master.rank.recomputeSeconds) < 1e-12)
        // The casts lengthen the gathers: what the forward pass waits for can only grow.
        #expect(weights.stage.forwardCommunicationSeconds >= master.stage.forwardCommunicationSeconds)
        // Each of the two weights is its own layer, so each gather casts one 8,388,608-element shard, a launch each:
        // 10 us + 50,331,648 bytes at the H100's streaming rate. Here nothing hides the forward gathers.
        let cast = KernelModel(device: cluster.device).memorySeconds(bytes: 6 * 4096 * 16384 / 8)
        let exposed = weights.stage.forwardCommunicationSeconds - master.stage.forwardCommunicationSeconds
        #expect(abs(exposed - 2 * cast) < 1e-9, "\(exposed) against \(2 * cast)")
    }

    /// An FP8 linear layer quantises the fp32 weight itself (TransformerEngine's weight quantizer, torchao's
    /// `Float8Linear`): no 16-bit copy is cast or kept beside the recipe's FP8 copies, so fp32 weights change only
    /// the state (4 bytes of weights and 8 of moments for 2 and 12) and the step.
    @Test("mlp-2 in FP8 on one H100 with fp32 weights: no 16-bit copies beside the FP8 ones, no cast of their own")
    func fp32WeightsUnderFP8() throws {
        let parameters = 2.0 * 4096 * 16384
        func rank(_ state: OptimizerStatePrecision, _ recipe: FP8Recipe) throws -> PlanPrediction.Rank {
            let graph = try ModelCatalog.model(id: "mlp-2")!.build()
            let cluster = try Cluster.preset(named: "single-h100")
            let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "single-h100", configuration:
                MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1, microBatchSize: 1024,
                                      options: TrainingOptions(precision: .fp8, fp8Recipe: recipe, optimizerState: state)))
            return PlanEvaluator(cluster: cluster).evaluate(plan).ranks[0]
        }
        for recipe in FP8Recipe.allCases {
            let (master, weights) = (try rank(.fp32, recipe), try rank(.fp32Weights, recipe))
            // Both weights run in FP8: the recipe's cached copies (if any) sit beside the 2 or 4 bytes of weights.
            #expect(abs((weights.weightBytes - master.weightBytes) - 2 * parameters) < 1, "\(recipe)")
            #expect(abs(weights.activationBytes - master.activationBytes) < 1, "\(recipe)")
            #expect(abs(weights.forwardSeconds - master.forwardSeconds) < 1e-12, "\(recipe)")
            #expect(abs(weights.backwardSeconds - master.backwardSeconds) < 1e-12, "\(recipe)")
        }
    }

    @Test("mlp-2 on one A100: bf16 state saves 8 bytes a parameter of memory and 22 of step traffic")
    func singleDevice() throws {
        func rank(_ state: OptimizerStatePrecision) throws -> PlanPrediction.Rank {
            try TrainingOptionsFixtures.mlp2Rank(TrainingOptions(optimizerState: state))
        }
        let (fp32, bf16) = (try rank(.fp32), try rank(.bf16))
        let parameters = 2.0 * 4096 * 16384
        #expect(fp32.optimizerStateBytes == 12 * parameters && bf16.optimizerStateBytes == 4 * parameters)
        #expect(fp32.peakMemoryBytes - bf16.peakMemoryBytes == 8 * parameters)
        // The step streams at 85% of the A100's 2039 GB/s: 42 against 20 bytes a parameter with fp32 gradients, in four
        // multi-tensor passes against two (2 x 2/36 of a 10 us launch).
        #expect(abs((fp32.optimizerSeconds - bf16.optimizerSeconds) - (parameters * 22 / (2039e9 * 0.85) + 2 * 2.0 / 36 * 10e-6)) <= 1e-12)
        #expect(bf16.forwardSeconds == fp32.forwardSeconds && bf16.backwardSeconds == fp32.backwardSeconds)
    }

    @Test("a plan with bf16 optimizer state writes options.optimizer_state and reads it back; an unknown one is refused at its path")
    func planDocument() throws {
        let graph = try #require(ModelCatalog.model(id: "gpt-tiny")).build()
        let cluster = try Cluster.preset(named: "dgx-a100-80g")
        let evaluator = PlanEvaluator(cluster: cluster)
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g", configuration:
            MegatronConfiguration(tensorParallel: 2, pipelineParallel: 1, options: TrainingOptions(optimizerState: .bf16)))
        let prediction = evaluator.evaluate(plan)
        let text = plan.jsonText(prediction: prediction)
        #expect(text.contains("\"optimizer_state\": \"bf16\""))
        func decode(_ text: String) throws -> TrainingPlan {
            try TrainingOptionsFixtures.decode(text, graph: graph, clusterName: "dgx-a100-80g")
        }
        let decoded = try decode(text)
        #expect(decoded.options.optimizerState == .bf16)
        #expect(evaluator.evaluate(decoded).peakMemoryBytesPerDevice == prediction.peakMemoryBytesPerDevice)
        let unknown = text.replacingOccurrences(of: "\"optimizer_state\": \"bf16\"", with: "\"optimizer_state\": \"fp8\"")
        #expect(throws: InputError(.invalidValue, at: JSONPath([.key("options"), .key("optimizer_state")]),
                                   "unknown optimizer state \"fp8\"; known: fp32, bf16, fp32-weights")) {
            _ = try decode(unknown)
        }
    }

    @Test("the frameworks keep fp32 master weights: --emit runs bf16 optimizer state as fp32 (torchtitan: fp32 weights) and says so")
    func frameworksKeepMasterWeights() throws {
        let configuration = MegatronConfiguration(tensorParallel: 2, pipelineParallel: 1, options: TrainingOptions(optimizerState: .bf16))
        for framework in TrainingFramework.allCases {
            let (nearest, changes) = framework.expressible(configuration, chunkLayers: [2])
            #expect(nearest.options.optimizerState == (framework == .torchtitan ? .fp32Weights : .fp32))
            #expect(changes.contains { $0.contains("bf16 optimizer state") }, "\(framework)")
        }
    }

    @Test("Megatron-LM and NeMo keep bf16 weights beside an fp32 master copy: --emit runs fp32 weights as fp32 state and says so; torchtitan runs them")
    func frameworksWithFP32Weights() throws {
        let configuration = MegatronConfiguration(tensorParallel: 2, pipelineParallel: 1, options: TrainingOptions(optimizerState: .fp32Weights))
        for framework in TrainingFramework.allCases {
            let (nearest, changes) = framework.expressible(configuration, chunkLayers: [2])
            let mentions = changes.contains { $0.contains("fp32 weights") }
            if framework == .torchtitan {
                #expect(nearest.options.optimizerState == .fp32Weights && !mentions)
            } else {
                #expect(nearest.options.optimizerState == .fp32 && mentions, "\(framework)")
            }
        }
    }

    /// NeMo AutoModel's Qwen3-30B-A3B on 8 H100s (Docs/calibration/published-runs.json): its recipe casts the
    /// model to bf16 before building `torch.optim.Adam`, so the 18 bytes a parameter of fp32 master weights, fp32
    /// gradients and fp32 moments are 8, and the run fits in the 80 GiB it trained in.
    @Test("NeMo AutoModel's Qwen3-30B-A3B: bf16 weights, gradients and Adam state over 8 GPUs, and it fits")
    func automodelQwen3() throws {
        let replay = try #require(try CalibrationTests.report().runs.first { $0.run.id == "automodel-qwen3-30b-a3b-ep8" })
        #expect(replay.run.optimizerState == .bf16)
        var withMasterWeights = replay.run
        withMasterWeights.optimizerState = .fp32
        let fp32 = try CalibrationRun(withMasterWeights)
        let (rank, fp32Rank) = (try #require(replay.prediction.ranks.first), try #require(fp32.prediction.ranks.first))
        #expect(abs(fp32Rank.optimizerStateBytes / rank.optimizerStateBytes - 3) < 1e-9)
        #expect(abs((fp32.peakMemoryBytes - replay.peakMemoryBytes) - 8 * rank.optimizerStateBytes / 4) < 1e-3)
        #expect(replay.fitsInMemory && replay.peakMemoryBytes <= 80 * 1_073_741_824)
    }
}
