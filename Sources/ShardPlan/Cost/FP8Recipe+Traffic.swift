extension FP8Recipe {
    /// What a recipe moves besides its GEMMs, in bytes per element of the tensor each cast reads, one entry per
    /// kernel, and what it keeps in memory (Docs/cost-model.md, "FP8"). A cast reads the 16-bit tensor (2 bytes)
    /// and writes one byte per FP8 copy it makes, plus the scales.
    struct Traffic: Sendable, Equatable {
        /// Kernels casting the activation input in the forward pass.
        var forwardInputCasts: [Double]
        /// Kernels casting the weight for the forward pass.
        var weightCasts: [Double]
        /// Whether the weight casts run every microbatch (else once per iteration, the FP8 copies cached).
        var castsWeightsEveryMicrobatch: Bool
        /// Kernels casting the output gradient in the backward pass.
        var gradientCasts: [Double]
        /// Kernels casting the saved input again in the backward pass (for the weight gradient).
        var backwardInputCasts: [Double]
        /// Kernels casting the weight again in the backward pass (for the input gradient).
        var backwardWeightCasts: [Double]
        /// Bytes per element of the input kept for the backward pass; nil: the 16-bit input itself.
        var savedInputBytesPerElement: Double?
        /// Bytes per weight element of FP8 copies held for the whole iteration.
        var weightCopyBytesPerElement: Double
    }

    /// Scale bytes per element: one fp32 scale per 1 x 128 tile, or per 128 x 128 block.
    private static let tileScaleBytes = 4.0 / 128
    private static let blockScaleBytes = 4.0 / (128 * 128)

    /// What the recipe moves and keeps when the weight itself is kept in FP8 (`TrainingOptions.fp8Parameters`):
    /// the optimizer step (or the cast before a gather) writes the FP8 weight, so the weight's cast becomes a
    /// transpose of it (read 1 and write 1 byte an element, with its scales per 128 x 128 block) where the recipe
    /// keeps a transpose for Hopper's backward GEMMs, and the copies held for the iteration are that transpose alone:
    /// the FP8 weight is the parameter (`ParameterState`). A recipe without cached copies is unchanged.
    func traffic(fp8Parameters: Bool) -> Traffic {
        var traffic = self.traffic
        guard fp8Parameters else { return traffic }
        switch self {
        case .tensorwise:
            traffic.weightCasts = [1 + 1]
            traffic.weightCopyBytesPerElement = 1
        case .blockwise:
            traffic.weightCasts = [1 + 1 + 2 * Self.blockScaleBytes]
            traffic.weightCopyBytesPerElement = 1 + Self.blockScaleBytes
        case .rowwise:
            break
        }
        return traffic
    }

    var traffic: Traffic {
        switch self {
        case .tensorwise:
            // TransformerEngine's fused cast-transpose (`fp8_cast_transpose`): one kernel reads the bf16 tensor
            // and writes it and its transpose in FP8, the transpose being the operand Hopper's FP8 GEMMs need
            // for the weight gradient; the amax is taken inside the cast (delayed scaling). Weights are cast
            // once per iteration and cached (`is_first_microbatch`); the layer saves its input's FP8 transpose.
            return Traffic(forwardInputCasts: [2 + 2], weightCasts: [2 + 2], castsWeightsEveryMicrobatch: false,
                           gradientCasts: [2 + 2], backwardInputCasts: [], backwardWeightCasts: [],
                           savedInputBytesPerElement: 1, weightCopyBytesPerElement: 2)
        case .rowwise:
            // torchao `Float8Linear` with rowwise scales, compiled: each GEMM operand is cast along its own axis
            // by one fused amax-and-cast kernel (read 2, write 1); `matmul_with_hp_or_float8_args` saves the bf16
            // input and weight and casts them again in backward; nothing is cached between microbatches.
            return Traffic(forwardInputCasts: [2 + 1], weightCasts: [2 + 1], castsWeightsEveryMicrobatch: true,
                           gradientCasts: [2 + 1, 2 + 1], backwardInputCasts: [2 + 1], backwardWeightCasts: [2 + 1],
                           savedInputBytesPerElement: nil, weightCopyBytesPerElement: 0)
        case .blockwise:
            // DeepSeek-V3 (section 3.3.2) and TransformerEngine's Float8BlockScaling: activations and gradients
            // quantised per 1 x 128 tile along both axes in one kernel (two FP8 copies and their scales),
            // weights per 128 x 128 block once per iteration; the input is saved in FP8 with its scales.
            return Traffic(forwardInputCasts: [2 + 2 + 2 * Self.tileScaleBytes],
                           weightCasts: [2 + 2 + 2 * Self.blockScaleBytes], castsWeightsEveryMicrobatch: false,
                           gradientCasts: [2 + 2 + 2 * Self.tileScaleBytes], backwardInputCasts: [], backwardWeightCasts: [],
                           savedInputBytesPerElement: 1 + Self.tileScaleBytes,
                           weightCopyBytesPerElement: 2 + 2 * Self.blockScaleBytes)
        }
    }
}
