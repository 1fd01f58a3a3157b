/// Predicts how long one GPU kernel takes from its shape: matrix products by tile and wave quantisation
/// over the GPU's multiprocessors, fused attention by its own efficiency, and memory-bound kernels by bytes
/// moved over achievable memory bandwidth. Every constant's source is in Docs/cost-model.md.
public struct KernelModel: Sendable, Equatable {
    /// Dense peak FLOP/s of the tensor cores by element type.
    public var peakFLOPs: [DType: Double]
    /// Peak memory bandwidth in bytes per second.
    public var memoryBandwidth: Double
    /// Number of streaming multiprocessors (the unit of wave quantisation).
    public var multiprocessors: Int
    /// The best fraction of peak a large, well-shaped matrix product reaches (measured maximum achievable
    /// matmul FLOP/s over peak).
    public var bestMatmulEfficiency: Double
    /// The same for FP8 products, as a fraction of the FP8 peak (FP8 GEMMs reach a smaller share of their
    /// doubled peak: 70.9% against bf16's 80.3% on an H100).
    public var fp8MatmulEfficiency: Double
    /// The fraction of peak memory bandwidth a streaming kernel reaches.
    public var memoryEfficiency: Double
    /// The fused attention kernel the training stack runs (`KernelModel+Attention.swift`).
    public var attentionKernel: AttentionKernel
    /// The GPU's generation, which sets what each attention kernel reaches.
    public var generation: GPUGeneration
    /// Fixed cost of launching one kernel, in seconds.
    public var launchSeconds: Double
    /// The name of the device whose figures made this model (`KernelModel(device:)`); nil for a model built from
    /// figures alone. `PlanEvaluator.evaluate(checking:)` refuses a plan on another device; a calibrated model made
    /// from a device and then adjusted keeps it.
    public var deviceName: String?

    public init(peakFLOPs: [DType: Double], memoryBandwidth: Double, multiprocessors: Int,
                bestMatmulEfficiency: Double, fp8MatmulEfficiency: Double? = nil,
                memoryEfficiency: Double = KernelModel.defaultMemoryEfficiency,
                attentionKernel: AttentionKernel = .flash2, generation: GPUGeneration = .other,
                launchSeconds: Double = KernelModel.defaultLaunchSeconds) {
        precondition(!peakFLOPs.isEmpty, "a kernel model knows at least one peak throughput")
        self.peakFLOPs = peakFLOPs
        self.memoryBandwidth = memoryBandwidth
        self.multiprocessors = multiprocessors
        self.bestMatmulEfficiency = bestMatmulEfficiency
        self.fp8MatmulEfficiency = fp8MatmulEfficiency ?? bestMatmulEfficiency * Self.fp8ToBF16MatmulEfficiency
        self.memoryEfficiency = memoryEfficiency
        self.attentionKernel = attentionKernel
        self.generation = generation
        self.launchSeconds = launchSeconds
    }

    /// Streaming kernels (copies, elementwise) reach about 85-90% of HBM bandwidth on A100 and H100
    /// (Docs/cost-model.md, "Memory-bound kernels").
    public static let defaultMemoryEfficiency = 0.85
    /// FP8 over bf16 matmul efficiency where a device measures only bf16: the H100's measured maximum achievable
    /// matmul rates, 1402.6 of 1978.9 TFLOP/s fp8 (70.9%) against 794.5 of 989.4 bf16 (80.3%) (ml-engineering MAMF,
    /// shared/data/published-runs.json `matmul_efficiency`): 0.883.
    public static let fp8ToBF16MatmulEfficiency = (1402.6 / 1978.9) / (794.5 / 989.4)
    /// Fixed seconds per kernel: the launch, the ramp-up and tail of its blocks, and the host's per-op
    /// dispatch in eager PyTorch, which short kernels wait on (5-25 us an op; Docs/cost-model.md).
    public static let defaultLaunchSeconds = 10e-6
    /// Fixed seconds per kernel of a compiled step (torch.compile's generated launcher, llm.c's C host code),
    /// which has no per-op Python or dispatcher work: the launch itself and its blocks' ramp-up and tail, a few
    /// microseconds (Docs/cost-model.md).
    public static let compiledLaunchSeconds = 4e-6

    /// Peak FLOP/s for `dtype` (f32 tensors compute in TF32 where a tensor-core figure is given). A type whose
    /// tensor-core rates are not listed runs at the rate `DeviceSpec.arithmeticType(for:)` gives it: the next
    /// wider type listed, else the lowest listed rate (a device that lists only f32 computes bf16 at its f32 rate).
    public func peak(for dtype: DType) -> Double {
        if let value = peakFLOPs[dtype] { return value }
        let listed = peakFLOPs[DeviceSpec.arithmeticType(for: dtype, among: peakFLOPs)!]!
        switch dtype {
        case .f32: return peakFLOPs[.tf32] ?? peakFLOPs[.bf16] ?? listed
        case .fp8: return peakFLOPs[.bf16] ?? listed
        default: return peakFLOPs[.bf16] ?? peakFLOPs[.f16] ?? listed
        }
    }

