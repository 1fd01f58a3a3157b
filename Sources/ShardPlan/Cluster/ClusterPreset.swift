/// A built-in cluster: one node of a known machine, named the way users ask for it (`dgx-a100-80g`), that a
/// `NAME:K` argument scales to K nodes. The figures and their sources are in `ClusterPreset+Catalog.swift` and
/// Docs/clusters.md.
public struct ClusterPreset: Sendable, Equatable {
    /// The name users type (`dgx-h100`).
    public var name: String
    /// One line about the machine, for listings.
    public var summary: String
    /// One node of it (`nodes` = 1), named `name`.
    public var node: Cluster

    public init(name: String, summary: String, node: Cluster) {
        precondition(node.nodes == 1, "a preset describes one node")
        self.name = name
        self.summary = summary
        self.node = node
        self.node.name = name
    }

    /// The preset called `name` (any letter case).
    public static func named(_ name: String) -> ClusterPreset? {
        all.first { $0.name == name.lowercased() }
    }

    /// `count` nodes of this machine, named `NAME` for one node asked for by name alone, else `NAME:K`.
    public func cluster(nodes count: Int, name clusterName: String? = nil) throws(InputError) -> Cluster {
        guard count >= 1, count <= Cluster.maximumDeviceCount / node.devicesPerNode else {
            throw InputError(.invalidValue, at: .root,
                             "\(name): \(count) nodes is outside 1 ... \(Cluster.maximumDeviceCount / node.devicesPerNode)")
        }
        guard count == 1 || node.interNode != nil else {
            throw InputError(.invalidValue, at: .root,
                             "\(name) is a single machine with no network figures, so \(name):\(count) cannot be built; use a multi-node preset such as dgx-h100:\(count)")
        }
        return node.withNodes(count, name: clusterName ?? "\(name):\(count)")
    }

    /// Every preset's name, for messages.
    public static var nameList: String { all.map(\.name).joined(separator: ", ") }
}
