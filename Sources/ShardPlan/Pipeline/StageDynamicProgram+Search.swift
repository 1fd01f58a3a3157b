import Foundation

/// The search itself: the outer enumeration of the slowest stage's latency and the inner DP.
extension StageDynamicProgram {
    /// What a search did, for `--timings` and the docs.
    public struct Statistics: Sendable, Equatable {
        /// Distinct finite latencies in the table: the bounds the outer search could try.
        public var distinctLatencies = 0
        /// Bounds it solved the inner DP for.
        public var evaluatedBounds = 0
    }

    /// The best partition using the stages of `table`, or nil when no partition fits.
    public func solve<Payload>(_ table: StageCandidateTable<Payload>) -> PipelinePartition<Payload>? {
        search(table).partition
    }

    /// The best partition, or nil, and what the search did to find it; the inner DP runs on up to
    /// `concurrency` threads (default: the active processors).
    public func search<Payload>(_ table: StageCandidateTable<Payload>, concurrency: Int? = nil)
        -> (partition: PipelinePartition<Payload>?, statistics: Statistics) {
        precondition(table.program.layerCount == layerCount && table.program.submeshes == submeshes
                     && table.program.levelCount == levelCount && table.program.microbatches == microbatches
                     && table.program.schedule == schedule && table.program.virtualStages == virtualStages
                     && table.program.stageCount == stageCount,
                     "the table was built for another program")
        let bounds = table.distinctLatencies
        var statistics = Statistics(distinctLatencies: bounds.count)
        let inner = InnerProgram(program: self, table: table, workers: concurrency ?? ProcessInfo.processInfo.activeProcessorCount)
        // The objective is sumWeight * sum + weight * slowest (`PipelineSchedule.pipelineSeconds`).
        let sumWeight = 1 / Double(virtualStages)
        let weight = Double(microbatches) - sumWeight
        var best: (objective: Double, stages: [Choice])?
        // Intervals of `bounds` indices still to search, with a lower bound on the latency sum there.
        var pending: [(low: Int, high: Int, sumFloor: Double)] = bounds.isEmpty ? [] : [(0, bounds.count - 1, 0)]
        var first = true
        func lowerBound(_ interval: (low: Int, high: Int, sumFloor: Double)) -> Double {
            sumWeight * interval.sumFloor + weight * bounds[interval.low]
        }
        while let next = pending.indices.min(by: { lowerBound(pending[$0]) < lowerBound(pending[$1]) }) {
            let interval = pending.remove(at: next)
            if let best, lowerBound(interval) >= best.objective { break }
            // The first bound is the largest, which gives the least sum of all: the floor for every other bound.
            // Then bisect by value, which needs fewer solves than by index (95 against 111 over the five cases
            // of Docs/pipeline-search.md).
            let middle = firstIndex(notBelow: (bounds[interval.low] + bounds[interval.high]) / 2, in: bounds)
            let probe = first ? interval.high : min(max(middle, interval.low), interval.high)
            first = false
            statistics.evaluatedBounds += 1
            guard let (sum, stages) = inner.solve(maximumLatency: bounds[probe]) else {
                // Nothing fits under this bound, so nothing fits under a smaller one.
                if probe < interval.high { pending.append((probe + 1, interval.high, interval.sumFloor)) }
                continue
            }
            let latencies = stages.map { table.latency(pair: rangeIndex($0.first, $0.last) * submeshes.count + $0.shape, level: $0.level) }
            let slowest = latencies.max()!
            let objective = sumWeight * latencies.reduce(0, +) + weight * slowest
            if best == nil || objective < best!.objective { best = (objective, stages) }
            // The sum is the same for every bound from the plan's own slowest stage up to the probe.
            let reached = firstIndex(notBelow: slowest, in: bounds)
            if reached > interval.low { pending.append((interval.low, reached - 1, sum)) }
            if probe < interval.high { pending.append((probe + 1, interval.high, interval.sumFloor)) }
        }
        guard let best else { return (nil, statistics) }
        return (partition(of: best.stages, table: table), statistics)
    }

    /// The first index of ascending `bounds` whose value is at least `value`.
    private func firstIndex(notBelow value: Double, in bounds: [Double]) -> Int {
        var (low, high) = (0, bounds.count)
        while low < high {
            let middle = (low + high) / 2
            if bounds[middle] < value { low = middle + 1 } else { high = middle }
        }
        return low
    }

