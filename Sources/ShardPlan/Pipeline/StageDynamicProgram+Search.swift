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

    /// The best partition, or nil, and what the search did to find it.
    public func search<Payload>(_ table: StageCandidateTable<Payload>)
        -> (partition: PipelinePartition<Payload>?, statistics: Statistics) {
        precondition(table.program.layerCount == layerCount && table.program.submeshes == submeshes
                     && table.program.levelCount == levelCount && table.program.microbatches == microbatches,
                     "the table was built for another program")
        let bounds = table.distinctLatencies
        var statistics = Statistics(distinctLatencies: bounds.count)
        var inner = InnerProgram(program: self, latencies: table.latencies)
        let weight = Double(microbatches - 1)
        var best: (objective: Double, stages: [Choice])?
        // Intervals of `bounds` indices still to search, with a lower bound on the latency sum there.
        var pending: [(low: Int, high: Int, sumFloor: Double)] = bounds.isEmpty ? [] : [(0, bounds.count - 1, 0)]
        var first = true
        while let next = pending.indices.min(by: { lowerBound(pending[$0], bounds, weight) < lowerBound(pending[$1], bounds, weight) }) {
            let interval = pending.remove(at: next)
            if let best, lowerBound(interval, bounds, weight) >= best.objective { break }
            // The first bound is the largest, which gives the least sum of all: the floor for every other bound.
            let probe = first ? interval.high : (interval.low + interval.high) / 2
            first = false
            statistics.evaluatedBounds += 1
            guard let (sum, stages) = inner.solve(maximumLatency: bounds[probe]) else {
                // Nothing fits under this bound, so nothing fits under a smaller one.
                if probe < interval.high { pending.append((probe + 1, interval.high, interval.sumFloor)) }
                continue
            }
            let latencies = stages.map { table.latencies[index(range: rangeIndex($0.first, $0.last), shape: $0.shape, level: $0.level)] }
            let slowest = latencies.max()!
            let objective = latencies.reduce(0, +) + weight * slowest
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

    private func lowerBound(_ interval: (low: Int, high: Int, sumFloor: Double), _ bounds: [Double], _ weight: Double) -> Double {
        interval.sumFloor + weight * bounds[interval.low]
    }

    private func partition<Payload>(of choices: [Choice], table: StageCandidateTable<Payload>) -> PipelinePartition<Payload> {
        let shapes = choices.map { submeshes[$0.shape] }
        guard let devices = SubmeshShape.placement(of: shapes, nodes: nodes, devicesPerNode: devicesPerNode) else {
            preconditionFailure("submeshes \(shapes) use at most the cluster's devices, so they can be placed")
        }
        let stages = choices.indices.map { position in
            let choice = choices[position]
            return PipelineStage(layers: choice.first ..< choice.last + 1, submesh: shapes[position], devices: devices[position],
                                 inFlightMicrobatches: inFlightMicrobatches(level: choice.level),
                                 candidate: table.candidate(first: choice.first, last: choice.last, shape: choice.shape, level: choice.level)!)
        }
        return PipelinePartition(stages: stages, microbatches: microbatches)
    }

    /// One chosen stage: layers `first ... last` on `submeshes[shape]` at in-flight `level`.
    struct Choice: Equatable {
        var first: Int
        var last: Int
        var shape: Int
        var level: Int
    }

    /// The least latency sum under a bound on every stage's latency. `best[s][k][d]` is the least sum of
    /// the latencies of `s` stages covering layers `k ..< L` on exactly `d` devices (+infinity when none), the
    /// first of them holding the microbatches of the stage s-th from the end.
    struct InnerProgram {
        let program: StageDynamicProgram
        let latencies: [Double]
        let sizes: [Int]
        let rowLength: Int
        var best: [Double]
        /// The finite entries of each row lie in `low ... high` (empty when low > high).
        var low: [Int]
        var high: [Int]

        init(program: StageDynamicProgram, latencies: [Double]) {
            self.program = program
            self.latencies = latencies
            sizes = program.submeshes.map(\.deviceCount)
            rowLength = program.deviceCount + 1
            let rows = (program.maximumStageCount + 1) * (program.layerCount + 1)
            best = Array(repeating: .infinity, count: rows * rowLength)
            low = Array(repeating: 1, count: rows)
            high = Array(repeating: 0, count: rows)
        }

        func row(stages: Int, first: Int) -> Int { stages * (program.layerCount + 1) + first }

        /// The least sum and its stages in pipeline order, or nil when no partition has every stage within
        /// `maximumLatency`.
        mutating func solve(maximumLatency: Double) -> (sum: Double, stages: [Choice])? {
            let layers = program.layerCount, devices = program.deviceCount, shapes = sizes.count
            let levels = program.levelCount, rowLength = rowLength
            best.withUnsafeMutableBufferPointer { best in
                for index in best.indices { best[index] = .infinity }
            }
            for index in low.indices { (low[index], high[index]) = (1, 0) }
            best[row(stages: 0, first: layers) * rowLength] = 0
            (low[row(stages: 0, first: layers)], high[row(stages: 0, first: layers)]) = (0, 0)
            for stages in 1 ... program.maximumStageCount {
                let level = program.level(stagesFromEnd: stages)
                for first in 0 ... layers - stages {
                    let target = row(stages: stages, first: first)
                    var rowLow = Int.max, rowHigh = -1
                    for last in first ... layers - stages {
                        let source = row(stages: stages - 1, first: last + 1)
                        let (sourceLow, sourceHigh) = (low[source], high[source])
                        guard sourceLow <= sourceHigh else { continue }
                        let cells = program.index(range: program.rangeIndex(first, last), shape: 0, level: level)
                        for shape in 0 ..< shapes {
                            let latency = latencies[cells + shape * levels]
                            guard latency <= maximumLatency else { continue }
                            let size = sizes[shape]
                            let start = sourceLow + size, end = min(sourceHigh + size, devices)
                            guard start <= end else { continue }
                            best.withUnsafeMutableBufferPointer { best in
                                let into = best.baseAddress! + target * rowLength
                                let from = best.baseAddress! + source * rowLength - size
                                for d in start ... end {
                                    let candidate = latency + from[d]
                                    into[d] = candidate < into[d] ? candidate : into[d]
                                }
                            }
                            rowLow = min(rowLow, start)
                            rowHigh = max(rowHigh, end)
                        }
                    }
                    (low[target], high[target]) = (rowLow, rowHigh)
                }
            }
            var top: (sum: Double, stages: Int, devices: Int)?
            for stages in 1 ... program.maximumStageCount {
                let target = row(stages: stages, first: 0)
                let usable = program.deviceUsage == .allDevices ? devices ... devices : 0 ... devices
                for d in usable where best[target * rowLength + d] < (top?.sum ?? .infinity) {
                    top = (best[target * rowLength + d], stages, d)
                }
            }
            guard let top else { return nil }
            return (top.sum, choices(stages: top.stages, devices: top.devices, maximumLatency: maximumLatency))
        }

        /// Walks back from a state to the stages that reach its value, the first match in the DP's order.
        private func choices(stages: Int, devices: Int, maximumLatency: Double) -> [Choice] {
            var result: [Choice] = []
            var (stages, first, devices) = (stages, 0, devices)
            while stages > 0 {
                let value = best[row(stages: stages, first: first) * rowLength + devices]
                let level = program.level(stagesFromEnd: stages)
                search: for last in first ... program.layerCount - stages {
                    let source = row(stages: stages - 1, first: last + 1)
                    let cells = program.index(range: program.rangeIndex(first, last), shape: 0, level: level)
                    for shape in sizes.indices where sizes[shape] <= devices {
                        let latency = latencies[cells + shape * program.levelCount]
                        guard latency <= maximumLatency else { continue }
                        if latency + best[source * rowLength + devices - sizes[shape]] == value {
                            result.append(Choice(first: first, last: last, shape: shape, level: level))
                            (stages, first, devices) = (stages - 1, last + 1, devices - sizes[shape])
                            break search
                        }
                    }
                }
            }
            return result
        }
    }
}
