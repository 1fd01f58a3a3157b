import Testing
@testable import ShardPlan

/// SPEC's mlp-2 (x [1024, 4096] through a 4096-16384-4096 GELU MLP, mean loss) as one plain training step on
/// one A100-SXM4-80GB: tp = pp = dp = 1, one microbatch of the whole batch.
@Suite("Single-device training step")
struct SingleDeviceStepTests {
    static let clusterName = "single-a100-80g"

    func prediction() throws -> (PlanPrediction, KernelModel) {
        let graph = try #require(ModelCatalog.model(id: "mlp-2")).build()
        let cluster = try Cluster.preset(named: Self.clusterName)
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: Self.clusterName, configuration:
            MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1, microBatchSize: 1024))
        return (PlanEvaluator(cluster: cluster).evaluate(plan), KernelModel(device: cluster.device))
    }

    @Test("the first product, 1024 x 16384 x 4096, runs 512 tiles of 256 x 128 in 5 waves on 108 SMs: 0.5528 ms")
    func firstProductByHand() throws {
        let (_, kernels) = try prediction()
        // 5 waves x 108 SMs x 256 x 128 x 2 x 4096 = 1.4495e11 padded FLOPs at 271.2 TFLOP/s (the A100's best
        // measured matmul) x 4096 / 4160 (depth) = 2.6703e14 FLOP/s: 0.54283 ms, plus 10 us for the kernel.
        let seconds = kernels.matmulSeconds(batch: 1, m: 1024, n: 16384, k: 4096, dtype: .bf16)
        let expected = 5 * 108 * 256 * 128 * 2 * 4096 / (271.2e12 * 4096 / 4160) + 10e-6
        #expect(abs(seconds - expected) <= 1e-12)
        #expect(abs(seconds - 0.5528e-3) <= 0.0001e-3)
    }

    @Test("forward = two products + GELU + mean; backward = three products (x needs no gradient) + twice the memory-bound time")
    func stepByHand() throws {
        let (prediction, kernels) = try prediction()
        let rank = try #require(prediction.ranks.first)
        #expect(prediction.ranks.count == 1)
        // GELU reads h and writes a, each 1024 x 16384 bf16 (33554432 bytes); the mean reads y (8388608 bytes)
        // and writes one bf16 scalar.
        let gelu = kernels.memorySeconds(bytes: 2 * 33_554_432)
        let mean = kernels.memorySeconds(bytes: 8_388_608 + 2)
        let forward = kernels.matmulSeconds(batch: 1, m: 1024, n: 16384, k: 4096, dtype: .bf16)
            + gelu + kernels.matmulSeconds(batch: 1, m: 1024, n: 4096, k: 16384, dtype: .bf16) + mean
        // dW1 = x^T dh; da = dy W2^T and dW2 = a^T dy; the fp32 gradient buffer takes 8 bytes per parameter.
        let parameters = 2.0 * 4096 * 16384
        let accumulation = parameters * 8 / (2039e9 * 0.85)
        let backward = kernels.matmulSeconds(batch: 1, m: 4096, n: 16384, k: 1024, dtype: .bf16)
            + kernels.matmulSeconds(batch: 1, m: 1024, n: 16384, k: 4096, dtype: .bf16)
            + kernels.matmulSeconds(batch: 1, m: 16384, n: 4096, k: 1024, dtype: .bf16)
            + 2 * (gelu + mean) + accumulation
        #expect(abs(rank.forwardSeconds - forward) <= 1e-12)
        #expect(abs(rank.backwardSeconds - backward) <= 1e-12)
        // Adam moves 42 bytes per parameter in four multi-tensor passes (norm, Adam, copy, reset), each launching a
        // kernel per 36 tensors: the two weights' share is 2 x 4/36 launches; nothing to synchronise.
        let optimizer = parameters * 42 / (2039e9 * 0.85) + 2 * (4.0 / 36) * kernels.launchSeconds
        #expect(abs(rank.optimizerSeconds - optimizer) <= 1e-12)
        #expect(rank.exposedGradientSynchronizationSeconds == 0)
        #expect(abs(prediction.iterationSeconds - (forward + backward + optimizer)) <= 1e-12)
        // 1.30 ms forward, 2.40 ms backward and 3.25 ms of optimizer step (134 M parameters x 42 bytes at
        // 1733 GB/s): 6.95 ms, so 0.82 TFLOP of model FLOPs (3 x 2 x 2 x 1024 x 4096 x 16384) reach 38% of peak.
        #expect(abs(prediction.iterationSeconds - 6.950e-3) <= 0.001e-3)
        #expect(abs(prediction.modelFLOPsUtilization - 0.3805) <= 0.0001)
    }

    @Test("memory: 18 bytes per parameter, the activations the backward pass reads, and the fixed 3 GB")
    func memoryByHand() throws {
        let (prediction, _) = try prediction()
        let rank = try #require(prediction.ranks.first)
        #expect(rank.weightBytes + rank.gradientBytes + rank.optimizerStateBytes == 18 * 2 * 4096 * 16384)
        #expect(prediction.fitsInMemory)
        #expect(rank.peakMemoryBytes == rank.weightBytes + rank.gradientBytes + rank.optimizerStateBytes
                + rank.activationBytes + TrainingOptions.frameworkOverheadBytes)
    }
}
