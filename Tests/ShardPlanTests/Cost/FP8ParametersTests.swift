import Foundation
import Testing
@testable import ShardPlan

/// FP8 parameters (`TrainingOptions.fp8Parameters`, Docs/cost-model.md, "FP8 parameters"): an FP8 linear layer's
/// weight kept in FP8 beside its master copy, written by the optimizer step, and gathered in FP8.
@Suite("FP8 parameters")
struct FP8ParametersTests {
    /// mlp-2 (two 4,096 x 16,384 weights, W = 67,108,864 parameters each, both linear layers in FP8) on one DGX H100,
    /// data-parallel over its 8 GPUs with `microBatchSize` samples of its 1,024 a microbatch.
    static func mlp2(_ options: TrainingOptions, microBatchSize: Int = 128) throws -> PlanPrediction {
        let graph = try ModelCatalog.model(id: "mlp-2")!.build()
        let cluster = try Cluster.preset(named: "dgx-h100")
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-h100", configuration:
            MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1, dataParallel: 8, microBatchSize: microBatchSize,
                                  options: options))
        return PlanEvaluator(cluster: cluster).evaluate(plan)
    }

    static let weight = 4096.0 * 16384

    /// 1,000 parameters sharded over 4 devices. Megatron's 18 bytes become 17: the FP8 weight is 1 byte where the
    /// 16-bit copy was 2, and the step's copy of the master weight writes 1 byte, not 2 (30 bytes become 29).
    @Test("1,000 FP8 weights over 4 devices: 1,000 weight bytes (not 2,000) under ZeRO-1, 250 under ZeRO-3, a 10,250-byte step (not 10,500)")
    func parameterState() {
        let zero1 = ParameterState(elements: 1000, dataParallel: 4, zeroStage: 1, fp8Weight: true)
        let bf16 = ParameterState(elements: 1000, dataParallel: 4, zeroStage: 1)
        #expect(zero1.weightBytes == 1000 && bf16.weightBytes == 2000)
        #expect(zero1.gradientBytes == bf16.gradientBytes && zero1.optimizerStateBytes == 3000)
        // (29 + 3 x 4) x 1,000 / 4 = 10,250 against (30 + 12) x 1,000 / 4 = 10,500.
        #expect(zero1.optimizerStepBytes == 10_250 && bf16.optimizerStepBytes == 10_500)
        #expect(ParameterState(elements: 1000, dataParallel: 4, zeroStage: 3, fp8Weight: true).weightBytes == 250)
        // fp32 weights are the master and stay; FSDP's SHARD_GRAD_OP keeps a gathered FP8 copy: 1,000 x (4/4 + 1).
        let fp32Weights = ParameterState(elements: 1000, dataParallel: 4, zeroStage: 1, optimizerState: .fp32Weights, fp8Weight: true)
        #expect(fp32Weights == ParameterState(elements: 1000, dataParallel: 4, zeroStage: 1, optimizerState: .fp32Weights))
        #expect(ParameterState(elements: 1000, dataParallel: 4, zeroStage: 2, optimizerState: .fp32Weights, fp8Weight: true).weightBytes == 2000)
        // Through options the weight is an FP8 one only where the options keep FP8 weights.
        #expect(ParameterState(elements: 1000, dataParallel: 4, zeroStage: 1, options: TrainingOptions(), fp8Weight: true) == bf16)
    }

    /// FP8LinearTests' 4096^3 GEMM (2 PFLOP/s x 0.75, 1 TB/s, two microbatches): TransformerEngine's weight
    /// cast-transpose (read 2, write 1 + 1) becomes a transpose of the FP8 weight (read 1, write 1), and of the FP8
    /// weight and transpose it caches only the transpose is held: the FP8 weight is the parameter.
    @Test("a 4096^3 FP8 GEMM with FP8 weights: the weight's 33.55 us cast becomes a 16.78 us transpose, its 2-byte copies 1 byte")
    func linearLayer() throws {
        var builder = GraphBuilder(name: "linear")
        let x = try builder.input("x", [8192, 4096], .bf16)
        let w = try builder.parameter("w", [4096, 4096])
        let y = try builder.einsum("y", "bd,df->bf", x, w)
        builder.output(try builder.add("loss", .reduce(.mean, axes: [0, 1], keepDimensions: false), [y]))
        let graph = try builder.build()
        let kernels = KernelModel(peakFLOPs: [.bf16: 1e15, .fp8: 2e15], memoryBandwidth: 1e12, multiprocessors: 1,
                                  bestMatmulEfficiency: 1, fp8MatmulEfficiency: 0.75, memoryEfficiency: 1, launchSeconds: 0)
        func cost(_ recipe: FP8Recipe, fp8Parameters: Bool) -> OperatorCost {
            OperatorCostModel(graph: graph, kernels: kernels, meshShape: [1], microbatches: 2, precision: .fp8, fp8Recipe: recipe,
                              fp8Parameters: fp8Parameters).cost(0, OpStrategy(indexOfAxis: [nil]))
        }
        let elements = 16_777_216.0
        let (cached, kept) = (cost(.tensorwise, fp8Parameters: false), cost(.tensorwise, fp8Parameters: true))
        // 4 bytes of 16,777,216 elements at 1 TB/s over two microbatches: 33.554432 us; 2 bytes: 16.777216 us.
        #expect(abs((cached.forwardSeconds - kept.forwardSeconds) - 16.777216e-6) < 1e-12)
        #expect(kept.backwardSeconds == cached.backwardSeconds)
        #expect(kept.fp8?.weightCopyBytes == elements && cached.fp8?.weightCopyBytes == 2 * elements)
        // Blockwise: the transpose carries its 128 x 128 blocks' scales, 4 bytes a block each way.
        let block = cost(.blockwise, fp8Parameters: true)
        #expect(abs((cost(.blockwise, fp8Parameters: false).forwardSeconds - block.forwardSeconds) - 16.777216e-6) < 1e-12)
        #expect(block.fp8?.weightCopyBytes == elements * (1 + 4.0 / (128 * 128)))
        // The rowwise recipe caches nothing (and `fp8ParametersConflict` refuses it): unchanged.
        #expect(cost(.rowwise, fp8Parameters: true) == cost(.rowwise, fp8Parameters: false))
    }

    /// ZeRO-3 over 8 GPUs, one microbatch: each device keeps 1/8 of each weight, gathers `mlp` (w1) before its forward
    /// and again before its backward pass and the unnamed layer (w2, the last) once, holds two gathered layers at
    /// once, and caches TransformerEngine's FP8 copies of both. Every one of those is half as large in FP8.
    @Test("mlp-2 under ZeRO-3 on 8 H100s: 570,425,344 weight bytes become 285,212,672; 402,653,184 gathered bytes become 201,326,592")
    func zeroThree() throws {
        let options = TrainingOptions(zeroStage: 3, precision: .fp8)
        var kept = options
        kept.fp8Parameters = true
        let (bf16, fp8) = (try Self.mlp2(options), try Self.mlp2(kept))
        // 16-bit: 2 x 2W / 8 sharded + 2 x 2W gathered (two layers) + 2 x 2W FP8 weight and transpose = 570,425,344.
        #expect(bf16.ranks[0].weightBytes == 2 * 2 * Self.weight / 8 + 2 * 2 * Self.weight + 2 * 2 * Self.weight)
        #expect(bf16.ranks[0].weightBytes == 570_425_344)
        // FP8: 2 x W / 8 + 2 x W gathered + 2 x W transposes = 285,212,672.
        #expect(fp8.ranks[0].weightBytes == 285_212_672)
        // Gathers: w1 twice and w2 once, (2 + 1) x W x 2 bytes against x 1 byte; the gradients stay 16-bit.
        #expect(bf16.communicationBytes[.allGather] == 402_653_184 && fp8.communicationBytes[.allGather] == 201_326_592)
        #expect(fp8.communicationBytes[.reduceScatter] == bf16.communicationBytes[.reduceScatter])
        #expect(fp8.iterationSeconds < bf16.iterationSeconds)
    }

    /// ZeRO-1 with the distributed optimizer, one microbatch: the gradients' all-reduce (2 x W x 2 bytes) is a
    /// reduce-scatter of 2-byte gradients and an all-gather of 1-byte weights, a ring moving an all-reduce of 1.5
    /// bytes an element. The step writes 1 byte an element less: 2W / 8 = 16,777,216 bytes a device.
    @Test("mlp-2 under ZeRO-1 on 8 H100s: the distributed optimizer's all-reduce 268,435,456 bytes becomes 201,326,592; the step streams 16,777,216 bytes less")
    func distributedOptimizer() throws {
        let options = TrainingOptions(zeroStage: 1, precision: .fp8)
        var kept = options
        kept.fp8Parameters = true
        let (bf16, fp8) = (try Self.mlp2(options), try Self.mlp2(kept))
        // Besides them the mean loss's 2-byte all-reduce.
        #expect(bf16.communicationBytes[.allReduce] == 268_435_456 + 2 && fp8.communicationBytes[.allReduce] == 201_326_592 + 2)
        // Weights 2 x 2W, FP8 copies 2 x 2W = 536,870,912; in FP8 2 x W and the transposes 2 x W = 268,435,456.
        #expect(bf16.ranks[0].weightBytes == 536_870_912 && fp8.ranks[0].weightBytes == 268_435_456)
        #expect(fp8.ranks[0].optimizerStateBytes == bf16.ranks[0].optimizerStateBytes)
        let kernels = KernelModel(device: try Cluster.preset(named: "dgx-h100").device)
        let streamed = kernels.streamSeconds(bytes: 16_777_216)
        #expect(abs((bf16.ranks[0].optimizerSeconds - fp8.ranks[0].optimizerSeconds) - streamed) < 1e-12)
    }

    /// ZeRO-2 with four microbatches: Megatron reduce-scatters each microbatch and gathers the updated weights once,
    /// 2 x W x 2 bytes, in FP8 2 x W x 1.
    @Test("mlp-2 under ZeRO-2 in 4 microbatches: the gather of the updated weights 268,435,456 bytes becomes 134,217,728")
    func zeroTwoGathersOnce() throws {
        let options = TrainingOptions(zeroStage: 2, precision: .fp8)
        var kept = options
        kept.fp8Parameters = true
        let (bf16, fp8) = (try Self.mlp2(options, microBatchSize: 32), try Self.mlp2(kept, microBatchSize: 32))
        #expect(bf16.communicationBytes[.allGather] == 268_435_456 && fp8.communicationBytes[.allGather] == 134_217_728)
        #expect(fp8.communicationBytes[.reduceScatter] == bf16.communicationBytes[.reduceScatter])
    }

    /// FSDP over fp32 weights (torchtitan's float8 all-gather): each shard is cast to FP8 before its gather (read 4,
    /// write 1 byte an element, not 4 + 2), and ZeRO-2's gathered copy kept through the backward pass is 1 byte.
    @Test("mlp-2 under ZeRO-2 over fp32 weights: the kept copy 2W x (4/8 + 2) becomes 2W x (4/8 + 1); each cast 5/6 of its bytes")
    func fsdpFloat8AllGather() throws {
        let options = TrainingOptions(zeroStage: 2, precision: .fp8, optimizerState: .fp32Weights)
        var kept = options
        kept.fp8Parameters = true
        let (bf16, fp8) = (try Self.mlp2(options), try Self.mlp2(kept))
        // 2W x 2.5 = 335,544,320 and 2W x 1.5 = 201,326,592, with the cached FP8 copies (2 x 2W, then 2W) beside them.
        #expect(bf16.ranks[0].weightBytes == 2 * Self.weight * 2.5 + 2 * 2 * Self.weight)
        #expect(fp8.ranks[0].weightBytes == 2 * Self.weight * 1.5 + 2 * Self.weight)
        #expect(bf16.communicationBytes[.allGather] == 268_435_456 && fp8.communicationBytes[.allGather] == 134_217_728)
    }

    /// The plan document records the option only when it is on, `score --plan` replays it, and a plan whose linear
    /// layers run in bf16 is refused at `options.fp8_params`.
    @Test("a plan with FP8 weights writes options.fp8_params and replays; with bf16 layers it is refused at options.fp8_recipe, a bad value at options.fp8_params")
    func planDocument() throws {
        let graph = try ModelCatalog.model(id: "mlp-2")!.build()
        let cluster = try Cluster.preset(named: "dgx-h100")
        func document(_ fp8Parameters: Bool) throws -> (text: String, prediction: PlanPrediction) {
            let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-h100", configuration:
                MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1, dataParallel: 8, microBatchSize: 128,
                                      options: TrainingOptions(zeroStage: 1, precision: .fp8, fp8Parameters: fp8Parameters)))
            let prediction = PlanEvaluator(cluster: cluster).evaluate(plan)
            return (plan.jsonText(prediction: prediction), prediction)
        }
        let (text, prediction) = try document(true)
        #expect(text.contains("\"fp8_params\": true"))
        #expect(try !document(false).text.contains("fp8_params"))
        let decoded = try TrainingOptionsFixtures.decode(text, graph: graph, clusterName: "dgx-h100")
        #expect(decoded.options.fp8Parameters)
        let replayed = PlanEvaluator(cluster: cluster).evaluate(decoded)
        #expect(replayed.iterationSeconds == prediction.iterationSeconds)
        #expect(replayed.peakMemoryBytesPerDevice == prediction.peakMemoryBytesPerDevice)
        // bf16 layers contradict the recipe first, read before fp8_params.
        for (edit, replacement, member) in [("\"precision\": \"fp8\"", "\"precision\": \"bf16\"", "fp8_recipe"),
                                            ("\"fp8_params\": true", "\"fp8_params\": 1", "fp8_params")] {
            let edited = text.replacingOccurrences(of: edit, with: replacement)
            #expect(edited != text)
            let error = #expect(throws: InputError.self) { _ = try TrainingOptionsFixtures.decode(edited, graph: graph, clusterName: "dgx-h100") }
            #expect(error?.path == JSONPath([.key("options"), .key(member)]), "\(error?.description ?? "")")
        }
        // Re-scored on A100s, which have no FP8 tensor cores, the plan is refused at its precision, as the command
        // line refuses --precision fp8 there.
        let a100 = try Cluster.preset(named: "dgx-a100-80g")
        let error = #expect(throws: InputError.self) {
            _ = try TrainingPlan(json: try JSONParser.parse(text), graph: graph, cluster: a100, clusterName: "dgx-a100-80g")
        }
        #expect(error?.path == JSONPath([.key("options"), .key("precision")]), "\(error?.description ?? "")")
        #expect(error?.description.contains("no FP8 tensor cores") == true)
    }

    @Test("the stacks that cannot keep FP8 weights are named: bf16 layers, rowwise scales, bf16 optimizer state")
    func conflicts() {
        #expect(TrainingOptions(precision: .fp8).fp8ParametersConflict(flag: "--fp8-params") == nil)
        #expect(TrainingOptions(fp8Parameters: true).fp8ParametersConflict(flag: "--fp8-params")?.contains("--precision fp8 or auto") == true)
        #expect(TrainingOptions(precision: .auto, fp8Recipe: .rowwise, fp8Parameters: true)
            .fp8ParametersConflict(flag: "fp8_params")?.contains("\"fp8_recipe\": \"tensorwise\" or \"blockwise\"") == true)
        #expect(TrainingOptions(precision: .fp8, fp8Parameters: true, optimizerState: .bf16)
            .fp8ParametersConflict(flag: "--fp8-params")?.contains("--optimizer-state fp32 or fp32-weights") == true)
        #expect(TrainingOptions(precision: .auto, fp8Recipe: .blockwise, fp8Parameters: true, optimizerState: .fp32Weights)
            .fp8ParametersConflict(flag: "--fp8-params") == nil)
    }

    /// NeMo 24.07's Llama 2 7B FP8 row (8 H100s, TP 1, the distributed optimizer) with `fp8_params`: each of the
    /// 32 layers' linear weights (4 x 4,096^2 + 3 x 4,096 x 11,008 = 202,375,168) is 1 byte, not 2, and only its FP8
    /// transpose is cached beside it: 2 bytes a weight less, 12,952,010,752 bytes a device. A row without the member
    /// replays as before; a non-boolean, or FP8 weights in a bf16 row, is refused at rows[i].fp8_params.
    @Test("a calibration row's fp8_params: Llama 2 7B on 8 H100s holds 12,952,010,752 weight bytes less; a bad value is refused at rows[i].fp8_params")
    func calibrationRow() throws {
        let (rows, index, row) = try PublishedRowFixtures.row("nemo2407-llama2-7b-fp8")
        guard case .object(let bf16Row) = rows[0] else { Issue.record("unexpected document"); return }
        let replayed = PublishedRowFixtures.replayed
        var kept = row
        kept["fp8_params"] = .bool(true)
        let (cached, fp8) = (try replayed(row), try replayed(kept))
        #expect(!cached.run.fp8Parameters && fp8.run.fp8Parameters && fp8.plan.options.fp8Parameters)
        #expect(cached.prediction.ranks[0].weightBytes - fp8.prediction.ranks[0].weightBytes == 12_952_010_752)
        #expect(fp8.predictedSeconds < cached.predictedSeconds)
        for (base, value) in [(row, JSONValue.string("yes")), (bf16Row, .bool(true))] {
            var edited = base
            edited["fp8_params"] = value
            let error = PublishedRowFixtures.refusal(of: edited, after: rows[index])
            #expect(error?.path.description == "rows[1].fp8_params", "\(error?.description ?? "")")
        }
    }
}
