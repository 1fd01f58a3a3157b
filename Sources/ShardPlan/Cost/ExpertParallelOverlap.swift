/// What the experts' all-to-alls cost a microbatch when Megatron-Core overlaps them with another microbatch's
/// compute (`--overlap-moe-expert-parallel-comm`).
///
/// Its combined 1F1B schedule (`megatron/core/pipeline_parallel/combined_1f1b.py`) runs the forward pass of one
/// microbatch and the backward pass of another together, layer by layer, on two streams: the forward pass's
/// dispatch and combine hide behind the other microbatch's backward compute, and the backward pass's behind the
/// forward compute. What exceeds that compute shows; what hides slows the compute beside it by
/// `TrainingOptions.overlappedComputeSlowdown` a second (Lee et al. 2025), at most
/// `overlappedComputeSlowdownLimit` of it. Only the steady state pairs passes: a rank's warm-up forwards and
/// cool-down backwards run alone (`pairedShare`; without pipelining the first forward and the last backward, so
/// m - 1 of m). The schedule also starts one more forward before its first backward (`ChunkOccupancy`'s
/// `extraWarmUp`). The hiding is priced over a stage's whole microbatch, where Megatron-Core pairs layer by layer.
public struct ExpertParallelOverlap: Sendable, Equatable {
    /// The all-to-alls' seconds a microbatch, as the exact model charges them before the overlap.
    public var forwardAllToAllSeconds: Double
    public var backwardAllToAllSeconds: Double
    /// The compute a microbatch's all-to-alls can hide behind: the other microbatch's backward compute (its
    /// recomputation included) for the forward pass's, its forward compute for the backward pass's.
    public var forwardComputeSeconds: Double
    public var backwardComputeSeconds: Double
    /// The share of the passes that have a partner (`pairedShare(schedule:...)`).
    public var pairedShare: Double

    /// (m - 1) / m: the share of m microbatches' forward (or backward) passes that run beside another microbatch's
    /// without pipelining, and what a stage priced apart from its rank assumes.
    static func pairedShare(microbatches: Int) -> Double {
        pairedShare(schedule: .oneForwardOneBackward, stage: 0, stages: 1, microbatches: microbatches, virtualStages: 1)
    }

    /// The share of rank `stage`'s chunk passes that run beside another's under the combined schedule: the m v
    /// forwards (m under 1F1B) but the warm-up's, which runs one forward more (`ChunkOccupancy.warmUpForwards`).
    public static func pairedShare(schedule: PipelineSchedule, stage: Int, stages: Int, microbatches: Int, virtualStages: Int) -> Double {
        let chunks = schedule == .interleaved ? virtualStages : 1
        let total = microbatches * chunks
        let warmUp = ChunkOccupancy.warmUpForwards(schedule: schedule, stage: stage, stages: stages, microbatches: microbatches,
                                                   virtualStages: chunks, extraWarmUp: 1)
        return Double(max(total - warmUp, 0)) / Double(max(total, 1))
    }

    /// The seconds `allToAll` costs beside `compute` that hides it where a pass has a partner: what exceeds the
    /// compute, and the compute's slowdown from what it hides; whole where it has none.
    func shownSeconds(allToAll: Double, beside compute: Double) -> Double {
        let hidden = min(allToAll, compute)
        let slowdown = min(hidden * TrainingOptions.overlappedComputeSlowdown, compute * TrainingOptions.overlappedComputeSlowdownLimit)
        return (1 - pairedShare) * allToAll + pairedShare * (allToAll - hidden + slowdown)
    }

    /// The forward pass's all-to-alls as they cost beside the other microbatch's backward compute.
    public var forwardShownSeconds: Double {
        shownSeconds(allToAll: forwardAllToAllSeconds, beside: backwardComputeSeconds)
    }

    /// The backward pass's all-to-alls as they cost beside the other microbatch's forward compute.
    public var backwardShownSeconds: Double {
        shownSeconds(allToAll: backwardAllToAllSeconds, beside: forwardComputeSeconds)
    }

    /// The share of an all-to-all the search's terms charge of m microbatches: the compute it slows where a pass has
    /// a partner, as if hidden whole, and whole where it has none.
    public static func searchShare(microbatches: Int) -> Double {
        let paired = pairedShare(microbatches: microbatches)
        return (1 - paired) + paired * TrainingOptions.overlappedComputeSlowdown
    }

    /// Why Megatron-Core would not run the overlap beside the rest of a plan (nil where it would): its
    /// `TransformerConfig` takes it only with expert parallelism, without full recomputation (in any stage) and,
    /// beside pipelining, under the interleaved schedule; the combined schedule is a 1F1B one, so GPipe has none.
    public static func problem(splitsExperts: Bool, fullRecomputation: Bool, schedule: PipelineSchedule, pipelineRanks: Int,
                               virtualStages: Int) -> String? {
        if !splitsExperts { return "no stage splits a mixture of experts' experts over devices (expert parallelism), so no all-to-all could overlap" }
        if fullRecomputation { return "Megatron-Core overlaps the experts' all-to-alls only without full recomputation" }
        if schedule == .gpipe { return "the overlap runs in Megatron-Core's combined 1F1B schedule, not under GPipe" }
        if pipelineRanks > 1 && virtualStages < 2 {
            return "beside pipelining Megatron-Core overlaps the experts' all-to-alls only under the interleaved schedule (2 or more chunks a rank)"
        }
        return nil
    }
}
