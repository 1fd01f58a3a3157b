/// One stage DP's progress through the microbatch counts, fewest first. A program's iteration time falls while
/// more microbatches shrink its bubble and its activations in flight, then rises once smaller microbatches slow
/// every kernel more than that saves. The program is no longer solved once it is past its optimum (`patience`
/// counts in a row no faster than its best), or once a floor under its time at every later count is no
/// faster than the best plan of any program (the leader). Counts at which nothing fits say nothing either way
/// (fewer bytes in flight may fit at a higher count) and are not recorded.
struct MicrobatchSweep: Sendable, Equatable {
    /// Slower counts in a row that end the sweep.
    var patience = 2
    /// The program's least predicted iteration time so far.
    private(set) var bestSeconds = Double.infinity
    private(set) var worseInARow = 0
    /// A floor under the program's iteration time at every count after the last one recorded (0: none known).
    private(set) var laterFloorSeconds = 0.0

    /// Whether the program is done, `leaderSeconds` being the least iteration time of any program so far.
    func isFinished(leaderSeconds: Double) -> Bool {
        worseInARow >= patience || laterFloorSeconds >= leaderSeconds
    }

    /// Records the iteration time of the program's plan at the next count tried, and a floor under its time
    /// at the counts after it when one is known. A count off the program's ladder (`onLadder` false: one
    /// that suits only some data-parallel degrees, `PipelinePlanner.dataParallelCounts`) can set a new best
    /// but is not held against the program when slower: the time is unimodal along the ladder, not across
    /// counts that favour different layouts.
    mutating func record(_ seconds: Double, laterFloor: Double? = nil, onLadder: Bool = true) {
        if seconds < bestSeconds {
            bestSeconds = seconds
            worseInARow = 0
        } else if onLadder {
            worseInARow += 1
        }
        laterFloorSeconds = max(laterFloorSeconds, laterFloor ?? 0)
    }

    /// A floor under a fixed-depth pipeline's iteration time at every count above the partition's, or nil for
    /// a program whose depth is free. A rank's work over the iteration is the count times its time per
    /// microbatch; cutting the batch finer never makes a kernel more efficient, and a higher count only frees
    /// activation memory, so no rank's work at a later count is below its least work here over the ways to run
    /// it whose memory apart from the activations fits (`StageCandidate.leastMicrobatchSeconds`). The iteration
    /// takes at least the slowest rank's work, hence at least:
    /// - the ranks' mean least work, whichever cut a later count's DP takes (its ranks have the same submeshes
    ///   and share out the same layers);
    /// - where memory made no rank's choice, the least slowest rank over every cut at this count, which the
    ///   DP's optimality bounds: its objective `S / v + (m - 1/v) t` (S the ranks' sum, t the slowest) is no
    ///   worse than that cut's, whose sum is at most p times its slowest, so that slowest is at least
    ///   `t - (p t - S) / (v m - 1)`;
    /// plus the ranks' mean least per-iteration tail (a rank's tail synchronises and steps its own parameters,
    /// so the slowest tail of any cut is at least the mean).
    static func laterCountsFloor<Payload>(_ partition: PipelinePartition<Payload>, hasFixedDepth: Bool) -> Double? {
        guard hasFixedDepth else { return nil }
        let stages = partition.stages.map(\.candidate)
        let ranks = Double(stages.count), chunks = Double(partition.virtualStages), count = Double(partition.microbatches)
        var slowest = stages.map(\.leastMicrobatchSeconds).reduce(0, +) / ranks
        if stages.allSatisfy({ $0.leastMicrobatchSeconds == $0.microbatchSeconds }) && chunks * count > 1 {
            let latencies = stages.map(\.microbatchSeconds), top = latencies.max()!
            slowest = max(slowest, top - (ranks * top - latencies.reduce(0, +)) / (chunks * count - 1))
        }
        return count * slowest + stages.map(\.leastIterationSeconds).reduce(0, +) / ranks
    }
}
