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

    private func program(depth: Int, stageNodes: Int, schedule: PipelineSchedule, chunks: Int = 1) -> StageDynamicProgram {
        StageDynamicProgram(layerCount: 96, nodes: depth * stageNodes, devicesPerNode: 8, microbatches: 1, schedule: schedule,
                            virtualStages: chunks, submeshes: [SubmeshShape(nodes: stageNodes, devicesPerNode: 8)], stageCount: depth)
    }

    @Test("beside its ladder a pipeline is solved at the counts that give its replicas whole power-of-two sequences: Narayanan et al.'s 2,160 sequences over 12 ranks of 160 devices reach 108")
    func dataParallelCountsByHand() {
        // Replicas of 1, 2, 4, 8, 16 or 32 devices: 160, 80, 40, 20, 10 or 5 of them. 2,160 / 160 is not whole;
        // 2,160 / 80 = 27, / 40 = 54 (or 27 of 2 sequences), / 20 = 108, / 10 = 216, / 5 = 432, and halves of them.
        #expect(PipelinePlanner.dataParallelCounts(of: program(depth: 12, stageNodes: 20, schedule: .oneForwardOneBackward),
                                                   batch: 2160, limit: 1024) == [27, 54, 108, 216, 432])
        // Interleaved: whole rounds of 12 only. Under a limit of 200: 108 alone.
        #expect(PipelinePlanner.dataParallelCounts(of: program(depth: 12, stageNodes: 20, schedule: .interleaved, chunks: 2),
                                                   batch: 2160, limit: 1024) == [108, 216, 432])
        #expect(PipelinePlanner.dataParallelCounts(of: program(depth: 12, stageNodes: 20, schedule: .interleaved, chunks: 2),
                                                   batch: 2160, limit: 200) == [108])
        // A program free to choose its depth has no one submesh: the powers of two only.
        #expect(PipelinePlanner.dataParallelCounts(of: program(depth: nil), batch: 2160, limit: 1024).isEmpty)
        // One stage of 64 devices and 192 sequences: 3 sequences a device is not a power of two, so 1
        // microbatch is not among these (the powers of two give it); 3 microbatches of one sequence a device are.
        #expect(Graph.wholeSequenceCounts(batch: 192, devices: 64, limit: 1024) == [3, 6, 12, 24, 48, 96, 192])
    }

    @Test("the whole-sequence counts, of one stage and of a pipeline, against a brute force over every count, 300 random cases")
    func dataParallelCountsOracle() {
        var generator = SplitMix64(seed: 20261203)
        for _ in 0..<300 {
            let depth = Int.random(in: 2...12, using: &generator), stageNodes = Int.random(in: 1...6, using: &generator)
            let interleaved = Bool.random(using: &generator)
            let batch = Int.random(in: 1...3000, using: &generator), limit = [64, 1024].randomElement(using: &generator)!
            let counts = PipelinePlanner.dataParallelCounts(
                of: program(depth: depth, stageNodes: stageNodes, schedule: interleaved ? .interleaved : .oneForwardOneBackward,
                            chunks: interleaved ? 2 : 1), batch: batch, limit: limit)
            let devices = stageNodes * 8
            #expect(Graph.wholeSequenceCounts(batch: batch, devices: devices, limit: limit)
                    == Set((1...limit).filter { count in Self.givesWholePowerOfTwo(count: count, batch: batch, devices: devices) }))
            let expected = Set((1...limit).filter { count in
                count >= depth && (!interleaved || count % depth == 0)
                    && Self.givesWholePowerOfTwo(count: count, batch: batch, devices: devices)
            })
            #expect(counts == expected, "depth \(depth), \(devices) devices a rank, batch \(batch)")
        }
    }

    /// Whether some split of `devices` into replicas of 2^i devices gives each replica 2^j sequences of every one
    /// of `count` microbatches of `batch`.
    private static func givesWholePowerOfTwo(count: Int, batch: Int, devices: Int) -> Bool {
        let powers = (0..<20).map { 1 << $0 }
        return powers.contains { replicaDevices in
            devices % replicaDevices == 0 && powers.contains { count * (devices / replicaDevices) * $0 == batch }
        }
    }

    @Test("a count off the ladder can set the best but is not held against the program when slower")
    func offLadderCounts() {
        var sweep = MicrobatchSweep()
        sweep.record(20)
        sweep.record(25, onLadder: false)
        sweep.record(30, onLadder: false)
        #expect(sweep.worseInARow == 0 && !sweep.isFinished(leaderSeconds: 10))
        sweep.record(18, onLadder: false)
        #expect(sweep.bestSeconds == 18)
        sweep.record(19)
        sweep.record(19)
        #expect(sweep.isFinished(leaderSeconds: 10))
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
