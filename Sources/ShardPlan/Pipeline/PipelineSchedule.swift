/// The order in which pipeline stages run microbatches' forward and backward passes.
public enum PipelineSchedule: String, CaseIterable, Sendable {
    /// All forwards, then all backwards (Huang et al. 2019): every microbatch's activations stay alive.
    case gpipe
    /// One-forward-one-backward (PipeDream-Flush, Narayanan et al. 2021): stage i of p keeps p - i
    /// microbatches alive.
    case oneForwardOneBackward = "1f1b"
    /// 1F1B over `v` model chunks per device (Narayanan et al. 2021, section 2.2.2): the bubble shrinks by v,
    /// point-to-point traffic grows by v.
    case interleaved = "interleaved-1f1b"

    /// Seconds for `microbatches` microbatches through stages whose per-microbatch times (forward plus
    /// backward, summed over a device's chunks) are `stageSeconds`. With uniform stages this is the familiar
    /// `(m + (p - 1) / v) * t`; with uneven stages every microbatch waits for the slowest one.
    public func pipelineSeconds(stageSeconds: [Double], microbatches: Int, virtualStages: Int) -> Double {
        guard let slowest = stageSeconds.max() else { return 0 }
        let stages = Double(stageSeconds.count)
        switch self {
        case .gpipe, .oneForwardOneBackward:
            return stageSeconds.reduce(0, +) + Double(microbatches - 1) * slowest
        case .interleaved:
            return (Double(microbatches) + (stages - 1) / Double(virtualStages)) * slowest
        }
    }

    /// How many microbatches' activations stage `stage` of `stages` holds at its peak, in units of one
    /// microbatch through all of the device's chunks.
    public func microbatchesInFlight(stage: Int, stages: Int, microbatches: Int, virtualStages: Int) -> Double {
        switch self {
        case .gpipe:
            return Double(microbatches)
        case .oneForwardOneBackward:
            return Double(min(stages - stage, microbatches))
        case .interleaved:
            // Megatron's warm-up count, (p - r - 1) * 2 + (v - 1) * p forward chunks, plus the one in
            // progress; for the first stage this is Korthikanti et al.'s p * (1 + (p - 1) / (p * v)).
            let chunks = Double((stages - stage - 1) * 2 + (virtualStages - 1) * stages + 1)
            return min(chunks / Double(virtualStages), Double(microbatches))
        }
    }
}
