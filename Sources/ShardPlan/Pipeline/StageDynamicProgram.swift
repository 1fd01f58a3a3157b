/// Alpa's inter-operator search (Zheng et al. OSDI'22, section 5.2), extended to interleaved schedules: cut L
/// clustered layers into contiguous pipeline stages and give each a submesh, so that the submeshes fit on the
/// cluster together and the schedule's iteration time `sum / v + (m - 1 / v) * slowest` (seconds; a stage's
/// latency is one microbatch's forward and backward through it; v = 1 except under the interleaved schedule)
/// is least.
///
/// For a bound t on the slowest stage, an inner DP finds the least latency sum over states (stages from the
/// end s, first layer k, devices d); the outer search tries bounds among the table's distinct latencies,
/// pruned so that only bounds that can still beat the best plan are solved (Docs/pipeline-search.md). The
/// stage s-th from the end holds the activations its `PipelinePosition` says, and the oracle is asked about
/// exactly that position, so memory is respected exactly.
///
/// Under the interleaved schedule a stage is a pipeline rank holding v model chunks (`ChunkSplit`), every plan
/// has exactly `stageCount` ranks (the warm-up depth of a rank depends on the pipeline's depth), and the DP's
/// layer ranges are counts: the oracle maps a rank's range to its chunks.
public struct StageDynamicProgram: Sendable {
    /// Whether a plan must use every device of the cluster.
    public enum DeviceUsage: Sendable {
        /// The stages' submeshes cover the cluster exactly (Alpa).
        case allDevices
        /// The stages use at most the cluster's devices; the rest stay idle.
        case atMostAllDevices
    }

    public let layerCount: Int
    public let nodes: Int
    public let devicesPerNode: Int
    public let microbatches: Int
    public let schedule: PipelineSchedule
    /// Model chunks per rank: 1 unless the schedule is interleaved.
    public let virtualStages: Int
    public let deviceUsage: DeviceUsage
    /// The shapes a stage may take, `SubmeshShape.candidates` unless given.
    public let submeshes: [SubmeshShape]
    /// The most stages a plan may have: `min(layerCount, devices)` unless given smaller.
    public let maximumStageCount: Int
    /// The number of stages every plan has (the interleaved schedule's ranks), or nil for any up to the maximum.
    public let stageCount: Int?
    /// The greatest common divisor of the submeshes' device counts: the DP counts devices in these units, so
    /// that a cluster of thousands of devices with stages of whole groups of nodes keeps its tables small.
    public let deviceUnit: Int
    /// The second count the DP keeps where slices do not divide a node (16, 32 or 64 GPUs of a 72-GPU domain),
    /// so that it accepts exactly the lists of submeshes that can be placed; capacity 0 elsewhere.
    public let packing: SubmeshPacking

    /// A search over `layerCount` clustered layers on `nodes` nodes of `devicesPerNode` devices, with
    /// `microbatches` microbatches per iteration under `schedule`. The interleaved schedule needs
    /// `virtualStages` >= 2 chunks per rank and the exact `stageCount`.
    public init(layerCount: Int, nodes: Int, devicesPerNode: Int, microbatches: Int,
                schedule: PipelineSchedule = .oneForwardOneBackward, virtualStages: Int = 1,
                deviceUsage: DeviceUsage = .allDevices, submeshes: [SubmeshShape]? = nil,
                maximumStageCount: Int? = nil, stageCount: Int? = nil) {
        precondition(layerCount >= 1 && nodes >= 1 && devicesPerNode >= 1 && microbatches >= 1,
                     "a pipeline has layers, devices and microbatches")
        precondition(schedule == .interleaved ? virtualStages >= 2 && stageCount != nil : virtualStages == 1,
                     "the interleaved schedule has two or more chunks per rank and a fixed number of ranks; the others one chunk")
        self.layerCount = layerCount
        self.nodes = nodes
        self.devicesPerNode = devicesPerNode
        self.microbatches = microbatches
        self.schedule = schedule
        self.virtualStages = virtualStages
        self.deviceUsage = deviceUsage
        self.submeshes = (submeshes ?? SubmeshShape.candidates(nodes: nodes, devicesPerNode: devicesPerNode))
            .filter { $0.deviceCount <= nodes * devicesPerNode }
        precondition(!self.submeshes.isEmpty, "no submesh fits on the cluster")
        var unit = 0
        for shape in self.submeshes { unit = Self.greatestCommonDivisor(unit, shape.deviceCount) }
        deviceUnit = unit
        packing = SubmeshPacking(shapes: self.submeshes, nodes: nodes, devicesPerNode: devicesPerNode)
        let most = min(stageCount ?? maximumStageCount ?? .max, layerCount, nodes * devicesPerNode / unit)
        precondition(most >= 1, "at least one stage")
        precondition(stageCount == nil || stageCount == most, "\(stageCount ?? 0) stages need as many layers and devices")
        self.maximumStageCount = most
        self.stageCount = stageCount
        rangeStarts = (0 ..< layerCount).map { $0 * layerCount - $0 * ($0 - 1) / 2 }
        switch schedule {
        case .gpipe: levelCount = 1
        case .oneForwardOneBackward: levelCount = min(self.maximumStageCount, microbatches)
        case .interleaved: levelCount = self.maximumStageCount
        }
    }

