/// One iteration of a pipeline schedule as it runs: every rank's forward and backward passes of every
/// microbatch through each of its model chunks, issued in the schedule's order, each starting as soon as its
/// rank is free and its input has arrived (the previous virtual stage's forward, the next one's backward).
/// Times are seconds from the start of the iteration. `PlanEvaluator` prices a plan's pipeline with its
/// makespan (`makespan(schedule:microbatches:forwardSeconds:backwardSeconds:)`); the report draws its steps.
///
/// Orders, rank r of p with m microbatches and v chunks per rank (virtual stage s = chunk x p + r):
/// - GPipe (Huang et al. 2019): every forward, then every backward.
/// - 1F1B (PipeDream-Flush, Narayanan et al. 2021): p - r - 1 warm-up forwards, then one forward and one
///   backward in turn, then the remaining backwards.
/// - Interleaved 1F1B (Narayanan et al. 2021, section 2.2; Megatron-Core's `get_pp_rank_microbatches`):
///   microbatches in groups of p through chunk 0, then the same group through chunk 1, and so on (backwards
///   through the chunks in reverse); 2 (p - r - 1) + (v - 1) p warm-up forwards, then one forward and one
///   backward in turn.
public struct PipelineTimeline: Sendable {
    public enum Pass: String, Sendable {
        case forward, backward
    }

    /// One pass of one microbatch through one chunk of a rank.
    public struct Step: Sendable, Equatable {
        public var rank: Int
        /// The chunk of the rank (0 ..< v); the virtual stage is `chunk x ranks + rank`.
        public var chunk: Int
        public var microbatch: Int
        public var pass: Pass
        public var start: Double
        public var end: Double
    }

    public var ranks: Int
    public var virtualStages: Int
    public var microbatches: Int
    /// Every step, rank by rank in the order each rank runs them.
    public var steps: [Step]
    /// When the last step ends.
    public var makespan: Double

    /// The timeline of `schedule` with the seconds of one microbatch's forward and backward pass through each
    /// chunk of each rank (`forwardSeconds[rank][chunk]`).
    public init(schedule: PipelineSchedule, microbatches: Int, forwardSeconds: [[Double]], backwardSeconds: [[Double]]) {
        ranks = forwardSeconds.count
        virtualStages = forwardSeconds.first?.count ?? 1
        self.microbatches = microbatches
        var steps: [Step] = []
        steps.reserveCapacity(2 * microbatches * ranks * virtualStages)
        makespan = Self.simulate(schedule: schedule, microbatches: microbatches, forwardSeconds: forwardSeconds,
                                 backwardSeconds: backwardSeconds) { steps.append($0) }
        self.steps = steps
    }

    /// The timeline of `plan` as `prediction` prices it (`passSeconds(plan:stageCosts:pointToPointSeconds:)`).
    public init(plan: TrainingPlan, prediction: PlanPrediction) {
        let passes = Self.passSeconds(plan: plan, stageCosts: prediction.stageCosts,
                                      pointToPointSeconds: prediction.ranks.map(\.pointToPointSeconds))
        self.init(schedule: plan.schedule, microbatches: plan.microbatches, forwardSeconds: passes.forward, backwardSeconds: passes.backward)
    }

    /// When the last pass of `schedule` ends, as `init(schedule:microbatches:forwardSeconds:backwardSeconds:)` runs
    /// it, without keeping the steps: the pipeline's seconds in `PlanEvaluator` and the Megatron grid's estimate.
    public static func makespan(schedule: PipelineSchedule, microbatches: Int, forwardSeconds: [[Double]],
                                backwardSeconds: [[Double]]) -> Double {
        simulate(schedule: schedule, microbatches: microbatches, forwardSeconds: forwardSeconds, backwardSeconds: backwardSeconds) { _ in }
    }

    /// The seconds of one microbatch's forward and backward pass through each chunk of `plan`'s ranks
    /// (`[rank][chunk]`): each stage's own (`stageCosts`, in the plan's stage order), with its rank's point-to-point
    /// transfers per microbatch (`pointToPointSeconds`, by rank) shared evenly among the rank's chunks.
    public static func passSeconds(plan: TrainingPlan, stageCosts: [StageCost],
                                   pointToPointSeconds: [Double]) -> (forward: [[Double]], backward: [[Double]]) {
        let p = plan.pipelineRanks, v = plan.stages.count / p
        var forward = Array(repeating: Array(repeating: 0.0, count: v), count: p)
        var backward = forward
        for (index, cost) in stageCosts.enumerated() {
            forward[plan.rank(ofStage: index)][index / p] = cost.forwardSeconds
            backward[plan.rank(ofStage: index)][index / p] = cost.backwardSeconds
        }
        return withTransfers(forwardSeconds: forward, backwardSeconds: backward, pointToPointSeconds: pointToPointSeconds)
    }

    /// Chunks' pass seconds (`[rank][chunk]`) with each rank's point-to-point seconds per microbatch
    /// (`pointToPointSeconds[rank]`) shared evenly among its chunks, half with the forward (activations out) and half
    /// with the backward (their gradients back): how `PlanEvaluator`, the report and the Megatron grid's estimate all
    /// place the transfers on the schedule.
    static func withTransfers(forwardSeconds: [[Double]], backwardSeconds: [[Double]],
                              pointToPointSeconds: [Double]) -> (forward: [[Double]], backward: [[Double]]) {
        var forward = forwardSeconds, backward = backwardSeconds
        for rank in forward.indices {
            let transfer = pointToPointSeconds[rank] / Double(forward[rank].count) / 2
            for chunk in forward[rank].indices {
                forward[rank][chunk] += transfer
                backward[rank][chunk] += transfer
            }
        }
        return (forward, backward)
    }

