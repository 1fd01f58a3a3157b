import Testing
@testable import ShardPlan

/// A GPU with round figures: 100 TFLOP/s bf16 on 100 multiprocessors, 1 TB/s, no efficiency loss and free
/// launches, so every time below can be worked out from the tile table by hand.
private let roundGPU = KernelModel(peakFLOPs: [.bf16: 100e12], memoryBandwidth: 1e12, multiprocessors: 100,
                                   bestMatmulEfficiency: 1, memoryEfficiency: 1, launchSeconds: 0)

private func close(_ actual: Double, _ expected: Double, relative: Double = 1e-9) -> Bool {
    abs(actual - expected) <= relative * abs(expected)
}

@Suite("Kernel model")
struct KernelCostTests {
    /// k / (k + 64) for k = 8192: the reduction-depth efficiency of every product below.
    let depth = 8192.0 / 8256

    @Test("a 25600 x 1280 x 8192 product fills 10 whole waves of 256 x 128 tiles: efficiency k / (k + 64) = 0.992")
    func wellShapedProductReachesPeak() {
        let efficiency = roundGPU.matmulEfficiency(m: 25600, n: 1280, k: 8192, dtype: .bf16)
        #expect(close(efficiency, depth))
        #expect(efficiency > 0.99)
    }

    @Test("101 tiles of 256 x 128 on 100 multiprocessors: 128 x 64 tiles win with 404 tiles in 5 waves, 0.8 x 404/500")
    func partialLastWave() {
        // 256 x 128 tiles: 101 tiles, 2 waves, 101/200 = 0.505 of peak. 128 x 128 (0.92): 202 tiles in 3 waves,
        // 0.92 x 202/300 = 0.619. 128 x 64 or 64 x 128 (0.80): 404 tiles in 5 waves, 0.80 x 404/500 = 0.646.
        let efficiency = roundGPU.matmulEfficiency(m: 101 * 256, n: 128, k: 8192, dtype: .bf16)
        #expect(close(efficiency, 0.8 * 404 / 500 * depth))
        let exact = roundGPU.matmulEfficiency(m: 100 * 256, n: 128, k: 8192, dtype: .bf16)
        #expect(close(exact, depth))
    }