    public var deviceCount: Int { nodes * devicesPerNode }

    /// Asks `oracle` for every stage the DP may use (`StageCandidateTable`). Give `structureKeys`
    /// (`LayerClustering.structureKeys`) to ask once per structure signature; `concurrency` threads ask at once
    /// (default: the active processors), so the oracle must be safe to call from several threads.
    public func candidateTable<Oracle: StageCostOracle>(_ oracle: Oracle, structureKeys: [Int]? = nil,
                                                        concurrency: Int? = nil,
                                                        isCancelled: @escaping @Sendable () -> Bool = { false }) -> StageCandidateTable<Oracle.Payload> {
        StageCandidateTable(program: self, oracle: oracle, structureKeys: structureKeys, concurrency: concurrency, isCancelled: isCancelled)
    }

    /// The best partition using `oracle`'s stages, or nil when no partition fits or `isCancelled` (asked
    /// before each oracle question) stopped the questions early.
    public func solve<Oracle: StageCostOracle>(_ oracle: Oracle, structureKeys: [Int]? = nil,
                                               isCancelled: @escaping @Sendable () -> Bool = { false }) -> PipelinePartition<Oracle.Payload>? {
        let table = candidateTable(oracle, structureKeys: structureKeys, isCancelled: isCancelled)
        return table.wasCancelled ? nil : solve(table)
    }

    // MARK: Indexing of the candidate table

    /// First index of the ranges starting at each layer; ranges are numbered by first layer, then last.
    let rangeStarts: [Int]
    /// Positions the table distinguishes: one under GPipe (every stage holds m), min(S, m) under 1F1B (the stage
    /// s-th from the end holds min(s, m)), the ranks under the interleaved schedule.
    let levelCount: Int

    var rangeCount: Int { layerCount * (layerCount + 1) / 2 }

    func rangeIndex(_ first: Int, _ last: Int) -> Int { rangeStarts[first] + last - first }

    /// The last layer of range `range`.
    func rangeLast(_ range: Int) -> Int {
        let first = rangeStarts.lastIndex { $0 <= range }!
        return first + range - rangeStarts[first]
    }

    /// The level of the stage `stagesFromEnd`-th from the end (1: the last stage).
    func level(stagesFromEnd: Int) -> Int {
        switch schedule {
        case .gpipe: return 0
        case .oneForwardOneBackward: return min(stagesFromEnd, microbatches) - 1
        case .interleaved: return stagesFromEnd - 1
        }
    }

    /// The position a stage at `level` has.
    func position(level: Int) -> PipelinePosition {
        PipelinePosition(schedule: schedule, stagesFromEnd: level + 1, stageCount: stageCount ?? (level + 1),
                         virtualStages: virtualStages, microbatches: microbatches)
    }

    /// The position of the stage `stagesFromEnd`-th from the end (1: the last).
    public func position(stagesFromEnd: Int) -> PipelinePosition { position(level: level(stagesFromEnd: stagesFromEnd)) }

    /// Microbatches the stage `stagesFromEnd`-th from the end (1: the last) holds at its peak, rounded up to
    /// whole microbatches through all its chunks.
    public func inFlightMicrobatches(stagesFromEnd: Int) -> Int { position(stagesFromEnd: stagesFromEnd).inFlightMicrobatches }

    /// Levels a stage ending at layer `last` on `submeshes[shape]` can have: it has at most one stage per
    /// later layer after it, and the stages after it need a device unit each.
    func levelCount(rangeEnd last: Int, shape: Int) -> Int {
        let stages = min(maximumStageCount, layerCount - last, (deviceCount - submeshes[shape].deviceCount) / deviceUnit + 1)
        return stages < 1 ? 0 : level(stagesFromEnd: stages) + 1
    }

    static func greatestCommonDivisor(_ a: Int, _ b: Int) -> Int { b == 0 ? a : greatestCommonDivisor(b, a % b) }
}
