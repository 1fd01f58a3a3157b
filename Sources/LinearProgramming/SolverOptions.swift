/// Limits and strategy for one solve of a ``MixedIntegerProgram``.
public struct SolverOptions: Sendable, Hashable {
    /// Wall-clock limit in seconds, or `nil` for none. The solver checks it between steps, so a
    /// solve may overrun it slightly. When it runs out, the best solution found so far is returned
    /// with status ``SolveStatus/feasible(stoppedBy:)``; without one, the solve throws
    /// ``LinearProgrammingError/noSolutionWithinTimeLimit(seconds:)``.
    public var timeLimit: Double?

    /// Branch and bound stops once `|incumbent − bound| / (|incumbent| + ε) ≤ relativeGap`;
    /// 0 asks for a proven optimum.
    public var relativeGap: Double

    /// Whether the solver may simplify the program before solving it.
    public var presolve: Bool

    /// Whether to solve the LP relaxation first and branch only if its optimum is fractional.
    /// Sharding problems often have an integral relaxation, which this turns into a single LP.
    public var solveRelaxationFirst: Bool

    /// Options with the given values; the defaults prove optimality with no time limit.
    public init(
        timeLimit: Double? = nil,
        relativeGap: Double = 0,
        presolve: Bool = true,
        solveRelaxationFirst: Bool = true
    ) {
        self.timeLimit = timeLimit
        self.relativeGap = relativeGap
        self.presolve = presolve
        self.solveRelaxationFirst = solveRelaxationFirst
    }

    /// Throws ``LinearProgrammingError/invalidOptions(_:)`` for a time limit that is not a
    /// positive finite number or a gap that is not a non-negative finite number.
    func validate() throws(LinearProgrammingError) {
        if let timeLimit, !(timeLimit.isFinite && timeLimit > 0) {
            throw .invalidOptions("the time limit is \(timeLimit) s; it must be a positive number of seconds, or nil for none")
        }
        if !(relativeGap.isFinite && relativeGap >= 0) {
            throw .invalidOptions("the relative gap is \(relativeGap); it must be a finite number of at least 0")
        }
    }
}
