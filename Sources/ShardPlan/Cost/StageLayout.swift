/// One pipeline stage's sharding: a contiguous range of the graph's ops, the logical mesh of devices that
/// runs them, the strategy of every op on that mesh, and the stage's own activation recomputation when it
/// differs from the plan's.
public struct StageLayout: Sendable {
    /// The ops of the stage (indices into `Graph.operations`).
    public var operations: Range<Int>
    public var mesh: DeviceMesh
    /// One strategy per op of `operations`, in order.
    public var strategies: [OpStrategy]
    /// Recomputation of this stage; nil for the plan's (`TrainingOptions.recompute`).
    public var recompute: RecomputeMode?

    public init(operations: Range<Int>, mesh: DeviceMesh, strategies: [OpStrategy], recompute: RecomputeMode? = nil) {
        precondition(strategies.count == operations.count, "one strategy per op of the stage")
        self.operations = operations
        self.mesh = mesh
        self.strategies = strategies
        self.recompute = recompute
    }

    public func strategy(of operationIndex: Int) -> OpStrategy { strategies[operationIndex - operations.lowerBound] }
}
