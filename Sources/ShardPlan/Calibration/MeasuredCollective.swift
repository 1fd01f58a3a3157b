/// One published collective benchmark (nccl-tests `all_reduce_perf`, `all_gather_perf`, `reduce_scatter_perf`):
/// the cluster it ran on as a preset with a node count, the collective, the message size and the measured
/// out-of-place time. Rows live in Docs/calibration/nccl-tests.json; `shardplan calibrate` replays them through
/// `CollectiveGroup` (Docs/clusters.md, "Collective costs").
public struct MeasuredCollective: Sendable {
    public var id: String
    /// Where the numbers were printed (an issue comment, a vendor page, a paper's table).
    public var source: String
    /// The cluster as `shardplan` names it: a preset and its node count (`dgx-h100:4`).
    public var cluster: String
    /// Devices taking part: every device of `cluster` unless the row ran on fewer of one node.
    public var deviceCount: Int
    public var kind: CollectiveKind
    /// nccl-tests' `size` column: the whole buffer (the summed tensor of an all-reduce, the gathered output of an
    /// all-gather, the unreduced input of a reduce-scatter), the convention `CollectiveGroup` prices.
    public var bytes: Double
    /// Out-of-place time, seconds: printed, or derived from the printed bus bandwidth.
    public var seconds: Double
    /// The algorithm or protocol the run forced (`NCCL_ALGO`, `NCCL_PROTO`); nil where NCCL chose.
    public var algorithm: CollectiveAlgorithm?
    public var wireProtocol: CollectiveProtocol?
    /// The NCCL version, environment and anything else a reader needs.
    public var notes: String

    /// nccl-tests' bus-bandwidth factor: the bytes each device's link carries per byte of the buffer,
    /// `2(n-1)/n` for an all-reduce and `(n-1)/n` for an all-gather or reduce-scatter.
    public static func busFactor(_ kind: CollectiveKind, devices: Int) -> Double {
        let share = Double(devices - 1) / Double(devices)
        return kind == .allReduce ? 2 * share : share
    }

    /// The bus bandwidth of `seconds` for this row, bytes/s (nccl-tests' `busbw`).
    public func busBandwidth(seconds: Double) -> Double {
        bytes / seconds * Self.busFactor(kind, devices: deviceCount)
    }

    /// What the collective model predicts for this row on `cluster` (its preset): the cheapest algorithm and
    /// protocol among those the run allowed; nil where it forced one NCCL does not offer for the collective.
    public func predictedChoice(on cluster: Cluster) -> CollectiveGroup.Choice? {
        cluster.collectiveGroup(devices: 0 ..< deviceCount).fastest(
            kind, bytes: bytes, algorithms: algorithm.map { [$0] } ?? CollectiveAlgorithm.allCases,
            protocols: wireProtocol.map { [$0] } ?? CollectiveProtocol.allCases)
    }

    /// Reads every row of a collective-benchmarks document (`{"measurements": [...]}`).
    public static func rows(in document: JSONValue) throws(InputError) -> [MeasuredCollective] {
        let top = try JSONReader(document, at: .root)
        var rows: [MeasuredCollective] = []
        for (index, element) in try top.array("measurements").enumerated() {
            let row = try JSONReader(element, at: .root.appending("measurements").appending(index: index))
            let id = try row.string("id")
            let cluster = try row.string("cluster")
            let preset: Cluster
            do { preset = try Cluster.preset(named: cluster) } catch {
                throw InputError(error.kind, at: row.path.appending("cluster"), "row \(id): \(error.message)")
            }
            let devices = preset.deviceCount
            let count = try row.optionalInt("gpus") ?? devices
            guard count >= 2, count <= devices else {
                throw row.invalid("gpus", "row \(id): \(count) devices on \(cluster), which has \(devices); a collective needs 2 or more")
            }
            let kind: CollectiveKind = try row.optionalCase("collective", "collective") ?? .allReduce
            guard kind == .allReduce || kind == .allGather || kind == .reduceScatter else {
                throw row.invalid("collective", "row \(id): only all_reduce, all_gather and reduce_scatter are NCCL collectives the model prices as nccl-tests measures them")
            }
            let bytes = try row.number("size_bytes")
            guard bytes > 0 else { throw row.invalid("size_bytes", "row \(id): a message of \(bytes) bytes") }
            let seconds: Double
            if let microseconds = try row.optionalNumber("time_us") {
                guard microseconds > 0 else { throw row.invalid("time_us", "row \(id): a time of \(microseconds) us") }
                seconds = microseconds * 1e-6
            } else if let busBandwidth = try row.optionalNumber("busbw_gb_per_s") {
                guard busBandwidth > 0 else { throw row.invalid("busbw_gb_per_s", "row \(id): a bus bandwidth of \(busBandwidth) GB/s") }
                seconds = bytes * busFactor(kind, devices: count) / (busBandwidth * 1e9)
            } else {
                throw InputError(.missingField, at: row.path.appending("time_us"), "row \(id): give time_us or busbw_gb_per_s")
            }
            let measured = MeasuredCollective(id: id, source: try row.string("source"), cluster: cluster, deviceCount: count,
                                              kind: kind, bytes: bytes, seconds: seconds,
                                              algorithm: try row.optionalCase("algorithm", "algorithm"),
                                              wireProtocol: try row.optionalCase("protocol", "protocol"),
                                              notes: try row.optionalString("notes") ?? "")
            guard measured.predictedChoice(on: preset) != nil else {
                throw row.invalid("algorithm", "row \(id): NCCL runs a tree only for an all-reduce across nodes")
            }
            rows.append(measured)
        }
        return rows
    }
}
