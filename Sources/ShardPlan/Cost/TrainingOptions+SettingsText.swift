extension TrainingOptions {
    /// The settings that differ from the defaults of `TrainingOptions()` and of `score`'s options, as the one-line
    /// summaries end with them, each a short token for the `score` option that sets it (`grad=bf16` for
    /// `--grad-precision bf16`, `attention=flash2` for `--attention-kernel flash2`): " fp8" (" fp8=auto"), its recipe where
    /// not tensorwise (" fp8-recipe=rowwise"), " fp8-params", " grad=bf16", " grad-reduce=fp32", " optimizer=<state>",
    /// " fusion=eager|compiled", " attention=<kernel>" where one is named, " overlap-grad-reduce",
    /// " overlap-tp-comm", " fused-ce", " eager-loss", " loss-in-place", " no-loss-upcast" and " fsdp2" where
    /// `gathersWeights` (some stage runs ZeRO-3, without which FSDP2's copies change nothing). Empty where every one is
    /// the default. Parallelism, ZeRO and recomputation are the summaries' own.
    public func settingsText(gathersWeights: Bool) -> String {
        var tokens: [String] = []
        switch precision {
        case .bf16: break
        case .fp8: tokens.append("fp8")
        case .auto: tokens.append("fp8=auto")
        }
        if precision != .bf16 && fp8Recipe != .tensorwise { tokens.append("fp8-recipe=\(fp8Recipe.rawValue)") }
        if fp8Parameters { tokens.append("fp8-params") }
        if gradientPrecision != .fp32 { tokens.append("grad=\(gradientPrecision.rawValue)") }
        if reduceGradientsInFP32 { tokens.append("grad-reduce=fp32") }
        if optimizerState != .fp32 { tokens.append("optimizer=\(optimizerState.rawValue)") }
        if kernelFusion != .fused { tokens.append("fusion=\(kernelFusion.rawValue)") }
        if let attentionKernel { tokens.append("attention=\(attentionKernel.rawValue)") }
        if overlapGradientReduction { tokens.append("overlap-grad-reduce") }
        if overlapTensorParallelCommunication { tokens.append("overlap-tp-comm") }
        if fusedCrossEntropy { tokens.append("fused-ce") }
        if eagerLoss { tokens.append("eager-loss") }
        if writesLossGradientInPlace { tokens.append("loss-in-place") }
        if !upcastsLoss { tokens.append("no-loss-upcast") }
        if copiesOutGatheredParameters && gathersWeights { tokens.append("fsdp2") }
        return tokens.map { " " + $0 }.joined()
    }
}