    private func partition<Payload>(of choices: [Choice], table: StageCandidateTable<Payload>) -> PipelinePartition<Payload> {
        let shapes = choices.map { submeshes[$0.shape] }
        guard let devices = SubmeshShape.placement(of: shapes, nodes: nodes, devicesPerNode: devicesPerNode) else {
            preconditionFailure("submeshes \(shapes) pass the DP's device and packing counts, so they can be placed")
        }
        let stages = choices.indices.map { position in
            let choice = choices[position]
            return PipelineStage(layers: choice.first ..< choice.last + 1, submesh: shapes[position], devices: devices[position],
                                 position: self.position(level: choice.level),
                                 candidate: table.candidate(first: choice.first, last: choice.last, shape: choice.shape, level: choice.level)!)
        }
        return PipelinePartition(stages: stages, microbatches: microbatches, schedule: schedule, virtualStages: virtualStages)
    }

    /// One chosen stage: layers `first ... last` on `submeshes[shape]` at in-flight `level`.
    struct Choice: Equatable {
        var first: Int
        var last: Int
        var shape: Int
        var level: Int
    }

    /// The least latency sum under a bound on every stage's latency. `best[s][k][w][d]` is the least sum of
    /// the latencies of `s` stages covering layers `k ..< L` on exactly `d` device units and packing weight `w`
    /// (`SubmeshPacking`; always 0 where every slice divides a node) (+infinity when none), the first of them
    /// at the position of the stage s-th from the end.
    final class InnerProgram<Payload: Sendable> {
        let program: StageDynamicProgram
        let table: StageCandidateTable<Payload>
        /// Each submesh's size in device units, and its packing weight.
        let sizes: [Int]
        let weights: [Int]
        /// Entries per packing weight: device units 0 ... all.
        let columns: Int
        /// Entries per (stages, first layer): `columns` for each packing weight 0 ... capacity.
        let rowLength: Int
        let rowCount: Int
        /// Rows of `rowLength` entries, one per (stages, first layer).
        let best: UnsafeMutablePointer<Double>
        /// The finite entries of each row lie in device units `low[row] ... high[row]` of its packing weights
        /// (empty when low > high).
        let low: UnsafeMutablePointer<Int>
        let high: UnsafeMutablePointer<Int>
        let workers: Int

        init(program: StageDynamicProgram, table: StageCandidateTable<Payload>, workers: Int) {
            self.program = program
            self.table = table
            self.workers = workers
            sizes = program.submeshes.map { $0.deviceCount / program.deviceUnit }
            weights = program.packing.weights
            columns = program.deviceCount / program.deviceUnit + 1
            rowLength = columns * (program.packing.capacity + 1)
            rowCount = (program.maximumStageCount + 1) * (program.layerCount + 1)
            best = .allocate(capacity: rowCount * rowLength)
            low = .allocate(capacity: rowCount)
            high = .allocate(capacity: rowCount)
        }

        deinit {
            best.deallocate()
            low.deallocate()
            high.deallocate()
        }

        func row(stages: Int, first: Int) -> Int { stages * (program.layerCount + 1) + first }

        /// The least sum and its stages in pipeline order, or nil when no partition has every stage within
        /// `maximumLatency`.
        func solve(maximumLatency: Double) -> (sum: Double, stages: [Choice])? {
            let layers = program.layerCount, devices = columns - 1
            best.update(repeating: .infinity, count: rowCount * rowLength)
            low.update(repeating: 1, count: rowCount)
            high.update(repeating: 0, count: rowCount)
            let end = row(stages: 0, first: layers)
            best[end * rowLength] = 0
            (low[end], high[end]) = (0, 0)
            for stages in 1 ... program.maximumStageCount {
                let firsts = layers - stages + 1
                if workers == 1 || firsts < 2 {
                    for first in 0 ..< firsts { fill(stages: stages, first: first, maximumLatency: maximumLatency) }
                } else {
                    // Rows of one stage count read only rows of the count before: independent.
                    nonisolated(unsafe) let inner = self
                    DispatchQueue.concurrentPerform(iterations: min(workers, firsts)) { worker in
                        for first in stride(from: worker, to: firsts, by: min(inner.workers, firsts)) {
                            inner.fill(stages: stages, first: first, maximumLatency: maximumLatency)
                        }
                    }
                }
            }
            var top: (sum: Double, stages: Int, weight: Int, devices: Int)?
            for stages in 1 ... program.maximumStageCount where program.stageCount.map({ $0 == stages }) ?? true {
                let target = row(stages: stages, first: 0)
                let usable = program.deviceUsage == .allDevices ? devices ... devices : 0 ... devices
                for weight in 0 ... program.packing.capacity {
                    for d in usable where best[target * rowLength + weight * columns + d] < (top?.sum ?? .infinity) {
                        top = (best[target * rowLength + weight * columns + d], stages, weight, d)
                    }
                }
            }
            guard let top else { return nil }
            return (top.sum, choices(stages: top.stages, weight: top.weight, devices: top.devices, maximumLatency: maximumLatency))
        }

