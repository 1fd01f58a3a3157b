import Testing
@testable import ShardPlan

@Suite("Microbatch sweep: which counts each stage DP is solved at, and when it stops")
struct MicrobatchSweepTests {
    private let powers = [1, 2, 4, 8, 16, 32, 64, 128, 256]

    private func program(depth: Int?, schedule: PipelineSchedule = .oneForwardOneBackward, chunks: Int = 1) -> StageDynamicProgram {
        let submeshes = [SubmeshShape(nodes: 1, devicesPerNode: 8)]
        return depth.map { StageDynamicProgram(layerCount: 80, nodes: 280, devicesPerNode: 8, microbatches: 1, schedule: schedule,
                                               virtualStages: chunks, submeshes: submeshes, stageCount: $0) }
            ?? StageDynamicProgram(layerCount: 80, nodes: 280, devicesPerNode: 8, microbatches: 1, submeshes: submeshes)
    }

    @Test("a 35-rank pipeline of 280 sequences is solved at whole rounds, 35, 70, 140 and 280, never below 35; a free depth at the powers of two")
    func countsPerProgram() {
        let batchPowers = powers.filter { 280 % $0 == 0 }
        #expect(PipelinePlanner.microbatchCounts(of: program(depth: nil), powersOfTwo: batchPowers, batch: 280, limit: 1024)
                == [1, 2, 4, 8])
        #expect(PipelinePlanner.microbatchCounts(of: program(depth: 35, schedule: .interleaved, chunks: 3), powersOfTwo: batchPowers,
                                                 batch: 280, limit: 1024) == [35, 70, 140, 280])
        #expect(PipelinePlanner.microbatchCounts(of: program(depth: 35), powersOfTwo: batchPowers, batch: 280, limit: 200)
                == [35, 70, 140])
        #expect(PipelinePlanner.microbatchCounts(of: program(depth: 4), powersOfTwo: batchPowers, batch: 280, limit: 1024)
                == [4, 8])
        #expect(PipelinePlanner.microbatchCounts(of: program(depth: 4, schedule: .interleaved, chunks: 2), powersOfTwo: batchPowers,
                                                 batch: 280, limit: 1024) == [4, 8])
        // A count the user fixed is the only one; an interleaved pipeline it does not fill is not solved.
        #expect(PipelinePlanner.microbatchCounts(of: program(depth: 35, schedule: .interleaved, chunks: 3), powersOfTwo: [70],
                                                 batch: nil, limit: 1024) == [70])
        #expect(PipelinePlanner.microbatchCounts(of: program(depth: 35, schedule: .interleaved, chunks: 3), powersOfTwo: [8],
                                                 batch: nil, limit: 1024).isEmpty)
        #expect(PipelinePlanner.microbatchCounts(of: program(depth: 6), powersOfTwo: [8], batch: nil, limit: 1024) == [8])
        #expect(PipelinePlanner.microbatchCounts(of: program(depth: 35), powersOfTwo: [8], batch: nil, limit: 1024).isEmpty)
    }

    @Test("a program stops after two counts in a row no faster than its best, or once its floor reaches the leader")
    func patienceAndFloor() {
        var sweep = MicrobatchSweep()
        for seconds in [20.0, 15, 16] { sweep.record(seconds) }
        #expect(!sweep.isFinished(leaderSeconds: 10))
        sweep.record(14)
        #expect(sweep.bestSeconds == 14 && !sweep.isFinished(leaderSeconds: 10))
        sweep.record(14)
        #expect(!sweep.isFinished(leaderSeconds: 10))
        sweep.record(30)
        #expect(sweep.isFinished(leaderSeconds: 10))

        var bounded = MicrobatchSweep()
        bounded.record(20, laterFloor: 12)
        #expect(!bounded.isFinished(leaderSeconds: 13))
        #expect(bounded.isFinished(leaderSeconds: 12))
        // A floor never falls: a later, looser one leaves the tighter in place.
        bounded.record(19, laterFloor: 5)
        #expect(bounded.laterFloorSeconds == 12)
    }

    private func partition(_ stages: [(seconds: Double, least: Double, tail: Double)], microbatches: Int,
                           chunks: Int) -> PipelinePartition<Int> {
        let submesh = SubmeshShape(nodes: 1, devicesPerNode: 8)
        return PipelinePartition(stages: stages.enumerated().map { rank, stage in
            PipelineStage(layers: rank ..< rank + 1, submesh: submesh, devices: Array(rank * 8 ..< rank * 8 + 8),
                          position: PipelinePosition(schedule: chunks > 1 ? .interleaved : .oneForwardOneBackward,
                                                     stagesFromEnd: stages.count - rank, stageCount: stages.count,
                                                     virtualStages: chunks, microbatches: microbatches),
                          candidate: StageCandidate(microbatchSeconds: stage.seconds, iterationSeconds: stage.tail, peakMemoryBytes: 1,
                                                    activationBytesPerMicrobatch: 1, payload: rank,
                                                    leastMicrobatchSeconds: stage.least, leastIterationSeconds: stage.tail))
        }, microbatches: microbatches, schedule: chunks > 1 ? .interleaved : .oneForwardOneBackward, virtualStages: chunks)
    }

    @Test("the floor at later counts, by hand: the least slowest rank the DP's optimality allows, or the ranks' mean where memory chose")
    func floorByHand() {
        // Four ranks at 1.0, 0.8, 0.8, 0.6 s per microbatch, 2 chunks, 8 microbatches, tails 0.1-0.4 s.
        // Nothing squeezed: slowest >= 1.0 - (4 * 1.0 - 3.2) / (2 * 8 - 1) = 1.0 - 0.8 / 15; the mean tail is 0.25.
        let free = partition([(1.0, 1.0, 0.1), (0.8, 0.8, 0.2), (0.8, 0.8, 0.3), (0.6, 0.6, 0.4)], microbatches: 8, chunks: 2)
        let floor = MicrobatchSweep.laterCountsFloor(free, hasFixedDepth: true)!
        #expect(abs(floor - (8 * (1.0 - 0.8 / 15) + 0.25)) < 1e-12)
        #expect(floor <= free.iterationSeconds)
        // The first rank could run at 0.5 s with fewer activations in flight: only the mean of the least
        // times is a floor, (0.5 + 0.8 + 0.8 + 0.6) / 4 = 0.675.
        let squeezed = partition([(1.0, 0.5, 0.1), (0.8, 0.8, 0.2), (0.8, 0.8, 0.3), (0.6, 0.6, 0.4)], microbatches: 8, chunks: 2)
        #expect(abs(MicrobatchSweep.laterCountsFloor(squeezed, hasFixedDepth: true)! - (8 * 0.675 + 0.25)) < 1e-12)
        // A program free to choose its depth gets none.
        #expect(MicrobatchSweep.laterCountsFloor(free, hasFixedDepth: false) == nil)
    }
}
