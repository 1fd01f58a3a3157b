/// One pipeline stage's sharding: a contiguous range of the graph's ops, the logical mesh of devices that
/// runs them, the strategy of every op on that mesh, and the stage's own activation recomputation when it
/// differs from the plan's.
public struct StageLayout: Sendable, Equatable {
    /// The ops of the stage (indices into `Graph.operations`).
    public var operations: Range<Int>
    public var mesh: DeviceMesh
    /// One strategy per op of `operations`, in order.
    public var strategies: [OpStrategy]
    /// Recomputation of this stage; nil for the plan's (`TrainingOptions.recompute`).
    public var recompute: RecomputeMode?

    /// The stage running `operations` on `mesh` with `strategies`, one per op of `operations` in order: a count that
    /// differs is a programmer's error, which traps. (A plan whose stages are edited afterwards is checked by
    /// `PlanValidator`, which `PlanEvaluator.evaluate(checking:)` runs.)
    public init(operations: Range<Int>, mesh: DeviceMesh, strategies: [OpStrategy], recompute: RecomputeMode? = nil) {
        precondition(strategies.count == operations.count, "one strategy per op of the stage")
        self.operations = operations
        self.mesh = mesh
        self.strategies = strategies
        self.recompute = recompute
    }

    /// The strategy of op `operationIndex` of the graph, which must be one of `operations` (it traps otherwise).
    public func strategy(of operationIndex: Int) -> OpStrategy { strategies[operationIndex - operations.lowerBound] }
}
