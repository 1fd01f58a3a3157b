@testable import ShardPlan

extension StageLayout {
    /// Every op of `graph` on the first device of `cluster`, none of them sharded: what one device computes alone.
    static func unsharded(_ graph: Graph, on cluster: Cluster) throws -> StageLayout {
        StageLayout(operations: 0 ..< graph.operations.count, mesh: try DeviceMesh(devices: [0], shape: [1], in: cluster),
                    strategies: Array(repeating: OpStrategy(indexOfAxis: [nil]), count: graph.operations.count))
    }
}
