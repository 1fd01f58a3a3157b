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

    /// Seconds for `microbatches` microbatches through ranks whose per-microbatch times (forward plus
    /// backward, summed over a rank's chunks) are `stageSeconds`.
    ///
    /// GPipe and 1F1B: `sum + (m - 1) * slowest`, every microbatch waiting for the slowest rank and the
    /// first and last passing every other rank once. Interleaved: the pipeline fills and drains through one
    /// chunk of each rank rather than the whole rank, so the other ranks' share shrinks by v:
    /// `sum / v + (m - 1 / v) * slowest`, which is the familiar `(m + (p - 1) / v) * t` for p equal ranks and
    /// the 1F1B formula for v = 1.
    ///
    /// Exact for ranks of equal time; for unequal ones the schedule as it runs (`PipelineTimeline.makespan`, what
    /// `PlanEvaluator` and the Megatron grid's estimate price) can take more or less. The stage DP keeps this form
    /// as its objective: its search needs a weighted sum plus a weighted maximum of the ranks' times.
    public func pipelineSeconds(stageSeconds: [Double], microbatches: Int, virtualStages: Int) -> Double {
        guard let slowest = stageSeconds.max() else { return 0 }
        let sum = stageSeconds.reduce(0, +)
        switch self {
        case .gpipe, .oneForwardOneBackward:
            return sum + Double(microbatches - 1) * slowest
        case .interleaved:
            let v = Double(virtualStages)
            return sum / v + (Double(microbatches) - 1 / v) * slowest
        }
    }

    /// How many microbatches' activations stage `stage` of `stages` holds at its peak, in units of one
    /// microbatch through all of the rank's chunks (`ChunkOccupancy`'s most chunks alive, over v), with
    /// `extraWarmUp` forwards more before the first backward.
    public func microbatchesInFlight(stage: Int, stages: Int, microbatches: Int, virtualStages: Int, extraWarmUp: Int = 0) -> Double {
        let occupancy = ChunkOccupancy(schedule: self, stage: stage, stages: stages, microbatches: microbatches,
                                       virtualStages: virtualStages, extraWarmUp: extraWarmUp)
        return Double(occupancy.mostChunksAlive) / Double(occupancy.chunkCount)
    }
}