    @Test("GPT-2's unpadded vocabulary: 25600 x 50257 x 768 takes twice the compute of 25600 x 50304 x 768 (the same 100 x 393 tiles)")
    func unalignedDimensionIsSlower() {
        // Both products run 100 x 393 tiles of 256 x 128 (columns 50257 and 50304 both round up to 393 tiles of
        // 128) in 393 waves on 100 multiprocessors; the unaligned one pays KernelModel.unalignedMatmulSlowdown = 2.
        let aligned = roundGPU.matmulSeconds(batch: 1, m: 25600, n: 50304, k: 768, dtype: .bf16)
        let unaligned = roundGPU.matmulSeconds(batch: 1, m: 25600, n: 50257, k: 768, dtype: .bf16)
        let expected = 393.0 * 100 * 256 * 128 * 2 * 768 / (100e12 * (768.0 / 832))
        #expect(close(aligned, expected))
        #expect(close(unaligned, 2 * expected))
        // 16-byte vectors: 8 elements of bf16, 16 of fp8, 4 of fp32, in the columns or in the depth (the input
        // gradient's product); the rows (tokens) do not matter. A caller that knows the layout says so.
        #expect(KernelModel.fillsVectors(50304, dtype: .bf16) && !KernelModel.fillsVectors(50257, dtype: .bf16))
        #expect(!KernelModel.fillsVectors(50312, dtype: .fp8) && KernelModel.fillsVectors(50308, dtype: .f32))
        #expect(KernelModel.fillsVectors(2, dtype: .f32) && !KernelModel.fillsVectors(6, dtype: .f32))
        #expect(close(roundGPU.matmulSeconds(batch: 1, m: 25600, n: 768, k: 50257, dtype: .bf16),
                      2 * roundGPU.matmulSeconds(batch: 1, m: 25600, n: 768, k: 50257, dtype: .bf16, aligned: true)))
        #expect(close(roundGPU.matmulSeconds(batch: 1, m: 25600, n: 50257, k: 768, dtype: .bf16, aligned: true), expected))
        #expect(roundGPU.matmulSeconds(batch: 1, m: 25601, n: 50304, k: 768, dtype: .bf16)
                < roundGPU.matmulSeconds(batch: 1, m: 25600, n: 50257, k: 768, dtype: .bf16))
    }

    @Test("a 64 x 64 x 64 product runs one 64 x 64 tile for a whole wave: 0.62 x (64/128) / 100 = 0.0031 of peak")
    func tinyProductIsSlowPerFLOP() {
        let tiny = roundGPU.matmulEfficiency(m: 64, n: 64, k: 64, dtype: .bf16)
        #expect(close(tiny, 0.62 * 0.5 / 100))
        #expect(tiny < roundGPU.matmulEfficiency(m: 25600, n: 1280, k: 8192, dtype: .bf16) / 100)
    }

    @Test("a 1 x 12800 x 8192 product is bound by reading its weight: 209757184 bytes at 1 TB/s")
    func skinnyProductHitsTheMemoryFloor() {
        // Bytes: (1 x 8192 + 8192 x 12800 + 1 x 12800) x 2 = 209757184, 2.098e-4 s. The best compute time is
        // 100 tiles of 64 x 128 in one wave: 100 x 64 x 128 x 2 x 8192 / (100e12 x 0.8 x 0.99225) = 1.691e-4 s.
        let seconds = roundGPU.matmulSeconds(batch: 1, m: 1, n: 12800, k: 8192, dtype: .bf16)
        #expect(close(seconds, 209_757_184 / 1e12))
        #expect(close(seconds, roundGPU.memorySeconds(bytes: 209_757_184)))
    }

    @Test("batched products quantise over the batch too: 25 products of 512 x 256, 4 tiles each, fill one wave")
    func batchFillsAWave() {
        // Compute 25 x 2 x 512 x 256 x 8192 / (100e12 x 0.992) = 5.41e-4 s; bytes 25 x (512 x 8192 + 8192 x 256
        // + 512 x 256) x 2 = 3.21e8, 3.21e-4 s. (100 products of 256 x 128 would be memory bound: 6.36e-4 s.)
        #expect(close(roundGPU.matmulEfficiency(batch: 25, m: 512, n: 256, k: 8192, dtype: .bf16), depth))
        let memoryBound = roundGPU.matmulEfficiency(batch: 100, m: 256, n: 128, k: 8192, dtype: .bf16)
        let computeSeconds: Double = 2 * 100 * 256 * 128 * 8192 / 100e12
        let memorySeconds: Double = 635_699_200 / 1e12
        #expect(close(memoryBound, computeSeconds / memorySeconds))
    }

    @Test("a streaming kernel moves its bytes at the achievable bandwidth plus one launch")
    func memoryBound() {
        let launched = KernelModel(peakFLOPs: [.bf16: 100e12], memoryBandwidth: 2e12, multiprocessors: 100,
                                   bestMatmulEfficiency: 1, memoryEfficiency: 0.5, launchSeconds: 4e-6)
        // 1e9 / (2e12 x 0.5) = 1e-3 s, plus 4 us.
        #expect(close(launched.memorySeconds(bytes: 1e9), 1.004e-3))
        #expect(launched.memorySeconds(bytes: 0) == 0)
    }

    @Test("f32 products use the tf32 peak when given, else the bf16 one")
    func peakByType() {
        var model = roundGPU
        #expect(model.peak(for: .f32) == 100e12)
        model.peakFLOPs[.tf32] = 50e12
        #expect(model.peak(for: .f32) == 50e12)
    }

    @Test("a device without bf16 units runs bf16 at the rate its cluster file's other types give, as DeviceSpec says, not at 1 TFLOP/s")
    func peakOfUnlistedType() {
        for peaks: [DType: Double] in [[.f32: 19.5e12], [.fp8: 600e12], [.i8: 600e12, .f32: 30e12]] {
            let device = DeviceSpec(name: "custom", memoryBytes: 80e9, peakFLOPsPerSecond: peaks, memoryBandwidth: 2e12)
            let kernels = KernelModel(device: device)
            for dtype in [DType.bf16, .f16, .fp8, .f32] {
                #expect(kernels.peak(for: dtype) == device.peakFLOPsPerSecond(for: dtype), "\(peaks) \(dtype)")
            }
        }
    }

    @Test("GPT-3 175B's QKV slice at tp = 8 on an H100, 2048 x 4608 x 12288: 576 tiles of 128 x 128 in 5 waves beat 288 of 256 x 128 in 3")
    func tensorParallelSliceOnH100() throws {
        let kernels = KernelModel(device: try Cluster.preset(named: "single-h100").device)
        // 256 x 128: 8 x 36 = 288 tiles on 132 SMs, 3 waves filled to 72.7%. 128 x 128 (0.92): 16 x 36 = 576 tiles,
        // 5 waves filled to 87.3%, 0.803 of the large tile's rate: it wins. 128 x 64 (0.80): 1152 tiles in 9 waves,
        // 0.776. At 794.5 TFLOP/s (the H100's best measured) x 0.92 x 12288 / 12352, plus 10 us: 0.3755 ms.
        let seconds = kernels.matmulSeconds(batch: 1, m: 2048, n: 4608, k: 12288, dtype: .bf16)
        let paddedFLOPs: Double = 5 * 132 * 128 * 128 * 2 * 12288
        let rate: Double = 794.5e12 * 0.92 * 12288 / 12352
        let expected = paddedFLOPs / rate + 10e-6
        #expect(close(seconds, expected))
        #expect(abs(seconds - 0.3755e-3) <= 0.0001e-3)
        // 62% of the 989.4 TFLOP/s peak: a third of a wave lost to quantisation.
        #expect(abs(kernels.matmulEfficiency(m: 2048, n: 4608, k: 12288, dtype: .bf16) - 0.624) <= 0.001)
    }

    /// OpenXLA's measured bf16 GEMM table for sm_90 (tensorflow/tensorflow
    /// third_party/xla/xla/service/gpu/model/matmul_interpolator_data.h at 372d578b, key "bf16xbf16->bf16"): 4
    /// products of 4096 rows each. The kernel model with a compiled step's launch cost (a device-side time, as the
    /// table's) is within 8% of every entry with columns and depth of 1024-4096, and slower than measured on
    /// most: Hopper's small products are not what keeps the H100 rows fast (Docs/cost-model.md, "Issue 14, eighth
    /// pass").
    @Test("H100 products of 4 x 4096 rows with 1024-4096 columns and depth: within 8% of OpenXLA's measured sm_90 table")
    func hopperProductsAgainstMeasuredTable() throws {
        var kernels = KernelModel(device: try Cluster.preset(named: "single-h100").device)
        kernels.launchSeconds = KernelModel.compiledLaunchSeconds
        let measuredTFLOPs: [Double: [Double: Double]] = [  // columns -> depth -> TFLOP/s
            1024: [1024: 673.8, 2048: 720.5, 4096: 777.6],
            2048: [1024: 687.9, 2048: 759.3, 4096: 808.7],
            4096: [1024: 725.5, 2048: 764.6, 4096: 793.1],
        ]
        var slower = 0
        for (n, row) in measuredTFLOPs {
            for (k, measured) in row {
                let seconds = kernels.matmulSeconds(batch: 4, m: 4096, n: n, k: k, dtype: .bf16)
                let predicted = 2 * 4 * 4096 * n * k / seconds / 1e12
                #expect(abs(predicted / measured - 1) <= 0.08, "\(n) x \(k): \(predicted) against \(measured)")
                if predicted < measured { slower += 1 }
            }
        }
        #expect(slower >= 7)
    }
}
