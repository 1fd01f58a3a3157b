import Testing
@testable import ShardPlan

/// A bf16 gradient buffer (NeMo's `optim.grad_sync_dtype: bf16`) against Megatron-LM's fp32 `main_grad`.
@Suite("Gradient buffer precision")
struct GradientPrecisionTests {
    @Test("per parameter: bf16 gradients take 2 bytes, their accumulation moves 4 and the optimizer step 36")
    func parameterState() {
        let fp32 = ParameterState(elements: 1000, dataParallel: 4, zeroStage: 1)
        let bf16 = ParameterState(elements: 1000, dataParallel: 4, zeroStage: 1, gradientPrecision: .bf16)
        #expect(fp32.gradientBytes == 4000 && bf16.gradientBytes == 2000)
        #expect(fp32.gradientAccumulationBytes == 8000 && bf16.gradientAccumulationBytes == 4000)
        // ZeRO-1 shards the step over 4 devices: 42 and 42 - 3 x 2 bytes a parameter.
        #expect(fp32.optimizerStepBytes == 10_500 && bf16.optimizerStepBytes == 9_000)
        #expect(bf16.weightBytes == fp32.weightBytes && bf16.optimizerStateBytes == fp32.optimizerStateBytes)
        // ZeRO-2 shards the bf16 gradients too.
        #expect(ParameterState(elements: 1000, dataParallel: 4, zeroStage: 2, gradientPrecision: .bf16).gradientBytes == 500)
    }

    @Test("mlp-2 on one A100: bf16 gradients save 2 bytes a parameter of memory and 4 of backward traffic")
    func singleDevice() throws {
        func rank(_ precision: GradientPrecision) throws -> PlanPrediction.Rank {
            try TrainingOptionsFixtures.mlp2Rank(TrainingOptions(gradientPrecision: precision))
        }
        let (fp32, bf16) = (try rank(.fp32), try rank(.bf16))
        let parameters = 2.0 * 4096 * 16384
        #expect(bf16.gradientBytes == 2 * parameters && fp32.gradientBytes == 4 * parameters)
        #expect(fp32.peakMemoryBytes - bf16.peakMemoryBytes == 2 * parameters)
        // The accumulation streams at 85% of the A100's 2039 GB/s; one microbatch.
        #expect(abs((fp32.backwardSeconds - bf16.backwardSeconds) - parameters * 4 / (2039e9 * 0.85)) <= 1e-12)
        #expect(bf16.forwardSeconds == fp32.forwardSeconds)
    }

