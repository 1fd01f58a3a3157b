/// A built-in cluster: one node of a known machine (or one NVLink domain of several trays, such as a GB200
/// NVL72 rack), named the way users ask for it (`dgx-a100-80g`), that a `NAME:K` argument scales to K of them. The figures and their sources are in `ClusterPreset+Catalog.swift` and
/// Docs/clusters.md.
public struct ClusterPreset: Sendable, Equatable {
    /// The name users type (`dgx-h100`).
    public var name: String
    /// One line about the machine, for listings.
    public var summary: String
    /// One node of it, or one NVLink domain of several nodes (`domainCount` = 1), named `name`.
    public var node: Cluster

    public init(name: String, summary: String, node: Cluster) {
        precondition(node.domainCount == 1, "a preset describes one node or one NVLink domain")
        self.name = name
        self.summary = summary
        self.node = node
        self.node.name = name
    }

    /// The preset called `name` (any letter case).
    public static func named(_ name: String) -> ClusterPreset? {
        all.first { $0.name == name.lowercased() }
    }

    /// The refusal of a node count (`count`, as written) outside what a cluster of this machine can hold.
    func countOutOfRange(_ count: String) -> InputError {
        InputError(.invalidValue, at: .root,
                   "\(name): \(count) \(node.nodes == 1 ? "nodes" : "racks") is outside 1 ... \(Cluster.maximumDeviceCount / node.deviceCount)")
    }

    /// `count` nodes of this machine (`count` NVLink domains where one holds several nodes), named `NAME` for
    /// one asked for by name alone, else `NAME:K`.
    public func cluster(nodes count: Int, name clusterName: String? = nil) throws(InputError) -> Cluster {
        guard count >= 1, count <= Cluster.maximumDeviceCount / node.deviceCount else { throw countOutOfRange("\(count)") }
        guard count == 1 || node.interNode != nil else {
            throw InputError(.invalidValue, at: .root,
                             "\(name) is a single machine with no network figures, so \(name):\(count) cannot be built; use a multi-node preset such as dgx-h100:\(count)")
        }
        return node.withNodes(count * node.nodes, name: clusterName ?? "\(name):\(count)")
    }

    /// Every preset's name, for messages.
    public static var nameList: String { all.map(\.name).joined(separator: ", ") }
}
