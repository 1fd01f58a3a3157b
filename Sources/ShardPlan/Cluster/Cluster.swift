/// A homogeneous GPU cluster: `nodes` machines of `devicesPerNode` identical devices, joined inside a node by
/// `intraNode` links (NVLink) and between nodes by `interNode` links (the network).
///
/// Devices are numbered node-major: device `n * devicesPerNode + i` is the i-th device of node n (SPEC section 4).
/// A link is nil only where it can never be used: `intraNode` when a node holds one device, `interNode` when
/// the cluster is one node.
public struct Cluster: Sendable, Equatable {
    /// How plans and reports name the cluster (a preset argument such as `dgx-a100-80g:2`, or the file's name).
    public var name: String
    public var nodes: Int
    public var devicesPerNode: Int
    public var device: DeviceSpec
    public var intraNode: LinkSpec?
    public var interNode: LinkSpec?

    /// The most devices a cluster may have, far above any machine built, so that device counts stay exact.
    public static let maximumDeviceCount = 1 << 20

    public init(name: String, nodes: Int, devicesPerNode: Int, device: DeviceSpec,
                intraNode: LinkSpec?, interNode: LinkSpec?) {
        precondition(nodes >= 1 && devicesPerNode >= 1, "a cluster has at least one node of one device")
        precondition(nodes <= Self.maximumDeviceCount / devicesPerNode, "more than \(Self.maximumDeviceCount) devices")
        precondition(devicesPerNode == 1 || intraNode != nil, "nodes of several devices need an intra-node link")
        precondition(nodes == 1 || interNode != nil, "several nodes need an inter-node link")
        self.name = name
        self.nodes = nodes
        self.devicesPerNode = devicesPerNode
        self.device = device
        self.intraNode = intraNode
        self.interNode = interNode
    }

    public var deviceCount: Int { nodes * devicesPerNode }

    /// All device ids, `0 ..< deviceCount`.
    public var deviceIDs: Range<Int> { 0 ..< deviceCount }

    /// The node that holds device `id`.
    public func node(ofDevice id: Int) -> Int {
        precondition(deviceIDs.contains(id), "device \(id) is not in a cluster of \(deviceCount)")
        return id / devicesPerNode
    }

    /// The ids of the devices of node `node`.
    public func devices(onNode node: Int) -> Range<Int> {
        precondition(0 ..< nodes ~= node, "node \(node) is not in a cluster of \(nodes)")
        return node * devicesPerNode ..< (node + 1) * devicesPerNode
    }

    /// The same cluster with `count` nodes.
    public func withNodes(_ count: Int, name: String) -> Cluster {
        Cluster(name: name, nodes: count, devicesPerNode: devicesPerNode, device: device,
                intraNode: intraNode, interNode: interNode)
    }
}
