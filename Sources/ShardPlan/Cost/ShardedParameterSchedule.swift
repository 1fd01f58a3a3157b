/// One microbatch of ZeRO-3 / FSDP as those frameworks run it: the layers' compute on one stream, and on a
/// communication stream beside it the all-gather of each layer's sharded parameters before its forward pass,
/// again before its backward pass, and the reduce-scatter of its gradients after it, each issued as the
/// frameworks issue it.
///
/// PyTorch FSDP (`limit_all_gathers`, `BACKWARD_PRE` prefetch; FSDP2's implicit prefetch) and DeepSpeed ZeRO-3
/// gather one layer ahead: a layer's gather is issued when the previous layer starts computing, so it hides
/// behind that layer's compute, and at most two layers are unsharded at once. In the backward pass the next
/// layer's gather is issued when a layer's backward starts and the layer's reduce-scatter when it ends; the
/// stream runs them in that order. What cannot hide: the first gather (nothing computes before it), the last
/// reduce-scatter (nothing computes after it), and whatever a layer's communication takes beyond its compute.
/// The last layer's parameters stay gathered from its forward into its backward pass (FSDP keeps the root
/// unsharded, torchtitan does not reshard the last block), so its backward needs no gather. All times in
/// seconds.
public struct ShardedParameterSchedule: Sendable, Equatable {
    /// One stretch of consecutive ops of one layer, in forward order, with the collectives around it.
    public struct Run: Sendable, Equatable {
        public var forwardSeconds: Double
        /// Backward compute, recomputation included.
        public var backwardSeconds: Double
        /// All-gather issued for this run's forward pass (0 when its layer was gathered by an earlier run or
        /// holds no sharded parameters).
        public var forwardGatherSeconds: Double
        /// All-gather needed before this run's backward pass.
        public var backwardGatherSeconds: Double
        /// Reduce-scatter issued when this run's backward pass ends.
        public var reduceScatterSeconds: Double
        /// The share of the full contention (`computeSlowdown`) each of the three collectives exerts on the compute
        /// beside it while it runs (`CollectiveGroup.contention(of:bytes:seconds:)`), 0 to 1.
        public var forwardGatherContention: Double
        public var backwardGatherContention: Double
        public var reduceScatterContention: Double

        public init(forwardSeconds: Double, backwardSeconds: Double, forwardGatherSeconds: Double = 0,
                    backwardGatherSeconds: Double = 0, reduceScatterSeconds: Double = 0, forwardGatherContention: Double = 1,
                    backwardGatherContention: Double = 1, reduceScatterContention: Double = 1) {
            self.forwardSeconds = forwardSeconds
            self.backwardSeconds = backwardSeconds
            self.forwardGatherSeconds = forwardGatherSeconds
            self.backwardGatherSeconds = backwardGatherSeconds
            self.reduceScatterSeconds = reduceScatterSeconds
            self.forwardGatherContention = forwardGatherContention
            self.backwardGatherContention = backwardGatherContention
            self.reduceScatterContention = reduceScatterContention
        }
    }

    /// Wall-clock seconds of the forward pass, from the first gather to the end of the last layer's compute.
    public var forwardSeconds: Double
    /// Wall-clock seconds of the backward pass, from the end of the forward pass to the end of the last
    /// reduce-scatter.
    public var backwardSeconds: Double
    /// Of those, the seconds communication adds to the compute alone.
    public var exposedForwardSeconds: Double
    public var exposedBackwardSeconds: Double

    /// Of those, the seconds the compute lost to the collectives running beside it (`computeSlowdown`).
    public var slowdownSeconds: Double

    /// Plays `runs` (in forward order) on a compute stream and one communication stream. While a collective
    /// runs, the compute beside it loses `computeSlowdown` seconds for each second of it, times the collective's
    /// contention share (NCCL's kernels take SMs and memory bandwidth from it, Docs/cost-model.md), at most
    /// `slowdownLimit` of its own time: a run of `c` seconds that overlaps collectives of share `w` for `o` of
    /// them takes `c + min(computeSlowdown x w x o, slowdownLimit x c)`.
    public init(runs: [Run], computeSlowdown: Double = 0, slowdownLimit: Double = .infinity) {
        var communicationFree = 0.0, computeFree = 0.0
        var busy: [(start: Double, end: Double, contention: Double)] = []
        // The stream runs collectives in the order they are issued; each starts when both the stream and its
        // issue time allow.
        func issue(_ seconds: Double, at time: Double, contention: Double) -> Double {
            guard seconds > 0 else { return time }
            let start = max(communicationFree, time)
            communicationFree = start + seconds
            busy.append((start, communicationFree, contention))
            return communicationFree
        }
        var slowdown = 0.0
        // Seconds of a run starting at `start` for `seconds` of compute, slowed where collectives run beside it.
        func computing(_ seconds: Double, from start: Double) -> Double {
            guard computeSlowdown > 0, seconds > 0 else { return seconds }
            let end = start + seconds
            let overlap = busy.reduce(0.0) { $0 + $1.contention * max(0, min($1.end, end) - max($1.start, start)) }
            let lost = min(computeSlowdown * overlap, slowdownLimit * seconds)
            slowdown += lost
            return seconds + lost
        }
        var gathered = Array(repeating: 0.0, count: runs.count)
        if let first = runs.first { gathered[0] = issue(first.forwardGatherSeconds, at: 0, contention: first.forwardGatherContention) }
        for (index, run) in runs.enumerated() {
            let start = max(computeFree, gathered[index])
            if index + 1 < runs.count {
                gathered[index + 1] = issue(runs[index + 1].forwardGatherSeconds, at: start, contention: runs[index + 1].forwardGatherContention)
            }
            computeFree = start + computing(run.forwardSeconds, from: start)
        }
        let forwardEnd = computeFree
        var regathered = Array(repeating: forwardEnd, count: runs.count)
        if let last = runs.last {
            regathered[runs.count - 1] = issue(last.backwardGatherSeconds, at: forwardEnd, contention: last.backwardGatherContention)
        }
        for index in runs.indices.reversed() {
            let start = max(computeFree, regathered[index])
            if index > 0 {
                regathered[index - 1] = issue(runs[index - 1].backwardGatherSeconds, at: start, contention: runs[index - 1].backwardGatherContention)
            }
            computeFree = start + computing(runs[index].backwardSeconds, from: start)
            _ = issue(runs[index].reduceScatterSeconds, at: computeFree, contention: runs[index].reduceScatterContention)
        }
        let backwardEnd = max(computeFree, communicationFree)
        forwardSeconds = forwardEnd
        backwardSeconds = backwardEnd - forwardEnd
        exposedForwardSeconds = max(forwardEnd - runs.reduce(0) { $0 + $1.forwardSeconds }, 0)
        exposedBackwardSeconds = max(backwardSeconds - runs.reduce(0) { $0 + $1.backwardSeconds }, 0)
        slowdownSeconds = slowdown
    }
}
