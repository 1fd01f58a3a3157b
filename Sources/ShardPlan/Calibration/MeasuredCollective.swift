import Foundation

/// One published collective benchmark (nccl-tests `all_reduce_perf`, `all_gather_perf`, `reduce_scatter_perf`):
/// the cluster it ran on as a preset with a node count, the collective, the message size and the measured time.
/// Rows live in Docs/calibration/nccl-tests.json; `shardplan calibrate` replays them through `CollectiveGroup`
/// (Docs/clusters.md, "Collectives against nccl-tests").
public struct MeasuredCollective: Sendable {
    /// The row's name in the file.
    public var id: String
    /// Where the numbers were printed (an issue comment, a vendor page, a paper's table).
    public var source: String
    /// The cluster as the row names it: a preset and its node count (`dgx-h100:4`), a cluster file's path, or an
    /// inline cluster object's `name`.
    public var cluster: String
    /// Devices taking part: the first of `cluster`, inside one NVLink domain or over whole ones
    /// (`Cluster.collectiveRanks(_:)`), or `ranksPerNode` on each node; every device (with `ranksPerNode`, that
    /// many on every node) unless the row gives `gpus`.
    public var deviceCount: Int
    /// The run's ranks on each node where it placed them so (`mpirun -N`, the row's `ranks_per_node`): the first
    /// that many GPUs of each node (`Cluster.collectiveRanks(_:perNode:)`); nil where they filled each node first.
    public var ranksPerNode: Int?
    /// The collective measured.
    public var kind: CollectiveKind
    /// nccl-tests' `size` column: the whole buffer (the summed tensor of an all-reduce, the gathered output of an
    /// all-gather, the unreduced input of a reduce-scatter), the convention `CollectiveGroup` prices.
    public var bytes: Double
    /// The measured time, seconds: the out-of-place column (the in-place one where a source printed only that),
    /// or the time the printed bus bandwidth implies.
    public var seconds: Double
    /// The algorithm the run forced (`NCCL_ALGO`); nil where NCCL chose.
    public var algorithm: CollectiveAlgorithm?
    /// The protocol the run forced (`NCCL_PROTO`); nil where NCCL chose.
    public var wireProtocol: CollectiveProtocol?
    /// The NCCL version, environment and anything else a reader needs.
    public var notes: String

    /// The bus bandwidth of `seconds` for this row, bytes/s (nccl-tests' `busbw`).
    public func busBandwidth(seconds: Double) -> Double {
        bytes / seconds * kind.busBandwidthFactor(ranks: deviceCount)
    }

    /// What the collective model predicts for this row on `group` (its devices of its preset): the cheapest
    /// algorithm and protocol among those the run allowed; nil where it forced one the model does not offer for
    /// the collective.
    public func predictedChoice(on group: CollectiveGroup) -> CollectiveGroup.Choice? {
        group.fastest(kind, bytes: bytes, algorithms: algorithm.map { [$0] } ?? CollectiveAlgorithm.allCases,
                      protocols: wireProtocol.map { [$0] } ?? CollectiveProtocol.allCases)
    }

    /// Measured times outside this range (1 ns to an hour) are typing errors, not measurements.
    static let plausibleSeconds = 1e-9 ... 3600.0

    /// The collectives a row may measure: those nccl-tests times whose `size` convention `CollectiveGroup` prices.
    static let measuredKinds: [CollectiveKind] = [.allReduce, .allGather, .reduceScatter]