    /// Seconds rank `rank` waits within the makespan: the pipeline bubble it sees.
    public func idleSeconds(rank: Int) -> Double {
        makespan - steps.filter { $0.rank == rank }.reduce(0) { $0 + ($1.end - $1.start) }
    }

    /// Runs the schedule, handing `record` every step in the order it is placed; returns when the last one ends.
    private static func simulate(schedule: PipelineSchedule, microbatches m: Int, forwardSeconds: [[Double]],
                                 backwardSeconds: [[Double]], record: (Step) -> Void) -> Double {
        let p = forwardSeconds.count, v = forwardSeconds.first?.count ?? 1
        precondition(p >= 1 && v >= 1 && m >= 1 && backwardSeconds.count == p, "ranks, chunks and microbatches")
        var orders = (0 ..< p).map { Self.order(schedule: schedule, rank: $0, ranks: p, chunks: v, microbatches: m) }
        let stages = p * v
        // End times by pass, virtual stage and microbatch (`stage * m + microbatch`); NaN where not yet run.
        var forwardEnd = Array(repeating: Double.nan, count: stages * m)
        var backwardEnd = forwardEnd
        var next = Array(repeating: 0, count: p)
        var free = Array(repeating: 0.0, count: p)
        /// When the input of a pass is ready, or nil when it is not yet computed.
        func ready(_ chunk: Int, _ rank: Int, _ microbatch: Int, _ pass: Pass) -> Double? {
            let stage = chunk * p + rank
            let time: Double
            switch pass {
            case .forward: time = stage == 0 ? 0 : forwardEnd[(stage - 1) * m + microbatch]
            case .backward: time = stage == stages - 1 ? forwardEnd[stage * m + microbatch] : backwardEnd[(stage + 1) * m + microbatch]
            }
            return time.isNaN ? nil : time
        }
        func run(_ rank: Int, _ index: Int, at readyTime: Double) {
            let (chunk, microbatch, pass) = orders[rank][index]
            let start = max(free[rank], readyTime)
            let end = start + (pass == .forward ? forwardSeconds[rank][chunk] : backwardSeconds[rank][chunk])
            free[rank] = end
            let slot = (chunk * p + rank) * m + microbatch
            if pass == .forward { forwardEnd[slot] = end } else { backwardEnd[slot] = end }
            record(Step(rank: rank, chunk: chunk, microbatch: microbatch, pass: pass, start: start, end: end))
        }
        var remaining = 2 * m * stages
        while remaining > 0 {
            var progressed = false
            for rank in 0 ..< p {
                while next[rank] < orders[rank].count {
                    let (chunk, microbatch, pass) = orders[rank][next[rank]]
                    guard let readyTime = ready(chunk, rank, microbatch, pass) else { break }
                    run(rank, next[rank], at: readyTime)
                    next[rank] += 1
                    remaining -= 1
                    progressed = true
                }
            }
            guard !progressed, remaining > 0 else { continue }
            // Every rank waits for a step that its own order puts later (a microbatch count the schedule's
            // groups do not divide): the rank whose waiting step is ready earliest runs the first ready step of
            // its order instead.
            var best: (rank: Int, index: Int, time: Double)?
            for rank in 0 ..< p {
                for index in next[rank] ..< orders[rank].count {
                    let (chunk, microbatch, pass) = orders[rank][index]
                    if let readyTime = ready(chunk, rank, microbatch, pass) {
                        let time = max(free[rank], readyTime)
                        if best.map({ time < $0.time }) ?? true { best = (rank, index, time) }
                        break
                    }
                }
            }
            let (rank, index, _) = best!
            let readyTime = ready(orders[rank][index].chunk, rank, orders[rank][index].microbatch, orders[rank][index].pass)!
            run(rank, index, at: readyTime)
            orders[rank].swapAt(next[rank], index)
            next[rank] += 1
            remaining -= 1
        }
        return free.max() ?? 0
    }

    /// The order in which rank `rank` issues its passes: (chunk, microbatch, pass).
    static func order(schedule: PipelineSchedule, rank: Int, ranks p: Int, chunks v: Int,
                      microbatches m: Int) -> [(chunk: Int, microbatch: Int, pass: Pass)] {
        switch schedule {
        case .gpipe:
            let forwards = (0 ..< v).flatMap { chunk in (0 ..< m).map { (chunk, $0, Pass.forward) } }
            let backwards = (0 ..< v).reversed().flatMap { chunk in (0 ..< m).map { (chunk, $0, Pass.backward) } }
            return forwards + backwards
        case .oneForwardOneBackward, .interleaved:
            // Forward k takes microbatches in groups of p through chunk 0, 1, ... (a smaller last group when p
            // does not divide m); backward k takes the same groups through the chunks in reverse.
            var forwards: [(Int, Int)] = [], backwards: [(Int, Int)] = []
            for first in stride(from: 0, to: m, by: p) {
                let group = first ..< min(first + p, m)
                for chunk in 0 ..< v { forwards += group.map { (chunk, $0) } }
                for chunk in (0 ..< v).reversed() { backwards += group.map { (chunk, $0) } }
            }
            let total = m * v
            let warmUp = v == 1 ? min(p - rank - 1, total) : min(2 * (p - rank - 1) + (v - 1) * p, total)
            var order: [(chunk: Int, microbatch: Int, pass: Pass)] = forwards.prefix(warmUp).map { ($0.0, $0.1, .forward) }
            for k in 0 ..< total - warmUp {
                order.append((forwards[warmUp + k].0, forwards[warmUp + k].1, .forward))
                order.append((backwards[k].0, backwards[k].1, .backward))
            }
            order += backwards.suffix(warmUp).map { ($0.0, $0.1, .backward) }
            return order
        }
    }
}
