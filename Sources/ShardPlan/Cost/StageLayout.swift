/// One pipeline stage's sharding: a contiguous range of the graph's ops, the logical mesh of devices that
/// runs them, and the strategy of every op on that mesh.
public struct StageLayout: Sendable {
    /// The ops of the stage (indices into `Graph.operations`).
    public var operations: Range<Int>
    public var mesh: DeviceMesh
    /// One strategy per op of `operations`, in order.
    public var strategies: [OpStrategy]

    public init(operations: Range<Int>, mesh: DeviceMesh, strategies: [OpStrategy]) {
        precondition(strategies.count == operations.count, "one strategy per op of the stage")
        self.operations = operations
        self.mesh = mesh
        self.strategies = strategies
    }

    public func strategy(of operationIndex: Int) -> OpStrategy { strategies[operationIndex - operations.lowerBound] }
}
