/// The fused attention kernel a training stack runs, and what its forward and backward passes reach on each GPU
/// generation: a share of the dense 16-bit tensor-core peak at head dimension 128 and long sequences, how that
/// share falls for short sequences and small heads, and how much of a causal mask's skipped half it really
/// saves. Every figure's source is in Docs/cost-model.md ("Attention kernels").
public enum AttentionKernel: String, CaseIterable, Sendable {
    /// FlashAttention-2 (Dao 2023): the flash-attn 2.x package and PyTorch SDPA's flash backend, on Ampere
    /// and later (on Hopper without its asynchronous tensor-core instructions).
    case flash2
    /// FlashAttention-3 (Shah et al. 2024): Hopper's warp-specialised, asynchronous kernel; Hopper and later.
    case flash3
    /// cuDNN's fused attention: TransformerEngine's default on Hopper (Megatron-Core, NeMo) and PyTorch 2.5's
    /// SDPA on H100, at the rates of cuDNN 9.1 and later (about 1.6 times FlashAttention-2 on Hopper; earlier
    /// versions were near FlashAttention-2's rate there, Docs/cost-model.md "Attention kernels").
    case cudnn
    /// The FlashAttention-era Triton kernel (`flash_attn_triton`, MosaicML's `attn_impl: triton`), written for
    /// Ampere's instructions.
    case triton

    /// The kernel a stack runs by default on `generation`: FlashAttention-2 on Ampere and older (PyTorch SDPA's
    /// flash backend, flash-attn 2), cuDNN on Hopper and Blackwell (TransformerEngine's choice there).
    public static func standard(on generation: GPUGeneration) -> AttentionKernel {
        switch generation {
        case .hopper, .blackwell: .cudnn
        case .volta, .ampere, .other: .flash2
        }
    }

    /// The kernel that runs where this one is asked for on `generation`: FlashAttention-3 needs Hopper's
    /// instructions, so older GPUs run FlashAttention-2.
    public func available(on generation: GPUGeneration) -> AttentionKernel {
        self == .flash3 && generation < .hopper ? .flash2 : self
    }

    /// The share of the dense peak the forward and backward passes reach at head dimension 128 and long
    /// sequences on `generation`.
    public func peakShare(on generation: GPUGeneration) -> (forward: Double, backward: Double) {
        if self == .triton {
            // FlashAttention-2 is 1.3-2.5x faster than FlashAttention in Triton on A100 (Dao 2023, section 4.1,
            // forward and backward): FlashAttention-2's rate on each generation over 1.9, the middle of that range
            // (an assumption inside it; a newer Triton kernel such as the Triton tutorial's FlashAttention-2 on
            // H100, 477 TFLOP/s forward at 16k in pytorch/benchmark #2391, is faster and takes flash2's rate).
            let flash2 = AttentionKernel.flash2.peakShare(on: generation)
            return (flash2.forward / 1.9, flash2.backward / 1.9)
        }
        return switch (available(on: generation), generation) {
        case (.flash2, .hopper):
            // FlashAttention-2 does not use Hopper's wgmma/TMA. Measured on an H200 (PyTorch 2.11 SDPA's flash
            // backend, 28 shapes from 1k to 64k tokens, Docs/calibration/attention-h200.md): 0.38 and 0.34, with
            // the backward pass's side kernels priced apart, fit every shape within 9% (the published ratios,
            // about 2/3 of FlashAttention-3 on an H20, gave 0.40 and 0.30).
            (0.38, 0.34)
        case (.flash3, .hopper):
            // Forward: 621 TFLOP/s at 16k (pytorch/benchmark #2391), 648 in the FA3 paper (Fig. 5), of 989.
            // Backward: the paper's 1.5-1.75x over FlashAttention-2.
            (0.64, 0.50)
        case (.cudnn, .hopper):
            // Measured on an H200 (cuDNN 9.19 through PyTorch 2.11's SDPA, Docs/calibration/attention-h200.md):
            // 601 TFLOP/s forward and 535 backward at 8k, head dimension 128; 0.61 and 0.545 fit the 28 shapes
            // within 7%. (flash-attention PR #1075's 669 TFLOP/s forward was a best case at 8k.)
            (0.61, 0.545)
        case (_, .blackwell):
            // FlashAttention-4 / cuDNN on B200: 1882 TFLOP/s forward at 16k and 1360 backward at 8k of 2500
            // (flash-attention PRs #2605, #2280); other kernels as these (assumption).
            (0.75, 0.54)
        default:
            // FlashAttention-2 on A100: forward up to 230 TFLOP/s (73% of 312), forward and backward up to about
            // 203, so the backward pass about 194 (62%) (Dao 2023, section 4.1). cuDNN on Ampere and every kernel
            // on unknown GPUs are taken at the same rates (assumption).
            (0.73, 0.62)
        }
    }

