/// The stage DP's answer: the layers cut into contiguous stages (pipeline ranks), each with a submesh and its
/// devices, and the predicted time of one training iteration in seconds.
public struct PipelinePartition<Payload: Sendable>: Sendable {
    /// In pipeline order, covering every clustered layer once.
    public var stages: [PipelineStage<Payload>]
    public var microbatches: Int
    public var schedule: PipelineSchedule
    /// Model chunks per rank (1 unless interleaved).
    public var virtualStages: Int
    /// The schedule's iteration time without per-iteration work (`PipelineSchedule.pipelineSeconds` of the
    /// stage latencies, a latency being one microbatch's forward and backward): the quantity the DP minimises, the
    /// closed form the DP's search needs; `PlanEvaluator` prices the plan made of it by running the schedule.
    public var pipelineSeconds: Double
    /// The largest per-iteration work of any stage (`StageCandidate.iterationSeconds`): stages synchronise
    /// gradients and step their optimizers in parallel, so the iteration ends with the slowest of them.
    public var iterationTailSeconds: Double

    public init(stages: [PipelineStage<Payload>], microbatches: Int, schedule: PipelineSchedule = .oneForwardOneBackward,
                virtualStages: Int = 1) {
        self.stages = stages
        self.microbatches = microbatches
        self.schedule = schedule
        self.virtualStages = virtualStages
        pipelineSeconds = schedule.pipelineSeconds(stageSeconds: stages.map(\.candidate.microbatchSeconds),
                                                   microbatches: microbatches, virtualStages: virtualStages)
        iterationTailSeconds = stages.map(\.candidate.iterationSeconds).max() ?? 0
    }

    /// Predicted seconds of one iteration: the pipeline and then the slowest stage's per-iteration work.
    public var iterationSeconds: Double { pipelineSeconds + iterationTailSeconds }

    /// The slowest stage's latency, seconds per microbatch.
    public var slowestStageSeconds: Double { stages.map(\.candidate.microbatchSeconds).max() ?? 0 }
}
