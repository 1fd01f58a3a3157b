/// Why a ``MixedIntegerSolver`` could not produce a ``Solution``.
///
/// Infeasible and unbounded programs are errors rather than statuses, so a ``Solution`` always
/// carries values that satisfy every constraint.
public enum LinearProgrammingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The program is malformed; nothing was handed to the solver.
    case invalidModel(ModelDefect)
    /// The options are malformed (for example a negative time limit); nothing was solved.
    case invalidOptions(String)
    /// No assignment satisfies all constraints, bounds and integrality requirements.
    case infeasible
    /// The objective can improve without limit. For a program with integer variables this is
    /// decided on its LP relaxation, as GLPK does.
    case unbounded
    /// The time limit ran out before any feasible solution was found.
    case noSolutionWithinTimeLimit(seconds: Double)
    /// The solver failed: a failure code from a solver routine, or an internal error that was
    /// caught and turned into this error. The message is the solver's, where there is one.
    case solverFailure(String)

    public var description: String {
        switch self {
        case let .invalidModel(defect):
            "Invalid model: \(defect)."
        case let .invalidOptions(reason):
            "Invalid solver options: \(reason)."
        case .infeasible:
            "The program is infeasible: no assignment satisfies all constraints, bounds and integrality requirements."
        case .unbounded:
            "The program is unbounded: the objective can improve without limit."
        case let .noSolutionWithinTimeLimit(seconds):
            "No feasible solution was found within the time limit of \(seconds) s."
        case let .solverFailure(message):
            "The solver failed: \(message)."
        }
    }
}
