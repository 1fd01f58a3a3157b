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
                                 backwardSeconds: backwardSeconds, record: { steps.append($0) })
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
        simulate(schedule: schedule, microbatches: microbatches, forwardSeconds: forwardSeconds, backwardSeconds: backwardSeconds,
                 record: nil)
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

    /// Runs the schedule, handing `record` (where given) every step in the order it is placed; returns when the last
    /// one ends.
    ///
    /// Every pass is a slot, `(pass x stages + stage) x m + microbatch` (forwards first), in one array of end times;
    /// each rank's order is laid out once as slots, with each pass's seconds and the slot its input comes from, so
    /// that placing a pass reads three arrays and one end time. The Megatron grid runs this for every configuration
    /// (hundreds of thousands of passes at GPT-3 175B's deepest), and so keeps it free of per-pass allocations.
    private static func simulate(schedule: PipelineSchedule, microbatches m: Int, forwardSeconds: [[Double]],
                                 backwardSeconds: [[Double]], record: ((Step) -> Void)?) -> Double {
        let p = forwardSeconds.count, v = forwardSeconds.first?.count ?? 1
        precondition(p >= 1 && v >= 1 && m >= 1 && backwardSeconds.count == p, "ranks, chunks and microbatches")
        let stages = p * v, passes = stages * m, perRank = 2 * m * v
        // Rank by rank, each pass in its order: its slot, its seconds and its input's slot (-1: ready at the start).
        var slots = Array(repeating: 0, count: 2 * passes), inputs = slots
        var seconds = Array(repeating: 0.0, count: 2 * passes)
        let chunkOrder = Self.chunkOrder(schedule: schedule, ranks: p, chunks: v, microbatches: m)
        for rank in 0 ..< p {
            let warmUp = Self.warmUp(schedule: schedule, rank: rank, ranks: p, chunks: v, microbatches: m)
            let base = rank * perRank
            for (position, (index, pass)) in chunkOrder.orderIndices(warmUp: warmUp).enumerated() {
                let (chunk, microbatch) = pass == .forward ? chunkOrder.forwards[index] : chunkOrder.backwards[index]
                let stage = chunk * p + rank
                let local = stage * m + microbatch
                slots[base + position] = pass == .forward ? local : passes + local
                switch pass {
                case .forward:
                    inputs[base + position] = stage == 0 ? -1 : local - m
                    seconds[base + position] = forwardSeconds[rank][chunk]
                case .backward:
                    inputs[base + position] = stage == stages - 1 ? local : passes + local + m
                    seconds[base + position] = backwardSeconds[rank][chunk]
                }
            }
        }
        // End times by slot; NaN where not yet run.
        var end = Array(repeating: Double.nan, count: 2 * passes)
        var next = (0 ..< p).map { $0 * perRank }
        var free = Array(repeating: 0.0, count: p)
        /// When the input of the pass at `position` is ready; NaN where it is not yet computed.
        func ready(_ position: Int) -> Double {
            let input = inputs[position]
            return input < 0 ? 0 : end[input]
        }
        func run(_ rank: Int, _ position: Int, at readyTime: Double) {
            let start = max(free[rank], readyTime)
            let finish = start + seconds[position]
            free[rank] = finish
            end[slots[position]] = finish
            if let record {
                let slot = slots[position], pass: Pass = slot < passes ? .forward : .backward
                let stage = (slot % passes) / m
                record(Step(rank: rank, chunk: stage / p, microbatch: slot % m, pass: pass, start: start, end: finish))
            }
        }
        var remaining = 2 * passes
        while remaining > 0 {
            var progressed = false
            for rank in 0 ..< p {
                let limit = (rank + 1) * perRank
                while next[rank] < limit {
                    let readyTime = ready(next[rank])
                    if readyTime.isNaN { break }
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
            var best: (rank: Int, position: Int, time: Double)?
            for rank in 0 ..< p {
                for position in next[rank] ..< (rank + 1) * perRank {
                    let readyTime = ready(position)
                    if !readyTime.isNaN {
                        let time = max(free[rank], readyTime)
                        if best.map({ time < $0.time }) ?? true { best = (rank, position, time) }
                        break
                    }
                }
            }
            let (rank, position, _) = best!
            run(rank, position, at: ready(position))
            slots.swapAt(next[rank], position)
            inputs.swapAt(next[rank], position)
            seconds.swapAt(next[rank], position)
            next[rank] += 1
            remaining -= 1
        }
        return free.max() ?? 0
    }

    /// The (chunk, microbatch) of every forward and every backward of a rank, in the order its schedule issues
    /// them (the same on every rank), and how a rank interleaves them after its warm-up.
    private struct ChunkOrder {
        var schedule: PipelineSchedule
        var forwards: [(chunk: Int, microbatch: Int)]
        var backwards: [(chunk: Int, microbatch: Int)]

        /// The rank's order as (index into `forwards` or `backwards`, pass), after `warmUp` forwards.
        func orderIndices(warmUp: Int) -> [(index: Int, pass: Pass)] {
            let total = forwards.count
            var order: [(index: Int, pass: Pass)] = []
            order.reserveCapacity(2 * total)
            switch schedule {
            case .gpipe:
                for index in 0 ..< total { order.append((index, .forward)) }
                for index in 0 ..< total { order.append((index, .backward)) }
            case .oneForwardOneBackward, .interleaved:
                for index in 0 ..< warmUp { order.append((index, .forward)) }
                for k in 0 ..< total - warmUp {
                    order.append((warmUp + k, .forward))
                    order.append((k, .backward))
                }
                for index in total - warmUp ..< total { order.append((index, .backward)) }
            }
            return order
        }
    }

    /// Every forward and backward of a rank in its schedule's order (`order(schedule:rank:ranks:chunks:microbatches:)`).
    private static func chunkOrder(schedule: PipelineSchedule, ranks p: Int, chunks v: Int, microbatches m: Int) -> ChunkOrder {
        var forwards: [(chunk: Int, microbatch: Int)] = [], backwards: [(chunk: Int, microbatch: Int)] = []
        forwards.reserveCapacity(m * v)
        backwards.reserveCapacity(m * v)
        switch schedule {
        case .gpipe:
            for chunk in 0 ..< v { for microbatch in 0 ..< m { forwards.append((chunk, microbatch)) } }
            for chunk in (0 ..< v).reversed() { for microbatch in 0 ..< m { backwards.append((chunk, microbatch)) } }
        case .oneForwardOneBackward, .interleaved:
            // Forward k takes microbatches in groups of p through chunk 0, 1, ... (a smaller last group when p
            // does not divide m); backward k takes the same groups through the chunks in reverse.
            for first in stride(from: 0, to: m, by: p) {
                let group = first ..< min(first + p, m)
                for chunk in 0 ..< v { for microbatch in group { forwards.append((chunk, microbatch)) } }
                for chunk in (0 ..< v).reversed() { for microbatch in group { backwards.append((chunk, microbatch)) } }
            }
        }
        return ChunkOrder(schedule: schedule, forwards: forwards, backwards: backwards)
    }

    /// The forwards rank `rank` runs before its first backward under 1F1B and interleaved 1F1B.
    private static func warmUp(schedule: PipelineSchedule, rank: Int, ranks p: Int, chunks v: Int, microbatches m: Int) -> Int {
        let total = m * v
        return v == 1 ? min(p - rank - 1, total) : min(2 * (p - rank - 1) + (v - 1) * p, total)
    }

    /// The order in which rank `rank` issues its passes: (chunk, microbatch, pass).
    static func order(schedule: PipelineSchedule, rank: Int, ranks p: Int, chunks v: Int,
                      microbatches m: Int) -> [(chunk: Int, microbatch: Int, pass: Pass)] {
        let chunkOrder = Self.chunkOrder(schedule: schedule, ranks: p, chunks: v, microbatches: m)
        return chunkOrder.orderIndices(warmUp: warmUp(schedule: schedule, rank: rank, ranks: p, chunks: v, microbatches: m)).map { index, pass in
            let (chunk, microbatch) = pass == .forward ? chunkOrder.forwards[index] : chunkOrder.backwards[index]
            return (chunk, microbatch, pass)
        }
    }
}
