/// Where a stage sits in a pipeline, as far as its cost depends on it: the schedule, how many stages (pipeline
/// ranks) there are from it to the end, and with the interleaved schedule how many ranks there are in all and
/// how many model chunks each holds. Memory depends on it: a stage's peak holds the activations the schedule
/// keeps alive there (`ChunkOccupancy`).
///
/// Positions that keep the same activations alive are equal, so that answers can be shared: under GPipe every
/// stage holds all m microbatches, under 1F1B the stage s-th from the end holds min(s, m) whatever the
/// pipeline's depth.
public struct PipelinePosition: Hashable, Sendable, CustomStringConvertible {
    public let schedule: PipelineSchedule
    /// 1 for the last stage; under 1F1B at most `microbatches` (stages further from the end hold the same),
    /// under GPipe always 1.
    public let stagesFromEnd: Int
    /// The pipeline's ranks under the interleaved schedule (the warm-up depth depends on it), else 0.
    public let stageCount: Int
    /// Model chunks per rank: 1 unless interleaved.
    public let virtualStages: Int
    public let microbatches: Int

    /// The position of the stage `stagesFromEnd`-th from the end (1: the last) of `stageCount` stages.
    public init(schedule: PipelineSchedule, stagesFromEnd: Int, stageCount: Int, virtualStages: Int, microbatches: Int) {
        precondition(stagesFromEnd >= 1 && stageCount >= stagesFromEnd && microbatches >= 1 && virtualStages >= 1,
                     "a stage of a pipeline")
        self.schedule = schedule
        self.microbatches = microbatches
        switch schedule {
        case .gpipe:
            (self.stagesFromEnd, self.stageCount, self.virtualStages) = (1, 0, 1)
        case .oneForwardOneBackward:
            (self.stagesFromEnd, self.stageCount, self.virtualStages) = (min(stagesFromEnd, microbatches), 0, 1)
        case .interleaved:
            (self.stagesFromEnd, self.stageCount, self.virtualStages) = (stagesFromEnd, stageCount, virtualStages)
        }
    }

    /// The chunk activations the stage holds over the schedule.
    public var occupancy: ChunkOccupancy {
        switch schedule {
        case .gpipe, .oneForwardOneBackward:
            // Stage s-th from the end of s stages is the first: it holds min(s, m) under 1F1B.
            return ChunkOccupancy(schedule: schedule, stage: 0, stages: stagesFromEnd, microbatches: microbatches, virtualStages: 1)
        case .interleaved:
            return ChunkOccupancy(schedule: schedule, stage: stageCount - stagesFromEnd, stages: stageCount,
                                  microbatches: microbatches, virtualStages: virtualStages)
        }
    }

    /// Whole microbatches (through every chunk of the rank) alive at the peak, rounded up.
    public var inFlightMicrobatches: Int {
        switch schedule {
        case .gpipe: return microbatches
        case .oneForwardOneBackward: return stagesFromEnd
        case .interleaved:
            let alive = occupancy.mostChunksAlive
            return (alive + virtualStages - 1) / virtualStages
        }
    }

    public var description: String {
        switch schedule {
        case .gpipe: return "GPipe, \(microbatches) microbatches in flight"
        case .oneForwardOneBackward: return "1F1B, \(stagesFromEnd) microbatches in flight"
        case .interleaved: return "interleaved rank \(stageCount - stagesFromEnd) of \(stageCount), \(virtualStages) chunks"
        }
    }
}
