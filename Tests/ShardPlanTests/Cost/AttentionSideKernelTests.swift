import Testing
@testable import ShardPlan

/// The memory-bound kernels an attention kernel's backward call launches besides its main kernel
/// (`AttentionKernel.backwardSideKernelBytes`), on a device with round figures: 1 TB/s at 50% achievable, 10 us a
/// kernel. One sequence of 1,024 tokens, 8 query heads of 128: 1,048,576 query elements and 8,192 rows, 2 bytes each.
@Suite("Attention backward side kernels")
struct AttentionSideKernelTests {
    /// The backward seconds of an attention op beyond its main kernel, with `keyValueHeads` heads of k and v.
    func sideSeconds(_ kernel: AttentionKernel, on generation: GPUGeneration, keyValueHeads: Int = 8) throws -> Double {
        let kernels = KernelModel(peakFLOPs: [.bf16: 100e12], memoryBandwidth: 1e12, multiprocessors: 100,
                                  bestMatmulEfficiency: 1, memoryEfficiency: 0.5, attentionKernel: kernel,
                                  generation: generation, launchSeconds: 10e-6)
        var builder = GraphBuilder(name: "attention")
        let q = try builder.parameter("q", [1, 1024, 8, 128])
        let k = try builder.parameter("k", [1, 1024, keyValueHeads, 128])
        let v = try builder.parameter("v", [1, 1024, keyValueHeads, 128])
        builder.output(try builder.attention("attention", q: q, k: k, v: v, causal: true))
        let graph = try builder.build()
        let cost = OperatorCostModel(graph: graph, kernels: kernels, meshShape: [1], microbatches: 1)
            .cost(0, OpStrategy(indexOfAxis: [nil]))
        let main = kernels.attentionSeconds(denseFLOPs: 2.5 * 4 * 1024 * 1024 * 8 * 128, headDimension: 128, keyLength: 1024,
                                            causal: true, dtype: .bf16, backward: true)
        return cost.backwardSeconds - main
    }

    @Test("FlashAttention-2: the preprocess (O and dO read, row sums written, fp32 dq accumulator cleared) and the dq conversion: 2 kernels, 14 bytes a query element")
    func flashAttention2() throws {
        // Preprocess 2 x 2 + 4 = 8 bytes an element and 4 a row: 8,421,376 bytes; conversion 4 + 2 = 6 bytes an
        // element: 6,291,456. 20 us + 14,712,832 / 0.5e12 s = 49.426 us.
        #expect(abs(try sideSeconds(.flash2, on: .ampere) - 49.425664e-6) <= 1e-12)
        // FlashAttention-3 asked for on an A100 runs FlashAttention-2.
        #expect(abs(try sideSeconds(.flash3, on: .ampere) - 49.425664e-6) <= 1e-12)
    }

    @Test("FlashAttention-2 with 2 key/value heads: every query head's key and value gradients summed per group, 2 kernels more")
    func flashAttention2GroupedQuery() throws {
        // Each sum reads 1,048,576 and writes 262,144 two-byte elements: 2 x 2,621,440 bytes, 2 x 10 us.
        let extra = 20e-6 + 5_242_880 / 0.5e12
        #expect(abs(try sideSeconds(.flash2, on: .ampere, keyValueHeads: 2) - (49.425664e-6 + extra)) <= 1e-12)
    }

    @Test("FlashAttention-3 on Hopper: the same two kernels, its preprocess also reading the log-sum-exp and writing its base-2 copy; grouped heads add two cleared fp32 accumulators and their conversions")
    func flashAttention3() throws {
        // 8 bytes a row more than FlashAttention-2's preprocess: 65,536 bytes.
        #expect(abs(try sideSeconds(.flash3, on: .hopper) - (49.425664e-6 + 65_536 / 0.5e12)) <= 1e-12)
        // 2 key/value heads, 262,144 elements: clears of 4 bytes an element and conversions of 6, four kernels.
        let grouped = 40e-6 + 262_144 * (4 + 4 + 6 + 6) / 0.5e12
        #expect(abs(try sideSeconds(.flash3, on: .hopper, keyValueHeads: 2) - (49.425664e-6 + 65_536 / 0.5e12 + grouped)) <= 1e-12)
    }

    @Test("the Triton kernel: its preprocess, the autotuner's zero-fill of the accumulator and the final copy, 3 kernels of the same 14 bytes an element; cuDNN none")
    func tritonAndCuDNN() throws {
        // Preprocess 4 bytes an element and 4 a row, zero-fill 4, copy 6: 14,712,832 bytes, 30 us.
        #expect(abs(try sideSeconds(.triton, on: .ampere) - (30e-6 + 14_712_832 / 0.5e12)) <= 1e-12)
        #expect(abs(try sideSeconds(.cudnn, on: .hopper)) <= 1e-15)
    }
}