        /// Row (stages, first): every first stage `first ... last` on every shape within the bound, followed
        /// by the best `stages - 1` stages from `last + 1`.
        private func fill(stages: Int, first: Int, maximumLatency: Double) {
            let layers = program.layerCount, devices = columns - 1, capacity = program.packing.capacity
            let level = program.level(stagesFromEnd: stages)
            let target = row(stages: stages, first: first)
            var rowLow = Int.max, rowHigh = -1
            do {
                for last in first ... layers - stages {
                    let source = row(stages: stages - 1, first: last + 1)
                    let (sourceLow, sourceHigh) = (low[source], high[source])
                    guard sourceLow <= sourceHigh else { continue }
                    let pairs = program.rangeIndex(first, last) * sizes.count
                    for shape in sizes.indices {
                        let latency = table.latency(pair: pairs + shape, level: level)
                        guard latency <= maximumLatency else { continue }
                        let size = sizes[shape], weight = weights[shape]
                        let start = sourceLow + size, end = min(sourceHigh + size, devices)
                        guard start <= end, weight <= capacity else { continue }
                        for held in 0 ... capacity - weight {
                            Self.relax(best + target * rowLength + (held + weight) * columns + start,
                                       from: best + source * rowLength + held * columns + start - size,
                                       count: end - start + 1, adding: latency)
                        }
                        rowLow = min(rowLow, start)
                        rowHigh = max(rowHigh, end)
                    }
                }
            }
            (low[target], high[target]) = (rowLow, rowHigh)
        }

        /// `into[j] = min(into[j], from[j] + latency)` for `count` entries, eight at a time.
        @inline(__always)
        private static func relax(_ into: UnsafeMutablePointer<Double>, from: UnsafePointer<Double>, count: Int,
                                  adding latency: Double) {
            let add = SIMD8<Double>(repeating: latency)
            var index = 0
            while index &+ 8 <= count {
                let offered = UnsafeRawPointer(from + index).loadUnaligned(as: SIMD8<Double>.self) + add
                let held = UnsafeRawPointer(into + index).loadUnaligned(as: SIMD8<Double>.self)
                UnsafeMutableRawPointer(into + index).storeBytes(of: held.replacing(with: offered, where: offered .< held),
                                                                 as: SIMD8<Double>.self)
                index &+= 8
            }
            while index < count {
                let offered = from[index] + latency
                if offered < into[index] { into[index] = offered }
                index &+= 1
            }
        }

        /// Walks back from a state to the stages that reach its value, the first match in the DP's order.
        private func choices(stages: Int, weight: Int, devices: Int, maximumLatency: Double) -> [Choice] {
            var result: [Choice] = []
            var (stages, first, weight, devices) = (stages, 0, weight, devices)
            while stages > 0 {
                let value = best[row(stages: stages, first: first) * rowLength + weight * columns + devices]
                let level = program.level(stagesFromEnd: stages)
                search: for last in first ... program.layerCount - stages {
                    let source = row(stages: stages - 1, first: last + 1)
                    let pairs = program.rangeIndex(first, last) * sizes.count
                    for shape in sizes.indices where sizes[shape] <= devices && weights[shape] <= weight {
                        let latency = table.latency(pair: pairs + shape, level: level)
                        guard latency <= maximumLatency else { continue }
                        let held = weight - weights[shape]
                        if latency + best[source * rowLength + held * columns + devices - sizes[shape]] == value {
                            result.append(Choice(first: first, last: last, shape: shape, level: level))
                            (stages, first, weight, devices) = (stages - 1, last + 1, held, devices - sizes[shape])
                            break search
                        }
                    }
                }
            }
            return result
        }
    }
}
