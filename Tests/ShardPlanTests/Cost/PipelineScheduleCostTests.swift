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

@Suite("Chunk occupancy: which chunks' activations a rank holds")
struct ChunkOccupancyTests {
    @Test("interleaved rank 0 of p = 4, v = 2, m = 8 holds at most 8 microbatches of chunk 0 and 4 of chunk 1, 11 at once")
    func interleavedChunks() {
        // Forwards take groups of 4 microbatches through chunk 0, then chunk 1: 0 0 0 0 1 1 1 1 0 0 0 0 1 1 1 1.
        // Rank 0 warms up with (4 - 1) x 2 + (2 - 1) x 4 = 10 forwards (6 of chunk 0, 4 of chunk 1), then
        // alternates one forward and one backward (backwards run chunk 1 first): after the forwards 10 ... 15 it
        // holds [7, 4], [8, 3], [8, 3], [8, 3], [8, 3], [7, 4].
        let occupancy = ChunkOccupancy(schedule: .interleaved, stage: 0, stages: 4, microbatches: 8, virtualStages: 2)
        #expect(Set(occupancy.states) == [[7, 4], [8, 3]])
        #expect(occupancy.mostChunksAlive == 11)
        #expect(occupancy.peakBytes(chunkBytes: [1, 0]) == 8)
        #expect(occupancy.peakBytes(chunkBytes: [0, 1]) == 4)
        #expect(occupancy.peakBytes(chunkBytes: [2, 1]) == 19)
    }

    @Test("with as many microbatches as ranks, the interleaved warm-up runs every forward first (Llama 3 405B's pp = 16, m = 16)")
    func allWarmUp() {
        // Rank 1 of 16 with 8 chunks: warm-up (16 - 1 - 1) x 2 + 7 x 16 = 140 >= 16 x 8 forwards.
        let occupancy = ChunkOccupancy(schedule: .interleaved, stage: 1, stages: 16, microbatches: 16, virtualStages: 8)
        #expect(occupancy.states == [Array(repeating: 16, count: 8)])
    }

    /// Every step of the interleaved schedule simulated one by one, as the schedule is written: the oracle for the
    /// states `ChunkOccupancy` finds while skipping the periods that repeat.
    static func simulatedStates(stage: Int, stages: Int, microbatches m: Int, chunks v: Int, group: Int) -> [[Int]] {
        var forwardChunks: [Int] = []
        for first in stride(from: 0, to: m, by: group) {
            for chunk in 0 ..< v { forwardChunks += Array(repeating: chunk, count: min(group, m - first)) }
        }
        let warmUp = min(2 * (stages - stage - 1) + (v - 1) * group, m * v)
        var counts = Array(repeating: 0, count: v), states: [[Int]] = []
        for k in 0 ..< warmUp { counts[forwardChunks[k]] += 1 }
        if warmUp == m * v { return [counts] }
        for t in 0 ..< m * v - warmUp {
            counts[forwardChunks[warmUp + t]] += 1
            if !states.contains(counts) { states.append(counts) }
            counts[v - 1 - forwardChunks[t]] -= 1
        }
        return states
    }

    @Test("the interleaved states match a step-by-step simulation, partial last groups and skipped periods included")
    func interleavedAgainstSimulation() {
        for stages in [2, 3, 4] {
            for v in [2, 3, 4] {
                for group in [1, 2, 3, stages] {
                    for m in [1, 2, 5, 8, 13, 24, 37, 64] {
                        for stage in 0 ..< stages {
                            let occupancy = ChunkOccupancy(schedule: .interleaved, stage: stage, stages: stages, microbatches: m,
                                                           virtualStages: v, groupSize: group)
                            let expected = Self.simulatedStates(stage: stage, stages: stages, microbatches: m, chunks: v, group: group)
                            #expect(occupancy.states == expected, "rank \(stage) of \(stages), \(v) chunks, groups of \(group), \(m) microbatches")
                        }
                    }
                }
            }
        }
    }

    @Test("a rank's states take no longer to find with millions of microbatches (the Megatron grid of a tiny model)")
    func millionsOfMicrobatches() {
        // Past the warm-up and the first period the states only repeat, so 64 microbatches, which leave the same last
        // group of one as 2^24 does, pass through the same ones.
        let occupancy = ChunkOccupancy(schedule: .interleaved, stage: 1, stages: 4, microbatches: 1 << 24, virtualStages: 3, groupSize: 3)
        let expected = Self.simulatedStates(stage: 1, stages: 4, microbatches: 64, chunks: 3, group: 3)
        #expect(Set(occupancy.states) == Set(expected))
    }

    @Test("1F1B and GPipe hold one count for their single chunk", arguments: [(PipelineSchedule.oneForwardOneBackward, 3), (.gpipe, 8)])
    func singleChunk(schedule: PipelineSchedule, expected: Int) {
        #expect(ChunkOccupancy(schedule: schedule, stage: 1, stages: 4, microbatches: 8, virtualStages: 1).states == [[expected]])
    }
}

@Suite("Chunk split of an interleaved rank's layers")
struct ChunkSplitTests {
    @Test("the first rank's extra layers go to its first chunks, every other rank's to its last chunks")
    func sizes() {
        #expect(ChunkSplit.sizes(layers: 7, chunks: 3, isFirstRank: true) == [3, 2, 2])
        #expect(ChunkSplit.sizes(layers: 7, chunks: 3, isFirstRank: false) == [2, 2, 3])
        #expect(ChunkSplit.sizes(layers: 8, chunks: 8, isFirstRank: true) == Array(repeating: 1, count: 8))
    }

    @Test("chunks run in pipeline order, chunk g on rank g mod p: 2 ranks of 5 and 4 layers over 2 chunks")
    func ranges() {
        // Rank 0: [3, 2]; rank 1: [2, 2]. Order: rank 0 chunk 0, rank 1 chunk 0, rank 0 chunk 1, rank 1 chunk 1.
        #expect(ChunkSplit.chunkRanges(rankLayers: [5, 4], chunks: 2) == [0 ..< 3, 3 ..< 5, 5 ..< 7, 7 ..< 9])
    }
}

@Suite("Uneven interleaved pipelines")
struct UnevenInterleavedScheduleTests {
    @Test("interleaved ranks of 1 s and 2 s, v = 2, m = 4: the fill and drain pass one chunk of each other rank, (1 + 2) / 2 + (4 - 1/2) x 2 = 8.5 s")
    func unevenRanks() {
        #expect(PipelineSchedule.interleaved.pipelineSeconds(stageSeconds: [1, 2], microbatches: 4, virtualStages: 2) == 8.5)
    }
}
