/// Which of a pipeline rank's model chunks hold activations, and how many microbatches' worth, over one
/// iteration of a schedule as Megatron-LM runs it: a warm-up of forward passes, then one forward and one
/// backward per step, then the cool-down. A rank's peak activation memory is the largest of these states
/// weighed by each chunk's bytes per microbatch; with equal chunks it is the most chunks alive at once.
///
/// The warm-up depth of rank r of p (Megatron-Core's `get_pp_rank_microbatches`): p - r - 1 forwards under
/// 1F1B, `2 (p - r - 1) + (v - 1) N` chunk forwards under the interleaved schedule, where N is the number of
/// microbatches that run through one chunk before the next chunk starts
/// (`--microbatch-group-size-per-virtual-stage`, p by default), capped at the m v forwards there are.
/// Interleaved forwards take microbatches in groups of N through chunk 0, then the same group through chunk
/// 1, and so on; backwards take the same groups through the chunks in reverse order. GPipe runs every forward
/// before any backward. Megatron-Core's combined 1F1B schedule (`--overlap-moe-expert-parallel-comm`, whose steps
/// run one microbatch's forward beside another's backward) warms up with one forward more: `extraWarmUp`.
public struct ChunkOccupancy: Sendable, Hashable {
    /// The rank's model chunks (v; 1 for GPipe and 1F1B).
    public let chunkCount: Int
    /// The distinct states the rank passes through after each forward, each with one count per chunk: the
    /// microbatches whose forward through that chunk has run and whose backward has not.
    public let states: [[Int]]

    /// The states of stage `stage` of `stages` with `microbatches` microbatches and `virtualStages` chunks per
    /// rank; `groupSize` is N (default: `stages`); `extraWarmUp` forwards run before the first backward besides
    /// the schedule's own (GPipe runs every forward first anyway).
    public init(schedule: PipelineSchedule, stage: Int, stages: Int, microbatches: Int, virtualStages: Int,
                groupSize: Int? = nil, extraWarmUp: Int = 0) {
        precondition(stages >= 1 && 0 ..< stages ~= stage && microbatches >= 1 && virtualStages >= 1,
                     "a rank of a pipeline with microbatches and chunks")
        switch schedule {
        case .gpipe:
            chunkCount = 1
            states = [[microbatches]]
        case .oneForwardOneBackward:
            chunkCount = 1
            states = [[min(Self.warmUpForwards(schedule: schedule, stage: stage, stages: stages, microbatches: microbatches,
                                               virtualStages: 1, extraWarmUp: extraWarmUp) + 1, microbatches)]]
        case .interleaved:
            let v = virtualStages, m = microbatches
            let group = max(groupSize ?? stages, 1)
            chunkCount = v
            // Forward order: groups of N microbatches through chunk 0, then 1, ...; the last group may be smaller.
            // The full groups repeat with a period of N v forwards.
            let period = group * v, remainder = m % group
            let fullForwards = (m / group) * period
            func forwardChunk(_ index: Int) -> Int {
                index < fullForwards ? (index % period) / group : (index - fullForwards) / remainder
            }
            let total = m * v
            let warmUp = Self.warmUpForwards(schedule: schedule, stage: stage, stages: stages, microbatches: m, virtualStages: v,
                                             groupSize: group, extraWarmUp: extraWarmUp)
            var counts = Array(repeating: 0, count: v)
            for k in 0 ..< warmUp { counts[forwardChunk(k)] += 1 }
            // States are told apart by a packed key up to 8 chunks when counts fit in 16 bits, beyond by the array.
            var seenPacked = Set<SIMD8<UInt16>>(), seen = Set<[Int]>()
            let packs = v <= 8 && m < Int(UInt16.max)
            var found: [[Int]] = []
            func record() {
                let inserted: Bool
                if packs {
                    var key = SIMD8<UInt16>()
                    for chunk in 0 ..< v { key[chunk] = UInt16(counts[chunk]) }
                    inserted = seenPacked.insert(key).inserted
                } else {
                    inserted = seen.insert(counts).inserted
                }
                if inserted { found.append(counts) }
            }
            if warmUp == total {
                record()
            } else {
                // Steady state: forward k = warmUp + t, then backward t (chunks in reverse order). While the forward
                // is among the full groups, a period of steps adds and removes N microbatches of every chunk, so the
                // states repeat: after the first period the steps jump to the last whole period before the
                // forwards leave the full groups, so the work does not grow with the count (the search's counts stop
                // at 1,024, but Megatron's grid may price millions of microbatches of a tiny model).
                let steps = total - warmUp, periodic = max(fullForwards - warmUp, 0)
                var t = 0
                while t < steps {
                    counts[forwardChunk(warmUp + t)] += 1
                    record()
                    counts[v - 1 - forwardChunk(t)] -= 1
                    t += 1
                    if t == period && periodic / period > 1 { t = periodic / period * period }
                }
            }
            states = found
        }
    }

    /// The forwards (of one chunk and microbatch each) rank `stage` runs before its first backward: `p - r - 1` under
    /// 1F1B, `2 (p - r - 1) + (v - 1) N` under the interleaved schedule, each plus `extraWarmUp` and capped at the
    /// m v forwards there are; every one of them under GPipe.
    public static func warmUpForwards(schedule: PipelineSchedule, stage: Int, stages: Int, microbatches: Int, virtualStages: Int,
                                      groupSize: Int? = nil, extraWarmUp: Int = 0) -> Int {
        switch schedule {
        case .gpipe: microbatches
        case .oneForwardOneBackward: min(stages - stage - 1 + extraWarmUp, microbatches)
        case .interleaved:
            min(2 * (stages - stage - 1) + (virtualStages - 1) * max(groupSize ?? stages, 1) + extraWarmUp, microbatches * virtualStages)
        }
    }

    /// The most chunk activations alive at once, summed over chunks.
    public var mostChunksAlive: Int { states.map { $0.reduce(0, +) }.max() ?? 0 }

    /// The largest activation bytes alive at once when each chunk keeps `chunkBytes[c]` per microbatch.
    public func peakBytes(chunkBytes: [Double]) -> Double {
        precondition(chunkBytes.count == chunkCount, "one byte count per chunk")
        var peak = 0.0
        for state in states {
            var bytes = 0.0
            for chunk in 0 ..< chunkCount { bytes += Double(state[chunk]) * chunkBytes[chunk] }
            peak = max(peak, bytes)
        }
        return peak
    }
}
