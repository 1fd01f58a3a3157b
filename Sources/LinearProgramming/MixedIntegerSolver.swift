/// A solver for ``MixedIntegerProgram``s, so that callers do not depend on a particular one.
///
/// Conforming types must be safe to call concurrently from several threads on different programs.
public protocol MixedIntegerSolver: Sendable {
    /// Solves `program`, returning an optimal or feasible solution.
    ///
    /// - Throws: ``LinearProgrammingError``: the program or options are invalid, the program is
    ///   infeasible or unbounded, the time limit ran out before any solution, or the solver failed.
    func solve(_ program: MixedIntegerProgram, options: SolverOptions) throws(LinearProgrammingError) -> Solution
}

extension MixedIntegerSolver {
    /// Solves `program` with default ``SolverOptions``: proven optimality, no time limit.
    public func solve(_ program: MixedIntegerProgram) throws(LinearProgrammingError) -> Solution {
        try solve(program, options: SolverOptions())
    }
}
