/// A homogeneous GPU cluster: `nodes` machines of `devicesPerNode` identical devices. The devices of one
/// NVLink domain (`devicesPerDomain`: one node, or several trays behind one NVLink switch system, as the 72
/// GPUs of a GB200 NVL72 rack) are joined by `intraNode` links (NVLink, Infinity Fabric); domains are joined
/// by `interNode` links (the network).
///
/// Devices are numbered node-major: device `n * devicesPerNode + i` is the i-th device of node n (SPEC section 4);
/// a domain holds consecutive whole nodes. A link is nil only where it can never be used: `intraNode` when a
/// domain holds one device, `interNode` when the cluster is one domain.
public struct Cluster: Sendable, Equatable {
    /// The cluster's own name: a preset's (`dgx-a100-80g:2`), or a cluster file's `name` (`unnamed` without one).
    public var name: String
    /// The name of a cluster file that gives none.
    public static let unnamed = "cluster"
    /// Machines in the cluster.
    public var nodes: Int
    /// Devices in each machine.
    public var devicesPerNode: Int
    /// Devices that share the fast links: a whole number of nodes that divides the cluster (Docs/clusters.md).
    public private(set) var devicesPerDomain: Int
    public var device: DeviceSpec
    /// The link between the devices of one NVLink domain; nil only where a domain holds one device.
    public var intraNode: LinkSpec?
    /// The link between NVLink domains (the network); nil only where the cluster is one domain.
    public var interNode: LinkSpec?

    /// The most devices a cluster may have, far above any machine built, so that device counts stay exact.
    public static let maximumDeviceCount = 1 << 20

    /// A cluster of `nodes` nodes of `devicesPerNode` devices; `devicesPerDomain` nil means one node per NVLink
    /// domain. The figures are taken as given: `validate()` checks them, and the planners (`PipelinePlanner`,
    /// `SingleStagePlanner`), `TrainingPlan.megatron` and `PlanEvaluator.evaluate(checking:)` call it, so that a cluster no cluster file could describe (no nodes, a domain that does not divide
    /// the cluster, a missing link, a zero bandwidth) is refused with an `InputError` there. Until then, the members
    /// computed from the counts (`deviceCount`, `domainCount`, the device and node lookups) assume a cluster
    /// `validate()` accepts.
    public init(name: String, nodes: Int, devicesPerNode: Int, devicesPerDomain: Int? = nil, device: DeviceSpec,
                intraNode: LinkSpec?, interNode: LinkSpec?) {
        self.name = name
        self.nodes = nodes
        self.devicesPerNode = devicesPerNode
        self.devicesPerDomain = devicesPerDomain ?? devicesPerNode
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

    /// A device of the stage after one on `devices` consecutive devices from `first`, for pricing that stage's
    /// point-to-point transfers where its place in the pipeline is not known (the stage search shares one profile
    /// among every place a stage can take): in another NVLink domain whenever the cluster has several. A pipeline
    /// over the whole cluster crosses from one domain to the next at some stage boundary, and under 1F1B its slowest
    /// stage sets the pace, so pricing every boundary at the network's rate is what that stage pays; priced at
    /// NVLink's rate, a pipeline of stages smaller than a domain looked cheap by as much as its network transfers cost.
    public func pipelineNeighbour(after first: Int, devices: Int) -> Int {
        (first + (domainCount > 1 ? max(devices, devicesPerDomain) : devices)) % deviceCount
    }

    /// The ids of the devices of node `node`, which must be in `0 ..< nodes`: another is a programmer's error, which
    /// traps.
    public func devices(onNode node: Int) -> Range<Int> {
        precondition(0 ..< nodes ~= node, "node \(node) is not in a cluster of \(nodes)")
        return node * devicesPerNode ..< (node + 1) * devicesPerNode
    }

    /// NVLink domains: groups of `devicesPerDomain` consecutive devices joined by the fast links.
    public var domainCount: Int { deviceCount / devicesPerDomain }

    /// The NVLink domain that holds device `id`.
    public func domain(ofDevice id: Int) -> Int {
        precondition(deviceIDs.contains(id), "device \(id) is not in a cluster of \(deviceCount)")
        return id / devicesPerDomain
    }

    /// The same cluster with `count` nodes (the domain size kept).
    public func withNodes(_ count: Int, name: String) -> Cluster {
        Cluster(name: name, nodes: count, devicesPerNode: devicesPerNode, devicesPerDomain: devicesPerDomain,
                device: device, intraNode: intraNode, interNode: interNode)
    }
}
