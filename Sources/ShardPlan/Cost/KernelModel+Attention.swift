extension KernelModel {
    /// Seconds for the fused attention kernel (`attentionKernel` on `generation`) over `denseFLOPs`: the
    /// FLOPs of the whole score matrix, forward 4 x batch x queries x keys x heads x head_dim, backward 2.5
    /// times that (FlashAttention's backward recomputes the scores: 5 matmuls against 2).
    ///
    /// The kernel runs its tiles at the padded head dimension p = `paddedHeadDimension(d, on:)` (FlashAttention-2:
    /// the next multiple of 32; FlashAttention-3: 64, 96, 128, 192 or 256; Triton: the next power of two; cuDNN:
    /// d), so its matmuls do `p / d` times the FLOPs counted at d, at the rate of a p-wide head. The rate is the
    /// kernel's share of the dense peak at head dimension 128 and long sequences, times `t / (t + 256)` for
    /// `keyLength` t (short sequences spend more of each tile on its prologue and the softmax's bookkeeping:
    /// FlashAttention-3 forward reaches 69% of its 16k rate at 512 keys and 95% at 4k, pytorch/benchmark #2391)
    /// and `(p / (p + 32)) / (128 / 160)` (smaller heads do less matmul per softmax element; an assumption, 0.83
    /// at 64). Head dimensions 64 and 128 pad to themselves on every kernel. A causal mask skips the upper
    /// triangle but not half the time: `1/2 + c/t` of the unmasked pass (`causalOverheadTokens`).
    ///
    /// A sliding `window` w shorter than the keys (causal only) keeps the band of `SlidingWindow.pairs` query-key
    /// pairs, `share = pairs / t^2` of the unmasked pass, plus `2c/t` for the tiles the band's two edges cut (the
    /// causal diagonal and the window's lower edge, each taken to cost what the causal diagonal does: an assumption),
    /// at most the causal share. FlashAttention-2 and 3 (`window_size=(w - 1, 0)`) and cuDNN's SDPA (its sliding
    /// window) skip the tiles outside the band; the Triton kernel has no window and runs the full causal pass.
    public func attentionSeconds(denseFLOPs: Double, headDimension: Double, keyLength: Double, causal: Bool,
                                 window: Double? = nil, dtype: DType, backward: Bool) -> Double {
        guard denseFLOPs > 0, keyLength > 0 else { return 0 }
        let share = attentionKernel.peakShare(on: generation)
        let padded = attentionKernel.paddedHeadDimension(headDimension, on: generation)
        let paddedFLOPs = headDimension > 0 ? denseFLOPs * padded / headDimension : denseFLOPs
        let headFactor = (padded / (padded + 32)) / (128.0 / 160.0)
        let lengthFactor = keyLength / (keyLength + Self.attentionHalfRateKeys)
        let efficiency = min((backward ? share.backward : share.forward) * headFactor * lengthFactor, bestMatmulEfficiency)
        let overhead = attentionKernel.causalOverheadTokens(on: generation)
        let causalShare = min(0.5 + overhead / keyLength, 1)
        var maskedShare = causal ? causalShare : 1
        if causal, let window, window < keyLength, attentionKernel.available(on: generation) != .triton {
            maskedShare = min(SlidingWindow.share(tokens: keyLength, window: window) + 2 * overhead / keyLength, causalShare)
        }
        return launchSeconds + paddedFLOPs * maskedShare / (peak(for: dtype) * efficiency)
    }

    /// Seconds for the memory-bound kernels one backward call of the attention kernel that runs on `generation`
    /// launches besides its main kernel (`AttentionKernel.backwardSideKernelBytes`), each one launch.
    public func attentionBackwardSideSeconds(queryElements: Double, rows: Double, keyValueElements: Double,
                                             expandedKeyValueElements: Double, width: Double) -> Double {
        attentionKernel.available(on: generation)
            .backwardSideKernelBytes(queryElements: queryElements, rows: rows, keyValueElements: keyValueElements,
                                     expandedKeyValueElements: expandedKeyValueElements, width: width)
            .reduce(0) { $0 + memorySeconds(bytes: $1) }
    }

    /// Keys at which an attention kernel reaches half its long-sequence rate (pytorch/benchmark #2391:
    /// FlashAttention-3 forward at 512 keys is 0.69 of its 16k rate; t / (t + 256) gives 0.68).
    static let attentionHalfRateKeys = 256.0
}