    @Test("a plan with bf16 gradients writes options.gradient_precision, and score --plan replays it; an unknown one is refused")
    func planDocument() throws {
        let graph = try #require(ModelCatalog.model(id: "gpt-tiny")).build()
        let cluster = try Cluster.preset(named: "dgx-a100-80g")
        let evaluator = PlanEvaluator(cluster: cluster)
        func document(_ precision: GradientPrecision) throws -> (text: String, prediction: PlanPrediction) {
            let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g", configuration:
                MegatronConfiguration(tensorParallel: 2, pipelineParallel: 1, options: TrainingOptions(gradientPrecision: precision)))
            let prediction = evaluator.evaluate(plan)
            return (plan.jsonText(prediction: prediction), prediction)
        }
        func decode(_ text: String) throws -> TrainingPlan {
            try TrainingOptionsFixtures.decode(text, graph: graph, clusterName: "dgx-a100-80g")
        }
        let (bf16, prediction) = try document(.bf16)
        #expect(bf16.contains("\"gradient_precision\": \"bf16\""))
        // fp32, the default, is left out, so plans written before read as before.
        #expect(try !document(.fp32).text.contains("gradient_precision"))
        let decoded = try decode(bf16)
        #expect(decoded.options.gradientPrecision == .bf16)
        let replayed = evaluator.evaluate(decoded)
        #expect(replayed.peakMemoryBytesPerDevice == prediction.peakMemoryBytesPerDevice)
        #expect(replayed.iterationSeconds == prediction.iterationSeconds)
        #expect(prediction.peakMemoryBytesPerDevice < evaluator.evaluate(try decode(document(.fp32).text)).peakMemoryBytesPerDevice)
        let unknown = bf16.replacingOccurrences(of: "\"gradient_precision\": \"bf16\"", with: "\"gradient_precision\": \"fp16\"")
        #expect(throws: InputError(.invalidValue, at: JSONPath([.key("options"), .key("gradient_precision")]),
                                   "unknown gradient precision \"fp16\"; known: fp32, bf16")) {
            _ = try decode(unknown)
        }
    }

    /// Narayanan et al.'s SC21 scripts train with `--fp16` and keep their gradients in fp16 (`grad_sync_dtype: fp16`):
    /// a 16-bit buffer, priced as the bf16 one and half the fp32 one; a name the replay does not know is refused with
    /// the three it does.
    @Test("an fp16 gradient buffer replays as the bf16 one: 2 bytes a parameter, half of fp32's")
    func fp16GradientBuffer() throws {
        let (rows, index, row) = try PublishedRowFixtures.row("narayanan21-T1-1.7B")
        #expect(row["grad_sync_dtype"] == .string("fp16"))
        var bf16 = row, fp32 = row, unknown = row
        bf16["grad_sync_dtype"] = .string("bf16")
        fp32["grad_sync_dtype"] = nil
        unknown["grad_sync_dtype"] = .string("fp8")
        let fp16Replay = try PublishedRowFixtures.replayed(row), bf16Replay = try PublishedRowFixtures.replayed(bf16)
        let fp32Replay = try PublishedRowFixtures.replayed(fp32)
        #expect(fp16Replay.prediction.iterationSeconds == bf16Replay.prediction.iterationSeconds)
        #expect(fp16Replay.peakMemoryBytes == bf16Replay.peakMemoryBytes)
        let gradients = try #require(fp16Replay.prediction.ranks.first).gradientBytes
        let fp32Gradients = try #require(fp32Replay.prediction.ranks.first).gradientBytes
        #expect(gradients == fp32Gradients / 2)
        let refusal = PublishedRowFixtures.refusal(of: unknown, after: rows[index])
        #expect(refusal?.path.description == "rows[1].grad_sync_dtype")
        #expect(refusal?.message.contains("unknown grad_sync_dtype \"fp8\"; known: fp32, bf16, fp16") == true, "\(refusal?.description ?? "")")
    }

    /// NeMo 24.07's Llama 3 8B on one DGX H100 with CP 2, DP 4, FP8 and `grad_sync_dtype=bf16`
    /// (Docs/calibration/published-runs.json). 8,030,261,248 parameters: embedding and output 128256 x 4096 each
    /// (525,336,576), 32 layers of q 4096^2, k and v 4096 x 1024, o 4096^2, gate, up and down 3 x 4096 x 14336 and
    /// two norms of 4096 (218,112,000), the final norm 4096. Of these, the 32 x 218,103,808 = 6,979,321,856 in
    /// the layers' linear layers run in FP8 (the output layer stays bf16, as in Megatron-Core).
    @Test("NeMo's Llama 3 8B with CP 2: bf16 weights and gradients, cached FP8 weight and transpose, Adam state over DP x CP = 8")
    func llama3WithContextParallelism() throws {
        let replay = try #require(try CalibrationTests.report().runs.first { $0.run.id == "nemo2407-llama3-8b-fp8-cp2" })
        let rank = try #require(replay.prediction.ranks.first)
        let parameters = 8_030_261_248.0, linear = 6_979_321_856.0
        #expect(rank.weightBytes == 2 * parameters + 2 * linear)
        #expect(rank.gradientBytes == 2 * parameters)
        #expect(rank.optimizerStateBytes == 12 * parameters / 8)
        // 30.02 + 16.06 + 12.05 GB of model state, 16.5 GB of activations for 4,096 of the 8,192 tokens (the
        // fused SwiGLU recomputes silu(gate): 32 x 4,096 x 14,336 x 2 = 3.76 GB fewer than an eager step keeps)
        // and 3 GB: 77.6 GB; Megatron's loss keeps its fp32 softmax of the 4,096 x 128,256 logits, 2 bytes an
        // element more than the bf16 logits, and casts its gradient back to bf16 (2 more): 2.1 GB, 79.7 GB, within
        // the 80 GiB (85.9 GB) the run had.
        let logits = 4096.0 * 128_256
        #expect(abs(replay.peakMemoryBytes - (81.39e9 - 32 * 4096 * 14336 * 2 + logits * (2 + 2))) <= 0.01e9)
        #expect(replay.fitsInMemory)
    }
}
