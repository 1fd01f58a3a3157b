import Testing
@testable import ShardPlan

/// `PlanEvaluator` prices a plan's pipeline as its schedule runs (`PipelineTimeline.makespan`, with each rank's
/// point-to-point seconds placed by `PipelineTimeline.withTransfers`), not by `PipelineSchedule.pipelineSeconds`'s
/// closed form, which is exact for ranks of equal time only.
@Suite("The evaluator's pipeline time: the schedule as it runs")
struct PipelinePricingTests {
    /// The evaluator's pipeline seconds for chunks' own passes and each rank's point-to-point seconds.
    static func pipelineSeconds(_ schedule: PipelineSchedule, microbatches: Int, forward: [[Double]], backward: [[Double]],
                                pointToPoint: [Double]) -> Double {
        let passes = PipelineTimeline.withTransfers(forwardSeconds: forward, backwardSeconds: backward, pointToPointSeconds: pointToPoint)
        return PipelineTimeline.makespan(schedule: schedule, microbatches: microbatches, forwardSeconds: passes.forward,
                                         backwardSeconds: passes.backward)
    }

    /// 1F1B, 2 ranks, 3 microbatches. Rank 0 computes 0.5 s forward and 1.5 s backward, rank 1 0.5 s each; each sends
    /// and receives 1 s a microbatch, half with each pass, so rank 0's passes take 1 and 2 s and rank 1's 1 and 1 s
    /// (3 and 2 s a microbatch). Rank 0 warms up with one forward:
    ///
    ///     rank 0: F0 0-1, F1 1-2, (waits 2-3), B0 3-5, F2 5-6, B1 6-8, B2 8-10
    ///     rank 1:         F0 1-2, B0 2-3, F1 3-4, B1 4-5, (waits 5-6), F2 6-7, B2 7-8
    ///
    /// 10 s. The closed form, `sum + (m - 1) max` = 5 + 2 x 3 = 11 s, charges rank 1's fill and drain as though it
    /// were as slow as rank 0.
    @Test("1F1B, unequal ranks: the evaluator's pipeline time is the hand-run schedule's 10 s, not the closed form's 11 s")
    func oneForwardOneBackwardUnequalRanks() {
        let seconds = Self.pipelineSeconds(.oneForwardOneBackward, microbatches: 3, forward: [[0.5], [0.5]], backward: [[1.5], [0.5]],
                                           pointToPoint: [1, 1])
        #expect(seconds == 10)
        #expect(PipelineSchedule.oneForwardOneBackward.pipelineSeconds(stageSeconds: [3, 2], microbatches: 3, virtualStages: 1) == 11)
    }

    /// Interleaved 1F1B, 2 ranks of 2 chunks, 2 microbatches. Every chunk's forward takes 1 s; a backward takes 2 s
    /// on rank 0 and 1 s on rank 1 (6 and 4 s a microbatch). Virtual stages 0 to 3 are rank 0 chunk 0, rank 1
    /// chunk 0, rank 0 chunk 1, rank 1 chunk 1; rank 0 warms up with 2 (p - 1) + (v - 1) p = 4 forwards, rank 1
    /// with 2:
    ///
    ///     rank 0: F00 0-1, F01 1-2, F10 2-3, F11 3-4, (waits 4-5), B10 5-7, B11 7-9, B00 9-11, B01 11-13
    ///     rank 1:          F00 1-2, F01 2-3, F10 3-4, B10 4-5, F11 5-6, B11 6-7, B00 7-8, (waits 8-9), B01 9-10
    ///
    /// (F10 is chunk 1's forward of microbatch 0.) 13 s; the closed form, `sum / v + (m - 1 / v) max` =
    /// 10 / 2 + 1.5 x 6 = 14 s.
    @Test("interleaved 1F1B, unequal ranks: the evaluator's pipeline time is the hand-run schedule's 13 s, not the closed form's 14 s")
    func interleavedUnequalRanks() {
        let seconds = Self.pipelineSeconds(.interleaved, microbatches: 2, forward: [[1, 1], [1, 1]], backward: [[2, 2], [1, 1]],
                                           pointToPoint: [0, 0])
        #expect(seconds == 13)
        #expect(PipelineSchedule.interleaved.pipelineSeconds(stageSeconds: [6, 4], microbatches: 2, virtualStages: 2) == 14)
    }

