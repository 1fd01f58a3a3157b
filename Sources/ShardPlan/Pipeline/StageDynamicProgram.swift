/// Alpa's inter-operator search (Zheng et al. OSDI'22, section 5.2): cut L clustered layers into contiguous
/// pipeline stages and give each a submesh, so that the submeshes fit on the cluster together and
/// `sum of stage latencies + (m - 1) * slowest stage latency` (seconds per iteration, latency = one
/// microbatch's forward and backward on a stage) is least.
///
/// For a bound t on the slowest stage, an inner DP finds the least latency sum over states (stages from the
/// end s, first layer k, devices d); the outer search tries bounds among the table's distinct latencies,
/// pruned so that only bounds that can still beat the best plan are solved (Docs/pipeline-search.md). The
/// stage s-th from the end holds `min(s, m)` microbatches under 1F1B and `m` under GPipe, and the oracle is
/// asked about exactly that count, so memory is respected exactly.
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
    public let deviceUsage: DeviceUsage
    /// The shapes a stage may take, `SubmeshShape.candidates` unless given.
    public let submeshes: [SubmeshShape]
    /// The most stages a plan may have: `min(layerCount, devices)` unless given smaller.
    public let maximumStageCount: Int

    /// A search over `layerCount` clustered layers on `nodes` nodes of `devicesPerNode` devices, with
    /// `microbatches` microbatches per iteration under `schedule` (GPipe or 1F1B).
    public init(layerCount: Int, nodes: Int, devicesPerNode: Int, microbatches: Int,
                schedule: PipelineSchedule = .oneForwardOneBackward, deviceUsage: DeviceUsage = .allDevices,
                submeshes: [SubmeshShape]? = nil, maximumStageCount: Int? = nil) {
        precondition(layerCount >= 1 && nodes >= 1 && devicesPerNode >= 1 && microbatches >= 1,
                     "a pipeline has layers, devices and microbatches")
        precondition(schedule != .interleaved, "the stage DP places one chunk per device group (GPipe or 1F1B)")
        self.layerCount = layerCount
        self.nodes = nodes
        self.devicesPerNode = devicesPerNode
        self.microbatches = microbatches
        self.schedule = schedule
        self.deviceUsage = deviceUsage
        self.submeshes = (submeshes ?? SubmeshShape.candidates(nodes: nodes, devicesPerNode: devicesPerNode))
            .filter { $0.deviceCount <= nodes * devicesPerNode }
        precondition(!self.submeshes.isEmpty, "no submesh fits on the cluster")
        self.maximumStageCount = min(maximumStageCount ?? .max, layerCount, nodes * devicesPerNode)
        precondition(self.maximumStageCount >= 1, "at least one stage")
        rangeStarts = (0 ..< layerCount).map { $0 * layerCount - $0 * ($0 - 1) / 2 }
        levelCount = schedule == .gpipe ? 1 : min(self.maximumStageCount, microbatches)
    }

    public var deviceCount: Int { nodes * devicesPerNode }

    /// Asks `oracle` for every stage the DP may use (`StageCandidateTable`). Give `structureKeys`
    /// (`LayerClustering.structureKeys`) to ask once per structure signature; `concurrency` threads ask at once
    /// (default: the active processors), so the oracle must be safe to call from several threads.
    public func candidateTable<Oracle: StageCostOracle>(_ oracle: Oracle, structureKeys: [Int]? = nil,
                                                        concurrency: Int? = nil) -> StageCandidateTable<Oracle.Payload> {
        StageCandidateTable(program: self, oracle: oracle, structureKeys: structureKeys, concurrency: concurrency)
    }

    /// The best partition using `oracle`'s stages, or nil when no partition fits.
    public func solve<Oracle: StageCostOracle>(_ oracle: Oracle, structureKeys: [Int]? = nil) -> PipelinePartition<Oracle.Payload>? {
        solve(candidateTable(oracle, structureKeys: structureKeys))
    }

    // MARK: Indexing of the candidate table

    /// First index of the ranges starting at each layer; ranges are numbered by first layer, then last.
    let rangeStarts: [Int]
    /// In-flight levels: 1F1B's stage s-th from the end holds min(s, m), so levels 1 ... min(S, m); GPipe one.
    let levelCount: Int

    var rangeCount: Int { layerCount * (layerCount + 1) / 2 }
    var cellCount: Int { rangeCount * submeshes.count * levelCount }

    func rangeIndex(_ first: Int, _ last: Int) -> Int { rangeStarts[first] + last - first }

    /// The last layer of range `range`.
    func rangeLast(_ range: Int) -> Int {
        let first = rangeStarts.lastIndex { $0 <= range }!
        return first + range - rangeStarts[first]
    }

    /// Cells of one range and level are adjacent, shape by shape, as the inner DP reads them.
    func index(range: Int, shape: Int, level: Int) -> Int { (range * levelCount + level) * submeshes.count + shape }

    /// The level of the stage `stagesFromEnd`-th from the end (1: the last stage).
    func level(stagesFromEnd: Int) -> Int {
        schedule == .gpipe ? 0 : min(stagesFromEnd, microbatches) - 1
    }

    /// Microbatches the stage `stagesFromEnd`-th from the end (1: the last) holds at its peak: min(s, m) under
    /// 1F1B, m under GPipe (`PipelineSchedule.microbatchesInFlight`).
    public func inFlightMicrobatches(stagesFromEnd: Int) -> Int {
        inFlightMicrobatches(level: level(stagesFromEnd: stagesFromEnd))
    }

    func inFlightMicrobatches(level: Int) -> Int { schedule == .gpipe ? microbatches : level + 1 }

    /// Levels a stage ending at layer `last` on `submeshes[shape]` can have: it has at most one stage per
    /// later layer after it, and the stages after it need a device each.
    func levelCount(rangeEnd last: Int, shape: Int) -> Int {
        let stages = min(maximumStageCount, layerCount - last, deviceCount - submeshes[shape].deviceCount + 1)
        return stages < 1 ? 0 : level(stagesFromEnd: stages) + 1
    }
}
