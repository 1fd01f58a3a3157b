/// How good a ``Solution`` is known to be.
public enum SolveStatus: Sendable, Hashable {
    /// Why a solve stopped before proving its solution optimal.
    public enum StopReason: Sendable, Hashable {
        /// The incumbent came within ``SolverOptions/relativeGap`` of the best bound.
        case relativeGap
        /// ``SolverOptions/timeLimit`` ran out.
        case timeLimit
    }

    /// Proven optimal (within the solver's tolerances).
    case optimal
    /// Feasible, but the solve stopped before proving it optimal.
    case feasible(stoppedBy: StopReason)
}
