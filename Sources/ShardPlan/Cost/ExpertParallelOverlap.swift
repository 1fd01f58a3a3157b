/// What the experts' all-to-alls cost a microbatch when Megatron-Core overlaps them with another microbatch's
/// compute (`--overlap-moe-expert-parallel-comm`).
///
/// Its combined 1F1B schedule (`megatron/core/pipeline_parallel/combined_1f1b.py`) runs the forward pass of one
/// microbatch and the backward pass of another together, layer by layer, on two streams: the forward pass's
/// dispatch and combine hide behind the other microbatch's backward compute, and the backward pass's behind the
/// forward compute. What exceeds that compute shows; what hides slows the compute beside it by
/// `TrainingOptions.overlappedComputeSlowdown` a second (Lee et al. 2025), at most
/// `overlappedComputeSlowdownLimit` of it. Every microbatch is priced as one of the steady state: the warm-up's
/// forwards and the cool-down's backwards, which have no partner, are not told apart. The schedule also starts
/// one more forward before its first backward (`ChunkOccupancy`'s `extraWarmUp`).
public struct ExpertParallelOverlap: Sendable, Equatable {
    /// The all-to-alls' seconds a microbatch, as the exact model charges them before the overlap.
    public var forwardAllToAllSeconds: Double
    public var backwardAllToAllSeconds: Double
    /// The compute a microbatch's all-to-alls can hide behind: the other microbatch's backward compute (its
    /// recomputation included) for the forward pass's, its forward compute for the backward pass's.
    public var forwardComputeSeconds: Double
    public var backwardComputeSeconds: Double

    public init(forwardAllToAllSeconds: Double, backwardAllToAllSeconds: Double, forwardComputeSeconds: Double,
                backwardComputeSeconds: Double) {
        self.forwardAllToAllSeconds = forwardAllToAllSeconds
        self.backwardAllToAllSeconds = backwardAllToAllSeconds
        self.forwardComputeSeconds = forwardComputeSeconds
        self.backwardComputeSeconds = backwardComputeSeconds
    }

    /// The seconds `allToAll` costs beside `compute` that hides it: what exceeds the compute, and the compute's
    /// slowdown from what it hides.
    static func shownSeconds(allToAll: Double, beside compute: Double) -> Double {
        let hidden = min(allToAll, compute)
        let slowdown = min(hidden * TrainingOptions.overlappedComputeSlowdown, compute * TrainingOptions.overlappedComputeSlowdownLimit)
        return allToAll - hidden + slowdown
    }

    /// The forward pass's all-to-alls as they cost beside the other microbatch's backward compute.
    public var forwardShownSeconds: Double {
        Self.shownSeconds(allToAll: forwardAllToAllSeconds, beside: backwardComputeSeconds)
    }

    /// The backward pass's all-to-alls as they cost beside the other microbatch's forward compute.
    public var backwardShownSeconds: Double {
        Self.shownSeconds(allToAll: backwardAllToAllSeconds, beside: forwardComputeSeconds)
    }

    /// The share of an all-to-all the search's terms charge: the compute it slows, as if hidden whole.
    public static let searchShare = TrainingOptions.overlappedComputeSlowdown
}
