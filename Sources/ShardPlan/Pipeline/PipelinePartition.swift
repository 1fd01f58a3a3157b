/// The stage DP's answer: the layers cut into contiguous stages, each with a submesh and its devices, and the
/// predicted time of one training iteration in seconds.
public struct PipelinePartition<Payload: Sendable>: Sendable {
    /// In pipeline order, covering every clustered layer once.
    public var stages: [PipelineStage<Payload>]
    public var microbatches: Int
    /// `sum of stage latencies + (m - 1) * slowest stage latency` (latency: one microbatch's forward and
    /// backward): the 1F1B and GPipe iteration time without per-iteration work, the quantity the DP minimises.
    public var pipelineSeconds: Double
    /// The largest per-iteration work of any stage (`StageCandidate.iterationSeconds`): stages synchronise
    /// gradients and step their optimizers in parallel, so the iteration ends with the slowest of them.
    public var iterationTailSeconds: Double

    public init(stages: [PipelineStage<Payload>], microbatches: Int) {
        self.stages = stages
        self.microbatches = microbatches
        let latencies = stages.map(\.candidate.microbatchSeconds)
        // GPipe and 1F1B share this formula.
        pipelineSeconds = PipelineSchedule.oneForwardOneBackward.pipelineSeconds(
            stageSeconds: latencies, microbatches: microbatches, virtualStages: 1)
        iterationTailSeconds = stages.map(\.candidate.iterationSeconds).max() ?? 0
    }

    /// Predicted seconds of one iteration: the pipeline and then the slowest stage's per-iteration work.
    public var iterationSeconds: Double { pipelineSeconds + iterationTailSeconds }

    /// The slowest stage's latency, seconds per microbatch.
    public var slowestStageSeconds: Double { stages.map(\.candidate.microbatchSeconds).max() ?? 0 }
}