    /// Output tile shapes (rows x columns) a GEMM library picks between, with the fraction of the best
    /// per-multiprocessor throughput each reaches: smaller tiles reuse operands less.
    static let tiles: [(rows: Double, columns: Double, efficiency: Double)] = [
        (256, 128, 1.0), (128, 256, 1.0), (128, 128, 0.92), (128, 64, 0.80), (64, 128, 0.80), (64, 64, 0.62),
    ]
    /// Reduction depth at which a tile's main loop and its prologue/epilogue take equal time.
    static let halfEfficiencyDepth = 64.0

    /// How much slower a product runs when its columns or its depth (the operands' leading dimensions; the rows
    /// are tokens) are not a whole number of 16-byte vectors (8 elements of a 16-bit type): cuBLAS cannot use its
    /// vectorised (and on Hopper, TMA) loads and falls back to slower kernels. GPT-2's unpadded vocabulary of
    /// 50257 is the common case: padding it to 50304 sped nanoGPT's 124M model up by about 25% on an A100
    /// (Karpathy, 2023-02-03, and nanoGPT's `model.py` comment on the padded vocabulary), and Raschka's GPT-2
    /// 124M step on an A100 by 13.6% (LLMs-from-scratch, ch05/10_llm-training-speed: 112,046 to 127,345
    /// tokens/s); by this model's step those are a 2.3x and a 1.75x slower product. 2 is between them (an
    /// assumption inside the published range).
    static let unalignedMatmulSlowdown = 2.0

    /// Whether `elements` of `dtype` are a whole number of 16-byte vectors. A dimension narrower than one vector
    /// (a device's share of a small model split many ways) makes a matrix-vector product, which cuBLAS runs with
    /// its own kernels: it is not charged.
    static func fillsVectors(_ elements: Double, dtype: DType) -> Bool {
        let width = 16 / Double(dtype.byteSize)
        return elements < width || elements.truncatingRemainder(dividingBy: width) == 0
    }

    /// Seconds for `batch` independent products of an (m x k) by (k x n) matrix. `aligned` says whether the
    /// operands' leading dimensions fill whole 16-byte vectors (a backward product's `k` is the forward rows,
    /// so `OperatorCostModel` decides by the forward product's columns and depth); nil judges by `n` and `k`.
    public func matmulSeconds(batch: Double, m: Double, n: Double, k: Double, dtype: DType, aligned: Bool? = nil) -> Double {
        let flops = 2 * batch * m * n * k
        guard flops > 0 else { return 0 }
        let sms = Double(multiprocessors)
        var best = Double.infinity
        for tile in Self.tiles {
            let tileCount = batch * (m / tile.rows).rounded(.up) * (n / tile.columns).rounded(.up)
            let waves = (tileCount / sms).rounded(.up)
            // Work is issued in whole waves of whole tiles: padding in partial tiles and idle
            // multiprocessors in the last wave are paid for.
            let paddedFLOPs = waves * sms * tile.rows * tile.columns * 2 * k
            let depthEfficiency = k / (k + Self.halfEfficiencyDepth)
            let seconds = paddedFLOPs / (peak(for: dtype) * matmulEfficiency(for: dtype) * tile.efficiency * depthEfficiency)
            best = min(best, seconds)
        }
        let bytes = batch * (m * k + k * n + m * n) * Double(dtype.byteSize)
        if !(aligned ?? (Self.fillsVectors(n, dtype: dtype) && Self.fillsVectors(k, dtype: dtype))) {
            best *= Self.unalignedMatmulSlowdown
        }
        return launchSeconds + max(best, memorySeconds(bytes: bytes) - launchSeconds)
    }

    /// The best fraction of `dtype`'s peak a large product reaches.
    func matmulEfficiency(for dtype: DType) -> Double {
        dtype == .fp8 ? fp8MatmulEfficiency : bestMatmulEfficiency
    }

    /// The fraction of peak a product of this shape reaches (for reports and tests).
    public func matmulEfficiency(batch: Double = 1, m: Double, n: Double, k: Double, dtype: DType) -> Double {
        2 * batch * m * n * k / matmulSeconds(batch: batch, m: m, n: n, k: k, dtype: dtype) / peak(for: dtype)
    }

    /// Seconds for a streaming kernel that reads and writes `bytes` in total.
    public func memorySeconds(bytes: Double) -> Double {
        guard bytes > 0 else { return 0 }
        return launchSeconds + streamSeconds(bytes: bytes)
    }

    /// Seconds to move `bytes` at achievable bandwidth inside a kernel that is launched anyway (a fused
    /// pointwise op, a GEMM epilogue).
    public func streamSeconds(bytes: Double) -> Double {
        bytes / (memoryBandwidth * memoryEfficiency)
    }
}
