/// How a launcher starts a layout's processes, one per device, on the devices the plan is priced on: the
/// ranks take devices `0 ..< worldSize` of the cluster node by node (`TrainingPlan.megatron`), so they fill
/// whole nodes and, where the world size is not a multiple of a node's devices, part of one more. 12
/// processes on nodes of 8 are 8 on the first node and 4 on the second, not 3 nodes of 4.
public struct LaunchShape: Sendable, Equatable {
    /// Nodes that run processes.
    public var nodes: Int
    /// Processes on each node but the last: the node's devices, or the world size where that is fewer.
    public var processesPerNode: Int
    /// Processes on the last node: fewer than `processesPerNode` where the world ends inside a node.
    public var lastNodeProcesses: Int

    public init(worldSize: Int, devicesPerNode: Int) {
        processesPerNode = min(worldSize, devicesPerNode)
        nodes = (worldSize + processesPerNode - 1) / processesPerNode
        lastNodeProcesses = worldSize - (nodes - 1) * processesPerNode
    }

    /// Processes in all: Megatron-LM's world size, tp x pp x dp x cp.
    public var worldSize: Int { (nodes - 1) * processesPerNode + lastNodeProcesses }

    /// Whether every node starts as many processes: then one `--nproc-per-node` (or `trainer.devices`) starts them.
    public var isUniform: Bool { lastNodeProcesses == processesPerNode }

    /// Where the last node starts fewer, how the plan's devices fall on the nodes: "the plan's 12 devices are
    /// 8 on the first node and 4 on the last".
    public var partialNode: String? {
        guard !isUniform else { return nil }
        let full = nodes == 2 ? "the first node" : "each of the first \(nodes - 1) nodes"
        return "the plan's \(worldSize) devices are \(processesPerNode) on \(full) and \(lastNodeProcesses) on the last"
    }

    /// Where the last node starts fewer, what `torchrun` needs there, as a sentence.
    public var torchrunLastNode: String? {
        partialNode.map {
            "On the last node start torchrun with --nproc-per-node=\(lastNodeProcesses) and the last --node-rank: \($0) "
                + "(torchrun takes a different count on each node and numbers the ranks node by node, in --node-rank order)."
        }
    }

    /// The fewest nodes, `maximumNodes` at most, that start the world size with as many processes on each and
    /// no more than a node's devices, for launchers that start as many on every node (Lightning's
    /// `trainer.devices`); nil where none does. A uniform shape is its own.
    public func evenSpread(maximumNodes: Int) -> (nodes: Int, processesPerNode: Int)? {
        // From `nodes` up, every spread has at most `processesPerNode` (a node's devices) on each node.
        guard maximumNodes >= nodes else { return nil }
        return (nodes ... maximumNodes).first { worldSize % $0 == 0 }.map { ($0, worldSize / $0) }
    }
}
