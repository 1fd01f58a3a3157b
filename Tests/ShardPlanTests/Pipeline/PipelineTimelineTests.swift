import Testing
@testable import ShardPlan

@Suite("Pipeline timeline: the schedules run step by step, against PipelineSchedule's closed forms")
struct PipelineTimelineTests {
    static func uniform(_ schedule: PipelineSchedule, ranks: Int, chunks: Int, microbatches: Int,
                        forward: Double, backward: Double) -> PipelineTimeline {
        PipelineTimeline(schedule: schedule, microbatches: microbatches,
                         forwardSeconds: Array(repeating: Array(repeating: forward / Double(chunks), count: chunks), count: ranks),
                         backwardSeconds: Array(repeating: Array(repeating: backward / Double(chunks), count: chunks), count: ranks))
    }

    @Test("equal ranks: the makespan is pipelineSeconds, (m + (p - 1) / v) (f + b)", arguments: [
        (PipelineSchedule.gpipe, 4, 1, 8), (.gpipe, 3, 1, 1), (.oneForwardOneBackward, 4, 1, 8), (.oneForwardOneBackward, 4, 1, 2),
        (.oneForwardOneBackward, 1, 1, 5), (.oneForwardOneBackward, 8, 1, 64), (.interleaved, 4, 2, 8), (.interleaved, 2, 3, 4),
        (.interleaved, 4, 4, 16), (.interleaved, 8, 2, 32),
    ])
    func equalRanks(schedule: PipelineSchedule, ranks: Int, chunks: Int, microbatches: Int) {
        // Backward twice the forward, as a transformer's; times chosen so the sums are exact in binary.
        let timeline = Self.uniform(schedule, ranks: ranks, chunks: chunks, microbatches: microbatches, forward: 1, backward: 2)
        let closedForm = schedule.pipelineSeconds(stageSeconds: Array(repeating: 3, count: ranks), microbatches: microbatches,
                                                  virtualStages: chunks)
        #expect(abs(timeline.makespan - closedForm) < 1e-9, "simulated \(timeline.makespan), closed form \(closedForm)")
        #expect(timeline.steps.count == 2 * ranks * chunks * microbatches)
        // Hand check of one case: 1F1B, 4 ranks, 8 microbatches of 3 s: (8 + 3) x 3 = 33 s.
        if schedule == .oneForwardOneBackward && ranks == 4 && microbatches == 8 { #expect(timeline.makespan == 33) }
    }

    @Test("every pass runs after its input, one at a time per rank, and 1F1B keeps at most p - r microbatches alive")
    func causality() {
        let timeline = PipelineTimeline(schedule: .oneForwardOneBackward, microbatches: 6,
                                        forwardSeconds: [[1], [2], [1.5]], backwardSeconds: [[2], [3], [2.5]])
        let end = Dictionary(uniqueKeysWithValues: timeline.steps.map { ("\($0.pass)\($0.rank)-\($0.microbatch)", $0.end) })
        for step in timeline.steps {
            if step.pass == .forward, step.rank > 0 { #expect(step.start >= end["forward\(step.rank - 1)-\(step.microbatch)"]!) }
            if step.pass == .backward {
                let input = step.rank == 2 ? end["forward2-\(step.microbatch)"]! : end["backward\(step.rank + 1)-\(step.microbatch)"]!
                #expect(step.start >= input)
            }
        }
        for rank in 0 ..< 3 {
            let own = timeline.steps.filter { $0.rank == rank }
            for (a, b) in zip(own, own.dropFirst()) { #expect(b.start >= a.end) }
            var alive = 0, most = 0
            for step in own { alive += step.pass == .forward ? 1 : -1; most = max(most, alive) }
            #expect(most == 3 - rank)
        }
    }

    @Test("unequal ranks, 1F1B: never faster than the busiest rank or one microbatch's trip, never slower than the closed form",
          arguments: 0 ..< 24)
    func unequalRanksOneForwardOneBackward(seed: Int) {
        let (forward, backward, microbatches) = Self.randomRanks(seed: seed)
        let timeline = PipelineTimeline(schedule: .oneForwardOneBackward, microbatches: microbatches,
                                        forwardSeconds: forward, backwardSeconds: backward)
        let perRank = zip(forward, backward).map { $0[0] + $1[0] }
        let closedForm = PipelineSchedule.oneForwardOneBackward.pipelineSeconds(stageSeconds: perRank, microbatches: microbatches, virtualStages: 1)
        #expect(timeline.makespan >= max(perRank.max()! * Double(microbatches), perRank.reduce(0, +)) - 1e-9)
        #expect(timeline.makespan <= closedForm + 1e-9, "simulated \(timeline.makespan), closed form \(closedForm)")
    }

    /// GPipe is two flow shops of identical jobs, every forward and then every backward: each takes the sum of
    /// its passes plus m - 1 times its slowest pass. The closed form, which takes the slowest rank's forward and
    /// backward together, is short of that when the slowest forward and the slowest backward are on different
    /// ranks (by up to 8.6% over 3,000 random pipelines).
    @Test("unequal ranks, GPipe: a forward flow shop, then a backward one", arguments: 0 ..< 24)
    func unequalRanksGPipe(seed: Int) {
        let (forward, backward, microbatches) = Self.randomRanks(seed: seed)
        let timeline = PipelineTimeline(schedule: .gpipe, microbatches: microbatches, forwardSeconds: forward, backwardSeconds: backward)
        func flowShop(_ seconds: [Double]) -> Double { seconds.reduce(0, +) + Double(microbatches - 1) * seconds.max()! }
        let twoPhases = flowShop(forward.map { $0[0] }) + flowShop(backward.map { $0[0] })
        #expect(abs(timeline.makespan - twoPhases) < 1e-9 * twoPhases, "simulated \(timeline.makespan), two flow shops \(twoPhases)")
        let perRank = zip(forward, backward).map { $0[0] + $1[0] }
        #expect(timeline.makespan >= PipelineSchedule.gpipe.pipelineSeconds(stageSeconds: perRank, microbatches: microbatches, virtualStages: 1) - 1e-9)
    }

    static func randomRanks(seed: Int) -> (forward: [[Double]], backward: [[Double]], microbatches: Int) {
        var random = SplitMix64(seed: UInt64(seed))
        let ranks = 2 + Int(random.next() % 5), microbatches = 1 + Int(random.next() % 12)
        let forward = (0 ..< ranks).map { _ in [0.5 + Double(random.next() % 100) / 50] }
        let backward = forward.map { [$0[0] * (1.5 + Double(random.next() % 100) / 100)] }
        return (forward, backward, microbatches)
    }

    @Test("a microbatch count the interleaved groups do not divide still runs every pass once")
    func raggedGroups() {
        let timeline = Self.uniform(.interleaved, ranks: 4, chunks: 2, microbatches: 6, forward: 1, backward: 2)
        #expect(timeline.steps.count == 2 * 4 * 2 * 6)
        #expect(timeline.makespan >= 6 * 3)
    }
}