    /// Ranks of equal time, point-to-point included: the schedule runs in the closed form's `(m + (p - 1) / v) t`.
    @Test("equal ranks: the evaluator's pipeline time is the closed form", arguments: [
        (PipelineSchedule.gpipe, 4, 1, 8), (.oneForwardOneBackward, 4, 1, 8), (.oneForwardOneBackward, 4, 1, 3),
        (.interleaved, 4, 2, 8), (.interleaved, 2, 3, 6),
    ])
    func equalRanks(schedule: PipelineSchedule, ranks: Int, chunks: Int, microbatches: Int) {
        // A chunk computes 0.5 s forward and 1.5 s backward; a rank sends and receives 1 s a microbatch: 2 + 1 / v s a
        // pass pair and 2 v + 1 s a microbatch. 1F1B on 4 ranks, 8 microbatches: (8 + 3) x 3 = 33 s.
        let forward = Array(repeating: Array(repeating: 0.5, count: chunks), count: ranks)
        let backward = Array(repeating: Array(repeating: 1.5, count: chunks), count: ranks)
        let seconds = Self.pipelineSeconds(schedule, microbatches: microbatches, forward: forward, backward: backward,
                                           pointToPoint: Array(repeating: 1, count: ranks))
        let closedForm = schedule.pipelineSeconds(stageSeconds: Array(repeating: 2 * Double(chunks) + 1, count: ranks),
                                                  microbatches: microbatches, virtualStages: chunks)
        #expect(abs(seconds - closedForm) < 1e-9 * closedForm, "simulated \(seconds), closed form \(closedForm)")
        if schedule == .oneForwardOneBackward && microbatches == 8 { #expect(seconds == 33) }
    }

    /// The makespan of `schedule` as a longest path, without running it: a pass ends its own seconds after the
    /// later of its rank's previous pass (`PipelineTimeline.order`) and its input (the previous virtual stage's
    /// forward, the next one's backward, the last stage's own forward). Only for orders without a cycle (the
    /// interleaved groups dividing the microbatches).
    static func longestPath(_ schedule: PipelineSchedule, microbatches m: Int, forward: [[Double]], backward: [[Double]]) -> Double {
        let p = forward.count, v = forward[0].count, stages = p * v
        let orders = (0 ..< p).map { PipelineTimeline.order(schedule: schedule, rank: $0, ranks: p, chunks: v, microbatches: m) }
        // Position in its rank's order of each pass, by [forward?][stage][microbatch].
        var position = [[[Int]]](repeating: [[Int]](repeating: [Int](repeating: -1, count: m), count: stages), count: 2)
        for (rank, order) in orders.enumerated() {
            for (index, step) in order.enumerated() { position[step.pass == .forward ? 0 : 1][step.chunk * p + rank][step.microbatch] = index }
        }
        var memo: [[Double?]] = Array(repeating: Array(repeating: nil, count: stages * m), count: 2)
        func end(_ pass: Int, _ stage: Int, _ microbatch: Int) -> Double {
            if let known = memo[pass][stage * m + microbatch] { return known }
            let rank = stage % p, chunk = stage / p, index = position[pass][stage][microbatch]
            var start = 0.0
            if index > 0 {
                let before = orders[rank][index - 1]
                start = end(before.pass == .forward ? 0 : 1, before.chunk * p + rank, before.microbatch)
            }
            if pass == 0, stage > 0 { start = max(start, end(0, stage - 1, microbatch)) }
            if pass == 1 { start = max(start, stage == stages - 1 ? end(0, stage, microbatch) : end(1, stage + 1, microbatch)) }
            let finish = start + (pass == 0 ? forward[rank][chunk] : backward[rank][chunk])
            memo[pass][stage * m + microbatch] = finish
            return finish
        }
        return (0 ..< stages).flatMap { stage in (0 ..< m).map { end(1, stage, $0) } }.max()!
    }

    /// Oracle: on random pipelines (unequal ranks and chunks, point-to-point included) the evaluator's pipeline time
    /// is the longest path through the schedule's passes.
    @Test("random pipelines: the evaluator's pipeline time is the longest path through the passes", arguments: 0 ..< 40)
    func randomPipelines(seed: Int) {
        var random = SplitMix64(seed: UInt64(seed))
        let schedule = PipelineSchedule.allCases[Int(random.next() % 3)]
        let ranks = 1 + Int(random.next() % 4)
        let chunks = schedule == .interleaved ? 2 + Int(random.next() % 2) : 1
        let microbatches = schedule == .interleaved ? ranks * (1 + Int(random.next() % 3)) : 1 + Int(random.next() % 9)
        func seconds() -> Double { 0.25 + Double(random.next() % 64) / 16 }
        let forward = (0 ..< ranks).map { _ in (0 ..< chunks).map { _ in seconds() } }
        let backward = (0 ..< ranks).map { _ in (0 ..< chunks).map { _ in seconds() } }
        let pointToPoint = (0 ..< ranks).map { _ in seconds() / 4 }
        let priced = Self.pipelineSeconds(schedule, microbatches: microbatches, forward: forward, backward: backward, pointToPoint: pointToPoint)
        let passes = PipelineTimeline.withTransfers(forwardSeconds: forward, backwardSeconds: backward, pointToPointSeconds: pointToPoint)
        let oracle = Self.longestPath(schedule, microbatches: microbatches, forward: passes.forward, backward: passes.backward)
        #expect(abs(priced - oracle) <= 1e-9 * oracle, "\(schedule.rawValue), \(ranks) x \(chunks), m \(microbatches): \(priced) against \(oracle)")
    }

    /// Oracle on the evaluator itself: random Megatron layouts of an 8-block Llama (uneven first and last ranks,
    /// every schedule) price their pipeline, the iteration less its slowest tail, at the longest path through the
    /// passes of the prediction's chunks, which is also the report's timeline.
    @Test("random plans: the evaluator's pipeline time is the longest path through the plan's passes, and the report's timeline", arguments: 0 ..< 12)
    func randomPlans(seed: Int) throws {
        var random = SplitMix64(seed: UInt64(seed))
        let graph = try Self.llama()
        let cluster = try Cluster.preset(named: "dgx-h100:1")
        let ranks = [2, 4][Int(random.next() % 2)]
        let schedule = PipelineSchedule.allCases[Int(random.next() % 3)]
        let chunks = schedule == .interleaved ? 2 : 1
        let microBatchSize = [1, 2, 4][Int(random.next() % 3)]
        let configuration = MegatronConfiguration(
            tensorParallel: 1 + Int(random.next() % 2), pipelineParallel: ranks, dataParallel: 1, microBatchSize: microBatchSize,
            virtualStages: chunks, schedule: schedule,
            // 8 blocks: the first rank's share leaves an equal share of the rest on each of the others.
            firstStageLayers: schedule == .interleaved ? nil : (ranks == 2 ? [nil, 3, 5] : [nil, 2, 5])[Int(random.next() % 3)])
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-h100:1", configuration: configuration)
        let prediction = PlanEvaluator(cluster: cluster).evaluate(plan)
        let tail = prediction.ranks.map { $0.exposedGradientSynchronizationSeconds + $0.optimizerSeconds }.max()!
        let passes = PipelineTimeline.passSeconds(plan: plan, stageCosts: prediction.stageCosts,
                                                  pointToPointSeconds: prediction.ranks.map(\.pointToPointSeconds))
        let oracle = Self.longestPath(plan.schedule, microbatches: plan.microbatches, forward: passes.forward, backward: passes.backward)
        let summary = configuration.summary(dataParallel: 1)
        #expect(abs((prediction.iterationSeconds - tail) - oracle) <= 1e-9 * oracle, "\(summary): \(prediction.iterationSeconds - tail) against \(oracle)")
        #expect(abs(PipelineTimeline(plan: plan, prediction: prediction).makespan - oracle) <= 1e-9 * oracle)
        // The breakdown still adds up to the iteration, its bubble the slowest rank's wait.
        #expect(abs(prediction.timeBreakdown.reduce(0) { $0 + $1.seconds } - prediction.iterationSeconds) <= 1e-9 * prediction.iterationSeconds)
    }

    static func llama() throws -> Graph {
        let configuration = TransformerConfiguration.llama(layers: 8, hidden: 64, heads: 8, keyValueHeads: 4, feedForwardHidden: 176,
                                                           vocabulary: 256, sequenceLength: 64, globalBatch: 16)
        return try TransformerBuilder(name: "llama-8", configuration: configuration).build()
    }
}
