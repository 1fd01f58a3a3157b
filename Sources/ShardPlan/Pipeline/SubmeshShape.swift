/// The physical shape of the devices one pipeline stage runs on: `nodes` nodes of which it uses
/// `devicesPerNode` devices each. As in Alpa (Zheng et al. OSDI'22, section 5.2), a stage takes either a
/// power-of-two slice of one node, (1, 2^k), or whole nodes, (n, M); the planner's "node" is an NVLink domain.
/// Which lists of shapes can be placed side by side on the cluster is `SubmeshShape.placement(of:nodes:devicesPerNode:)`
/// and, for the stage DP, `SubmeshPacking`.
public struct SubmeshShape: Hashable, Sendable, CustomStringConvertible {
    public let nodes: Int
    public let devicesPerNode: Int

    public init(nodes: Int, devicesPerNode: Int) {
        precondition(nodes >= 1 && devicesPerNode >= 1, "a submesh has at least one device")
        self.nodes = nodes
        self.devicesPerNode = devicesPerNode
    }

    public var deviceCount: Int { nodes * devicesPerNode }

    /// "1x4", "2x8".
    public var description: String { "\(nodes)x\(devicesPerNode)" }

    /// How many whole nodes a stage may take.
    public enum NodeCounts: Sendable {
        /// Every count from 1 to the cluster's nodes (Alpa's `"all"` space).
        case all
        /// 1, 2, 4, ... up to the cluster's nodes (Alpa's default `"power_of_two"` space): log2(N) + 1 shapes
        /// instead of N, for large clusters where every candidate costs an ILP solve.
        case powersOfTwo
    }

    /// The shapes a stage may take on a cluster of `nodes` nodes of `devicesPerNode` devices, smallest first:
    /// (1, 2^k) for every power of two 2^k below `devicesPerNode` M that divides it; where M is not a power of
    /// two, also the larger powers of two 2^k < M that leave the same room per node, M - M mod 2^k, as the
    /// largest (16, 32 and 64 of a 72-GPU NVLink domain; 32 but not 16 of 56); then (n, M) for the whole-node
    /// counts n that `nodeCounts` allows.
    ///
    /// Alpa allows (1, 2^k) for all 2^k <= M, assuming M is a power of two, when the two sets agree. Slices
    /// that divide M fill any node, so any list of them within the cluster's devices is placed; the larger ones
    /// are what lets a model whose dimensions are powers of two split them 16, 32 or 64 ways in a 72-GPU
    /// domain (72 = 8 x 9), and they need their own count (`SubmeshPacking`): on 6-device nodes, three (1, 4)
    /// stages use 12 devices of a 2 x 6 cluster but cannot be placed.
    public static func candidates(nodes: Int, devicesPerNode: Int, nodeCounts: NodeCounts = .all) -> [SubmeshShape] {
        precondition(nodes >= 1 && devicesPerNode >= 1, "a cluster has at least one node of one device")
        var shapes: [SubmeshShape] = []
        var slice = 1
        while slice < devicesPerNode && devicesPerNode % slice == 0 {
            shapes.append(SubmeshShape(nodes: 1, devicesPerNode: slice))
            slice *= 2
        }
        // The largest power of two below a node that is not one: the others above the divisors are kept when
        // they leave the room it does, so that one weight counts them all (`SubmeshPacking`).
        let largest = 1 << (Int.bitWidth - 1 - devicesPerNode.leadingZeroBitCount)
        while slice < devicesPerNode {
            if slice > devicesPerNode - largest { shapes.append(SubmeshShape(nodes: 1, devicesPerNode: slice)) }
            slice *= 2
        }
        for count in 1 ... nodes where nodeCounts == .all || count & (count - 1) == 0 {
            shapes.append(SubmeshShape(nodes: count, devicesPerNode: devicesPerNode))
        }
        return shapes
    }

    /// The 2-D logical meshes the stage's devices can be viewed as (`DeviceMesh.logicalShapes`).
    public var logicalShapes: [[Int]] {
        DeviceMesh.logicalShapes(nodes: nodes, devicesPerNode: devicesPerNode)
    }

    /// The logical mesh `shape` over the first `deviceCount` devices of `cluster` laid out as this submesh
    /// (whole nodes from node 0, or the first devices of node 0): every placement of a shape costs the same on a
    /// homogeneous cluster, so a stage cost oracle can price this one.
    public func representativeMesh(shape: [Int], in cluster: Cluster) throws(InputError) -> DeviceMesh {
        precondition(nodes <= cluster.domainCount && devicesPerNode <= cluster.devicesPerDomain,
                     "submesh \(self) does not fit on cluster \(cluster.name)")
        let devices = (0 ..< nodes).flatMap { domain in
            domain * cluster.devicesPerDomain ..< domain * cluster.devicesPerDomain + devicesPerNode
        }
        return try DeviceMesh(devices: devices, shape: shape, in: cluster)
    }
}

extension SubmeshShape {
    /// The shapes the planner's stage DP uses on a cluster of `nodes` x `devicesPerNode`, so that the DP's
    /// device dimension has at most `maximumUnits` units.
    ///
    /// A cluster of at most `maximumUnits` devices gets Alpa's candidates (`candidates(nodes:devicesPerNode:)`,
    /// every node count up to 8 nodes, powers of two beyond). A larger one counts in units of g whole nodes, g
    /// the least divisor of the node count that leaves at most `maximumUnits` units, and offers c x g nodes for
    /// every power of two c and every divisor c of the unit count: unequal stages at the unit's grain, and equal
    /// stages for every pipeline depth that divides the units. (The planner adds the equal stages of the other
    /// depths that divide the cluster separately.)
    public static func planningCandidates(nodes: Int, devicesPerNode: Int, maximumUnits: Int = 128) -> [SubmeshShape] {
        precondition(maximumUnits >= 1, "at least one unit")
        if nodes * devicesPerNode <= maximumUnits {
            return candidates(nodes: nodes, devicesPerNode: devicesPerNode, nodeCounts: nodes > 8 ? .powersOfTwo : .all)
        }
        let grain = (1 ... nodes).first { nodes % $0 == 0 && nodes / $0 <= maximumUnits }!
        let units = nodes / grain
        return (1 ... units).filter { units % $0 == 0 || $0 & ($0 - 1) == 0 }
            .map { SubmeshShape(nodes: $0 * grain, devicesPerNode: devicesPerNode) }
    }

    /// The shape of each of `stages` equal stages covering a cluster of `nodes` x `devicesPerNode`: whole nodes
    /// when the stages divide the nodes, a slice of a node when they divide the node's devices further, else nil.
    public static func equalShare(of stages: Int, nodes: Int, devicesPerNode: Int) -> SubmeshShape? {
        guard stages >= 1 else { return nil }
        if nodes % stages == 0 { return SubmeshShape(nodes: nodes / stages, devicesPerNode: devicesPerNode) }
        guard stages % nodes == 0, devicesPerNode % (stages / nodes) == 0 else { return nil }
        return SubmeshShape(nodes: 1, devicesPerNode: devicesPerNode / (stages / nodes))
    }
}
