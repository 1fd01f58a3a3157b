import Foundation

/// Finds the cheapest sharding of one stage on one logical mesh: builds the stage's `StageShardingProblem`
/// (shrunk by layer repetition), solves it with the `ShardingSolver`, and prices the chosen layout with
/// `StageCostModel`.
public struct IntraOperatorSearch: Sendable {
    public var solver: ShardingSolver

    public init(solver: ShardingSolver = ShardingSolver()) { self.solver = solver }

    /// What one search found and what it took.
    public struct Result: Sendable {
        public var layout: StageLayout
        public var cost: StageCost
        public var solution: ShardingSolver.Solution
        /// Nodes (op classes) and edges of the solved problem, and the size an unshrunk problem would have.
        public var nodeCount: Int
        public var edgeCount: Int
        public var unshrunkVariables: Int
        public var unshrunkConstraints: Int
        public var buildSeconds: Double
        public var solveSeconds: Double
    }

    /// The best layout of `operations` on `mesh` with activations of `inFlight` microbatches alive, within
    /// `memoryBudget` bytes per device; `prices` remembers layout changes on `mesh` across searches; the ops
    /// in `pinned` keep the strategies given there (`StageShardingProblem`).
    ///
    /// With `secondsPerByte` above 0 the search minimises time plus that price of every byte each device holds
    /// (a Lagrangian relaxation of the budget): a leaner layout, found as fast as an unconstrained one, that a
    /// stage short of memory can use.
    public func search(model: StageCostModel, operations: Range<Int>, mesh: DeviceMesh, inFlight: Double,
                       memoryBudget: Double?, layers: [Layer], prices: ReshardingPrices? = nil,
                       pinned: [Int: OpStrategy] = [:], secondsPerByte: Double = 0) throws(ShardingSolver.Failure) -> Result {
        let start = Date()
        let stage = StageShardingProblem(operations: operations, mesh: mesh, model: model, inFlight: inFlight,
                                         memoryBudget: memoryBudget, layers: layers, prices: prices, pinned: pinned)
        let built = Date()
        let solution = try solve(stage, secondsPerByte: secondsPerByte)
        let solved = Date()
        let layout = stage.layout(for: solution.choice)
        return Result(layout: layout, cost: model.cost(of: layout), solution: solution,
                      nodeCount: stage.problem.nodes.count, edgeCount: stage.problem.normalized().edges.count,
                      unshrunkVariables: stage.unshrunkSize.variables, unshrunkConstraints: stage.unshrunkSize.constraints,
                      buildSeconds: built.timeIntervalSince(start), solveSeconds: solved.timeIntervalSince(built))
    }

    /// The cheapest choice of a built problem, time plus `secondsPerByte` for every byte held: one problem
    /// solves at several prices of memory without being built again.
    public func solve(_ stage: StageShardingProblem, secondsPerByte: Double = 0) throws(ShardingSolver.Failure) -> ShardingSolver.Solution {
        var problem = stage.problem
        if secondsPerByte > 0 {
            for node in problem.nodes.indices {
                for strategy in problem.nodes[node].costs.indices {
                    problem.nodes[node].costs[strategy] += secondsPerByte * problem.nodes[node].memory[strategy]
                }
            }
        }
        return try solver.solve(problem)
    }
}
