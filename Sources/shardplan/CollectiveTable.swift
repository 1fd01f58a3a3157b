import Foundation
import ShardPlan

/// `shardplan clusters NAME --collective KIND`: what the collective model predicts for nccl-tests' KIND test on the
/// cluster, one line a message size, laid out as nccl-tests prints its out-of-place columns so the two can be
/// compared line by line (Docs/clusters.md, "Predicted collectives").
struct CollectiveTable {
    var cluster: Cluster
    /// The cluster as the header names it: NAME as given, after the name a cluster file gives itself
    /// (`Cluster.title(asNamed:)`).
    var clusterTitle: String
    var kind: CollectiveKind
    var ranks: Int
    /// The ranks given to each node (`--ranks-per-node`); nil where they fill each node first.
    var requestedRanksPerNode: Int?
    /// The devices taking part.
    var devices: [Int]
    /// The message sizes, bytes, as given (`ByteSizes`: at most 2^50, exact as the predictions' Doubles).
    var sizes: [Int]
    /// One a size, in the order of `sizes`.
    var predictions: [CollectivePrediction]

    /// Every size of `sizes` predicted on `ranks` devices of `cluster` (named `name` on the command line, nil for
    /// its own name) laid out `ranksPerNode` to a node (`Cluster.collectiveRanks(_:perNode:)`) or, where nil,
    /// filling each node first. `ranks` nil is every device, or with `ranksPerNode` that many on every node.
    init(cluster: Cluster, named name: String? = nil, kind: CollectiveKind, ranks: Int?, ranksPerNode: Int? = nil,
         sizes: [Int]) throws(InputError) {
        let ranks = ranks ?? ranksPerNode.map { cluster.nodes * $0 } ?? cluster.deviceCount
        var predictions: [CollectivePrediction] = []
        for size in sizes {
            predictions.append(try cluster.predictCollective(kind, ranks: ranks, perNode: ranksPerNode, bytes: Double(size)))
        }
        self.cluster = cluster
        self.clusterTitle = name.map(cluster.title(asNamed:)) ?? cluster.name
        self.kind = kind
        self.ranks = ranks
        self.requestedRanksPerNode = ranksPerNode
        self.devices = try cluster.collectiveDevices(ranks, perNode: ranksPerNode)
        self.sizes = sizes
        self.predictions = predictions
    }

    /// The most ranks on one node: `--ranks-per-node`, or what filling nodes first leaves on one (every size's
    /// prediction has the same).
    var ranksPerNode: Int { predictions.first?.ranksPerNode ?? 0 }

    /// The NVLink domains the group touches.
    private var domains: Int { cluster.linkSpan(of: devices).domains }

    /// The group's place on the cluster: `16 ranks: 2 nodes x 8`; where its NVLink domains hold several nodes and
    /// it takes other than every GPU of a node, with its ranks per node (`18 ranks: 1 NVLink domain x 18, 1 per node`).
    private var layout: String {
        let domains = domains, domainIsNode = cluster.devicesPerDomain == cluster.devicesPerNode
        let unit = domainIsNode ? "node" : "NVLink domain"
        let perNode = !domainIsNode && requestedRanksPerNode.map { $0 != cluster.devicesPerNode } == true
            ? ", \(ranksPerNode) per node" : ""
        return "\(ranks) ranks: \(domains) \(unit)\(domains == 1 ? "" : "s") x \(ranks / domains)" + perNode
    }

    /// The table as nccl-tests prints it: `#` comment lines, then size, time, algbw and busbw right-aligned, then
    /// the model's algorithm, protocol and links (`-` for an all-to-all's, which has none). Columns take nccl-tests'
    /// widths, wider where a value needs it, with a space before each. The header's cluster name is escaped
    /// (`VisibleText`), so that a line break in a file's `name` cannot end the comment line.
    var text: String {
        let cells = zip(sizes, predictions).map { size, prediction in
            [String(size), String(format: "%.2f", prediction.seconds * 1e6), String(format: "%.2f", prediction.algorithmBandwidth / 1e9),
             String(format: "%.2f", prediction.busBandwidth / 1e9)]
        }
        // The size column follows the line's leading `#` or space; the others need a space of their own.
        let widths = [11, 11, 8, 8].enumerated().map { column, width in
            max(width, (cells.map { $0[column].count }.max() ?? 0) + (column == 0 ? 0 : 1))
        }
        func columns(_ texts: [String]) -> String { zip(texts, widths).map { Self.pad($0, $1) }.joined() }
        var lines = [
            "# \(kind.rawValue) on \(VisibleText.escape(clusterTitle)), \(layout) (predicted by ShardPlan's collective model; "
                + "busbw = algbw x \(kind == .allReduce ? "2(n-1)/n" : "(n-1)/n"))",
            "#" + columns(["size", "time", "algbw", "busbw"]) + "  algorithm  protocol  links",
            "#" + columns(["(B)", "(us)", "(GB/s)", "(GB/s)"]),
        ]
        for (row, prediction) in zip(cells, predictions) {
            let algorithm = prediction.algorithm?.rawValue ?? "-", wireProtocol = prediction.wireProtocol?.rawValue ?? "-"
            lines.append(" " + columns(row)
                         + "  " + algorithm.padding(toLength: 9, withPad: " ", startingAt: 0)
                         + "  " + wireProtocol.padding(toLength: 8, withPad: " ", startingAt: 0)
                         + "  " + prediction.links.map(\.rawValue).joined(separator: "+"))
        }
        return lines.map { $0.replacingOccurrences(of: " +$", with: "", options: .regularExpression) }.joined(separator: "\n") + "\n"
    }

    /// The table as JSON: the cluster, the collective and the group, and one row a size whose members are those of a
    /// `shardplan calibrate` collective row (`size_bytes`, `time_us`, `busbw_gb_per_s`) and the model's choice
    /// (`algorithm` and `protocol` null for an all-to-all, which has none).
    var json: JSONValue {
        let rows: [JSONValue] = zip(sizes, predictions).map { size, prediction in
            let members: [(String, JSONValue)] = [
                ("size_bytes", .int(size)),
                ("time_us", .number(Self.rounded(prediction.seconds * 1e6))),
                ("algbw_gb_per_s", .number(Self.rounded(prediction.algorithmBandwidth / 1e9))),
                ("busbw_gb_per_s", .number(Self.rounded(prediction.busBandwidth / 1e9))),
                ("algorithm", prediction.algorithm.map { .string($0.rawValue) } ?? .null),
                ("protocol", prediction.wireProtocol.map { .string($0.rawValue) } ?? .null),
                ("links", .array(prediction.links.map { .string($0.rawValue) })),
            ]
            return .object(JSONObject(members))
        }
        return .object(JSONObject([("cluster", .string(cluster.name)), ("collective", .string(kind.rawValue)),
                                   ("ranks", .int(ranks)), ("ranks_per_node", .int(ranksPerNode)), ("domains", .int(domains)),
                                   ("rows", .array(rows))]))
    }

    private static func pad(_ text: String, _ width: Int) -> String {
        String(repeating: " ", count: max(width - text.count, 0)) + text
    }

    /// Four significant figures, enough to compare with nccl-tests' two decimals.
    private static func rounded(_ value: Double) -> Double {
        Double(String(format: "%.4g", value)) ?? value
    }
}