    /// The head dimension the kernel's tiles run at for a model head dimension `d` on `generation`: each kernel is
    /// compiled for a few head widths and runs a narrower head in the next one up, its matmuls over the padded
    /// width (the extra columns are zeros, loaded masked, and cost the tensor cores as much as real ones).
    /// - FlashAttention-2 (flash-attn 2.x, PyTorch SDPA's flash backend): multiples of 32 up to 256
    ///   (`HEADDIM_SWITCH` in Dao-AILab/flash-attention csrc/flash_attn/src/static_switch.h: 32, 64, 96, 128, 160,
    ///   192, 256; PyTorch's copy, pytorch/pytorch aten/src/ATen/native/transformers/cuda/flash_attn/static_switch.h
    ///   `FWD_HEADDIM_SWITCH`, also has 224, so every multiple of 32 is taken here).
    /// - FlashAttention-3: 64, 96, 128, 192, 256 (Dao-AILab/flash-attention hopper/flash_api.cpp, `round_up_headdim`
    ///   and `run_mha_fwd`'s dispatch on `params.d`).
    /// - The Triton kernel: the next power of two, at least 16 (`BLOCK_HEADDIM` in Dao-AILab/flash-attention
    ///   flash_attn/flash_attn_triton.py, which accepts d up to 128; llm-foundry's `attn_impl: triton` ran it).
    /// - cuDNN: d itself. Its SDPA engine is closed and generated for the requested width (cudnn-frontend's
    ///   support matrix bounds d, at most 128 or 256 by generation, and PyTorch's `scaled_dot_product_attention`,
    ///   aten/src/ATen/native/transformers/attention.cpp, hands it the unpadded tensors); no public source shows a
    ///   padded tile width, so none is assumed.
    /// Past a kernel's widest head (unsupported there, `widestHeadDimension`) d is returned as it is.
    public func paddedHeadDimension(_ d: Double, on generation: GPUGeneration) -> Double {
        guard d > 0 else { return d }
        switch available(on: generation) {
        case .flash2:
            return d <= 256 ? (d / 32).rounded(.up) * 32 : d
        case .flash3:
            return [64.0, 96, 128, 192, 256].first { d <= $0 } ?? d
        case .triton:
            guard d <= 128 else { return d }
            var width = 16.0
            while width < d { width *= 2 }
            return width
        case .cudnn:
            return d
        }
    }

    /// The widest head the kernel that runs in this one's place on `generation` is built for, as
    /// `paddedHeadDimension`'s sources give it: 256 for FlashAttention-2 and 3, 128 for the Triton kernel, and 256 for
    /// cuDNN, a permissive bound (its support matrix allows 128 on some generations and versions). A measurement of a
    /// wider head did not run this kernel.
    public func widestHeadDimension(on generation: GPUGeneration) -> Int {
        available(on: generation) == .triton ? 128 : 256
    }

    /// Tokens of causal-mask overhead: a causal pass takes `1/2 + c/t` of the unmasked pass over t keys, not
    /// 1/2, because the tiles on the diagonal are computed whole and the rows' unequal work leaves the last
    /// wave partly idle. Measured ratios of causal to unmasked time give c: FlashAttention-2 0.64 at 2k
    /// (c = 280), FlashAttention-3 0.58-0.60 at 2k (c = 175-200) on H20 (flash-attention issue #1310);
    /// FlashAttention-4 on B200 0.72 at 2k and 0.62 at 4k (c = 450-500, PR #2605). On an H200, FlashAttention-2
    /// and cuDNN (SDPA's backends) fit c = 150 over 1k-64k tokens (FlashAttention-2's measured causal forward pass
    /// takes 0.56 of the unmasked one at 2k, 0.51 at 16k; Docs/calibration/attention-h200.md).
    public func causalOverheadTokens(on generation: GPUGeneration) -> Double {
        switch (available(on: generation), generation) {
        case (_, .blackwell): 475
        case (.flash2, .hopper), (.cudnn, .hopper): 150
        case (.flash3, _): 190
        default: 280
        }
    }
}

/// GPU generations, as far as the attention kernels care: which instructions a kernel can use.
public enum GPUGeneration: Int, Comparable, Sendable {
    /// A GPU the list does not know (AMD's, or a newer one): priced as Ampere.
    case other = -1
    case volta, ampere, hopper, blackwell

    public static func < (a: GPUGeneration, b: GPUGeneration) -> Bool { a.rawValue < b.rawValue }

    /// The generation of a device from its product name (`A100-SXM4-80GB`, `H100-SXM5-80GB`, `GB200`, ...).
    public init(deviceName: String) {
        let name = deviceName.uppercased()
        if ["B100", "B200", "B300", "GB200", "GB300"].contains(where: name.contains) {
            self = .blackwell
        } else if ["H100", "H200", "H800", "H20", "GH200"].contains(where: name.contains) {
            self = .hopper
        } else if ["A100", "A800", "A10", "A30", "A40", "A6000"].contains(where: name.contains) {
            self = .ampere
        } else if name.contains("V100") {
            self = .volta
        } else {
            self = .other
        }
    }
}
