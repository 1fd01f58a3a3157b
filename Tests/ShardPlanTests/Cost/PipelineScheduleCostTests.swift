import Testing
@testable import ShardPlan

@Suite("Pipeline schedules")
struct PipelineScheduleCostTests {
    let fourEqualStages = [1.0, 1, 1, 1]

    @Test("1F1B over 4 stages of 1 s with 8 microbatches takes 4 + 7 = 11 s")
    func oneForwardOneBackward() {
        #expect(PipelineSchedule.oneForwardOneBackward.pipelineSeconds(
            stageSeconds: fourEqualStages, microbatches: 8, virtualStages: 1) == 11)
    }

    @Test("GPipe has the same bubble as 1F1B: 11 s")
    func gpipe() {
        #expect(PipelineSchedule.gpipe.pipelineSeconds(stageSeconds: fourEqualStages, microbatches: 8, virtualStages: 1) == 11)
    }

    @Test("interleaved 1F1B with v = 2 takes (8 + 3/2) x 1 = 9.5 s")
    func interleaved() {
        #expect(PipelineSchedule.interleaved.pipelineSeconds(stageSeconds: fourEqualStages, microbatches: 8, virtualStages: 2) == 9.5)
    }

    @Test("an uneven pipeline waits for its slowest stage: 1 + 2 + 1 + 1 + 7 x 2 = 19 s")
    func unevenStages() {
        #expect(PipelineSchedule.oneForwardOneBackward.pipelineSeconds(
            stageSeconds: [1, 2, 1, 1], microbatches: 8, virtualStages: 1) == 19)
    }

    @Test("1F1B stage i of 4 keeps 4 - i microbatches alive", arguments: [(0, 4.0), (1, 3.0), (2, 2.0), (3, 1.0)])
    func oneForwardOneBackwardInFlight(stage: Int, expected: Double) {
        #expect(PipelineSchedule.oneForwardOneBackward.microbatchesInFlight(
            stage: stage, stages: 4, microbatches: 8, virtualStages: 1) == expected)
    }

    @Test("1F1B never keeps more microbatches than there are: 2 microbatches on stage 0 of 4")
    func fewMicrobatches() {
        #expect(PipelineSchedule.oneForwardOneBackward.microbatchesInFlight(
            stage: 0, stages: 4, microbatches: 2, virtualStages: 1) == 2)
    }

    @Test("interleaved rank 0 of p = 4, v = 2 keeps p + (p - 1) / v = 5.5 microbatches alive")
    func interleavedInFlight() {
        // Megatron's warm-up: (4 - 0 - 1) x 2 + (2 - 1) x 4 + 1 = 11 chunks, of which 2 make one microbatch.
        #expect(PipelineSchedule.interleaved.microbatchesInFlight(stage: 0, stages: 4, microbatches: 8, virtualStages: 2) == 5.5)
    }

    @Test("GPipe keeps every one of the m microbatches alive on every stage", arguments: [0, 3])
    func gpipeInFlight(stage: Int) {
        #expect(PipelineSchedule.gpipe.microbatchesInFlight(stage: stage, stages: 4, microbatches: 8, virtualStages: 1) == 8)
    }
}