    /// Reads every row of a collective-benchmarks document (`{"measurements": [...]}`) with the nodes its devices
    /// span and the choice the model makes for it; cluster files the rows name are read from `directory` (the
    /// document's own, "" for the working directory) unless their paths are absolute.
    public static func rows(in document: JSONValue, directory: String = "") throws(InputError)
        -> [(row: MeasuredCollective, nodes: Int, choice: CollectiveGroup.Choice)] {
        let top = try JSONReader(document, at: .root)
        let elements = try top.array("measurements")
        guard !elements.isEmpty else { throw top.invalid("measurements", "no measurements to replay") }
        var rows: [(MeasuredCollective, Int, CollectiveGroup.Choice)] = []
        var seen: Set<String> = []
        for (index, element) in elements.enumerated() {
            let row = try JSONReader(element, at: .root.appending("measurements").appending(index: index))
            let id = try row.calibrationRowID(seen: &seen, why: "the table names each row by it")
            let (cluster, replayed) = try replayCluster(row, id: id, directory: directory)
            let perNode = try row.optionalInt("ranks_per_node")
            let count = try row.optionalInt("gpus") ?? perNode.map { replayed.nodes * $0 } ?? replayed.deviceCount
            let devices: [Int]
            do { devices = try replayed.collectiveDevices(count, perNode: perNode) } catch {
                let key = perNode != nil ? "ranks_per_node" : row.contains("gpus") ? "gpus" : "cluster"
                throw row.invalid(key, "row \(id): \(error.message)")
            }
            let name = try row.string("collective")
            guard let kind = CollectiveKind(rawValue: name), measuredKinds.contains(kind) else {
                throw row.invalid("collective", "row \(id): unknown collective \"\(name)\"; known: "
                                  + measuredKinds.map(\.rawValue).joined(separator: ", ")
                                  + " (the NCCL collectives the model prices as nccl-tests measures them)")
            }
            let bytes = Double(try row.int("size_bytes"))
            guard bytes > 0 else { throw row.invalid("size_bytes", "row \(id): a message of \(Int(bytes)) bytes") }
            let seconds: Double
            let busBandwidth = try row.optionalNumber("busbw_gb_per_s")
            if let busBandwidth, busBandwidth <= 0 {
                throw row.invalid("busbw_gb_per_s", "row \(id): expected a positive bus bandwidth in GB/s, found \(JSONWriter.formatNumber(busBandwidth))")
            }
            if row.contains("time_us") {
                seconds = try row.measuredSeconds("time_us", unit: "us", scale: 1e-6, row: id)
                if let busBandwidth {
                    // Both copied from one nccl-tests line agree but for its rounding (busbw to 0.01 GB/s); the
                    // time is kept, and a bus bandwidth 1% and 0.005 GB/s away from it is another line's or a typo.
                    let implied = bytes * kind.busBandwidthFactor(ranks: count) / seconds / 1e9
                    guard abs(implied - busBandwidth) <= max(0.01 * busBandwidth, 0.005) else {
                        throw row.invalid("busbw_gb_per_s", "row \(id): \(JSONWriter.formatNumber(busBandwidth)) GB/s disagrees with time_us "
                                          + "\(JSONWriter.formatNumber(try row.number("time_us"))), which moves the row's \(Int(bytes)) bytes at "
                                          + String(format: "%.2f", implied) + " GB/s of bus bandwidth; give one of them, or both from one nccl-tests line")
                    }
                }
            } else if let busBandwidth {
                seconds = bytes * kind.busBandwidthFactor(ranks: count) / (busBandwidth * 1e9)
                guard plausibleSeconds.contains(seconds) else {
                    throw row.invalid("busbw_gb_per_s", "row \(id): \(JSONWriter.formatNumber(busBandwidth)) GB/s moves the row's \(Int(bytes)) bytes in "
                                      + "\(seconds < plausibleSeconds.lowerBound ? "under 1 ns" : "over 1 hour"), not a measurement (1 ns to 1 hour)")
                }
            } else {
                throw InputError(.missingField, at: row.path.appending("time_us"), "row \(id): give time_us or busbw_gb_per_s")
            }
            let measured = MeasuredCollective(id: id, source: try row.string("source"), cluster: cluster, deviceCount: count,
                                              ranksPerNode: perNode,
                                              kind: kind, bytes: bytes, seconds: seconds,
                                              algorithm: try row.optionalCase("algorithm", "algorithm"),
                                              wireProtocol: try row.optionalCase("protocol", "protocol"),
                                              notes: try row.optionalString("notes") ?? "")
            let group = replayed.collectiveGroup(devices: devices)
            guard let choice = measured.predictedChoice(on: group) else {
                throw row.invalid("algorithm", "row \(id): the model prices trees only for an all-reduce across nodes, "
                                  + "and NVLS only for an all-reduce inside an NVLink domain whose switch reduces")
            }
            rows.append((measured, group.nodeCount, choice))
        }
        return rows
    }

    /// A row's `cluster`: a preset's name (`dgx-h100:4`), the path of a `shardplan.cluster/1` file (relative to
    /// `directory` unless absolute), or a cluster object, so a user can replay their own nccl-tests output on the
    /// cluster they describe; returned with the name the table shows.
    private static func replayCluster(_ row: JSONReader, id: String, directory: String) throws(InputError)
        -> (name: String, cluster: Cluster) {
        let path = row.path.appending("cluster")
        switch try row.value("cluster") {
        case .string(let name):
            let resolved = clusterFile(named: name).map { file in
                file.hasPrefix("/") || directory.isEmpty ? file : directory + (directory.hasSuffix("/") ? "" : "/") + file
            } ?? name
            do {
                let cluster = try resolveCluster(resolved)
                try cluster.validate()
                return (name, cluster)
            } catch {
                throw InputError(error.kind, at: path, "row \(id): \(error.description)")
            }
        case .object:
            let cluster = try Cluster(json: try row.value("cluster"), at: path)
            return (cluster.name, cluster)
        case let other:
            throw InputError(.wrongType, at: path, "row \(id): expected a preset's name, a cluster file or a cluster object, found \(JSONReader.describe(other))")
        }
    }
}
