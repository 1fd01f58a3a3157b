import Foundation
import ShardPlan

/// `shardplan clusters NAME --collective KIND`: what the collective model predicts for nccl-tests' KIND test on the
/// cluster, one line a message size, laid out as nccl-tests prints its out-of-place columns so the two can be
/// compared line by line (Docs/clusters.md, "Predicted collectives").
struct CollectiveTable {
    var cluster: Cluster
    var kind: CollectiveKind
    var ranks: Int
    /// The ranks given to each node (`--ranks-per-node`); nil where they fill each node first.
    var requestedRanksPerNode: Int?
    /// The devices taking part.
    var devices: [Int]
    var predictions: [CollectivePrediction]

    /// Every size of `sizes` predicted on `ranks` devices of `cluster` laid out `ranksPerNode` to a node
    /// (`Cluster.collectiveRanks(_:perNode:)`) or, where nil, filling each node first. `ranks` nil is every device,
    /// or with `ranksPerNode` that many on every node.
    init(cluster: Cluster, kind: CollectiveKind, ranks: Int?, ranksPerNode: Int? = nil, sizes: [Int]) throws(InputError) {
        let ranks = ranks ?? ranksPerNode.map { cluster.nodes * $0 } ?? cluster.deviceCount
        var predictions: [CollectivePrediction] = []
        for size in sizes {
            predictions.append(try cluster.predictCollective(kind, ranks: ranks, perNode: ranksPerNode, bytes: Double(size)))
        }
        self.cluster = cluster
        self.kind = kind
        self.ranks = ranks
        self.requestedRanksPerNode = ranksPerNode
        self.devices = try cluster.collectiveDevices(ranks, perNode: ranksPerNode)
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
    /// the model's algorithm, protocol and links (`-` for an all-to-all's, which has none).
    var text: String {
        var lines = [
            "# \(kind.rawValue) on \(cluster.name), \(layout) (predicted by ShardPlan's collective model; "
                + "busbw = algbw x \(kind == .allReduce ? "2(n-1)/n" : "(n-1)/n"))",
            "#" + Self.pad("size", 11) + Self.pad("time", 11) + Self.pad("algbw", 8) + Self.pad("busbw", 8) + "  algorithm  protocol  links",
            "#" + Self.pad("(B)", 11) + Self.pad("(us)", 11) + Self.pad("(GB/s)", 8) + Self.pad("(GB/s)", 8),
        ]
        for prediction in predictions {
            let algorithm = prediction.algorithm?.rawValue ?? "-", wireProtocol = prediction.wireProtocol?.rawValue ?? "-"
            lines.append(" " + Self.pad(String(Int(prediction.bytes)), 11)
                         + Self.pad(String(format: "%.2f", prediction.seconds * 1e6), 11)
                         + Self.pad(String(format: "%.2f", prediction.algorithmBandwidth / 1e9), 8)
                         + Self.pad(String(format: "%.2f", prediction.busBandwidth / 1e9), 8)
                         + "  " + algorithm.padding(toLength: 9, withPad: " ", startingAt: 0)
                         + "  " + wireProtocol.padding(toLength: 8, withPad: " ", startingAt: 0)
                         + "  " + prediction.links.map(\.rawValue).joined(separator: "+"))
        }
        return lines.map { $0.replacingOccurrences(of: " +$", with: "", options: .regularExpression) }.joined(separator: "\n") + "\n"
    }

    /// The table as JSON: the cluster, the collective and the group, and one row a size whose members are those of a
    /// `shardplan calibrate` collective row (`size_bytes`, `time_us`, `busbw_gb_per_s`) and the model's choice.
    var json: JSONValue {
        let rows: [JSONValue] = predictions.map { prediction in
            var members: [(String, JSONValue)] = [
                ("size_bytes", .int(Int(prediction.bytes))),
                ("time_us", .number(Self.rounded(prediction.seconds * 1e6))),
                ("algbw_gb_per_s", .number(Self.rounded(prediction.algorithmBandwidth / 1e9))),
                ("busbw_gb_per_s", .number(Self.rounded(prediction.busBandwidth / 1e9))),
            ]
            if let algorithm = prediction.algorithm { members.append(("algorithm", .string(algorithm.rawValue))) }
            if let wireProtocol = prediction.wireProtocol { members.append(("protocol", .string(wireProtocol.rawValue))) }
            members.append(("links", .array(prediction.links.map { .string($0.rawValue) })))
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
