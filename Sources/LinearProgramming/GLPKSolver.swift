import CGLPK

/// A ``MixedIntegerSolver`` backed by GLPK: `glp_simplex` for LPs and relaxations, `glp_intopt`
/// (branch and cut) when integer variables take fractional values.
///
/// Every solve builds a fresh GLPK problem in bulk, solves it with terminal output off and
/// deletes it. A GLPK internal error never aborts the process: it becomes
/// ``LinearProgrammingError/solverFailure(_:)`` and the next solve works normally. Solves on
/// different threads run concurrently (GLPK keeps its state per thread). See
/// `Docs/linear-programming.md` for the mapping and the error-hook design.
public struct GLPKSolver: MixedIntegerSolver {
    /// Tests only: misuse GLPK inside the guarded solve so that its error handler runs.
    package var injectsInternalErrorForTesting = false

    /// A solver with no state of its own; options come with each solve.
    public init() {}

    public func solve(_ program: MixedIntegerProgram, options: SolverOptions) throws(LinearProgrammingError) -> Solution {
        let clock = ContinuousClock()
        let start = clock.now
        try options.validate()
        try program.validate()
        let (outcome, values) = GLPKModel(program).solve(parameters(for: options))
        let status = try Self.status(of: outcome, options: options)
        let elapsed = start.duration(to: clock.now).components
        return Solution(
            of: program,
            status: status,
            values: values,
            bestBound: outcome.has_best_bound != 0 ? outcome.best_bound : nil,
            solveSeconds: Double(elapsed.seconds) + Double(elapsed.attoseconds) * 1e-18
        )
    }

    private func parameters(for options: SolverOptions) -> cglpk_parameters {
        // GLPK takes whole milliseconds in an int; a limit of more than 24 days is no limit.
        let timeLimitMilliseconds = options.timeLimit.map { Int32(Swift.min(($0 * 1000).rounded(.up), Double(Int32.max))) }
        return cglpk_parameters(
            presolve: options.presolve ? 1 : 0,
            relaxation_first: options.solveRelaxationFirst ? 1 : 0,
            time_limit_ms: timeLimitMilliseconds ?? 0,
            relative_gap: options.relativeGap,
            inject_error: injectsInternalErrorForTesting ? 1 : 0
        )
    }

    private static func status(of outcome: cglpk_outcome, options: SolverOptions) throws(LinearProgrammingError) -> SolveStatus {
        switch outcome.result {
        case CGLPK_OPTIMAL:
            return .optimal
        case CGLPK_STOPPED_AT_GAP:
            return .feasible(stoppedBy: .relativeGap)
        case CGLPK_STOPPED_AT_TIME_LIMIT:
            return .feasible(stoppedBy: .timeLimit)
        case CGLPK_INFEASIBLE:
            throw .infeasible
        case CGLPK_UNBOUNDED:
            throw .unbounded
        case CGLPK_TIME_LIMIT_WITHOUT_SOLUTION:
            throw .noSolutionWithinTimeLimit(seconds: options.timeLimit ?? 0)
        case CGLPK_SOLVER_FAILED:
            let routine = outcome.failed_routine.map { String(cString: $0) } ?? "GLPK"
            throw .solverFailure(
                "\(routine) returned \(GLPKCodes.describeReturnCode(outcome.return_code)) with solution status \(GLPKCodes.describeStatus(outcome.solution_status))"
            )
        case CGLPK_ERROR_TRAPPED:
            throw .solverFailure(
                "GLPK stopped with an internal error (\(capturedMessage(outcome))); its state on this thread was reset and later solves are unaffected"
            )
        default:
            preconditionFailure("cglpk_solve returned the unknown result \(outcome.result)")
        }
    }

    /// GLPK's terminal text from the failed solve, on one line.
    private static func capturedMessage(_ outcome: cglpk_outcome) -> String {
        let text = withUnsafeBytes(of: outcome.message) { bytes in
            String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        }
        let lines = text.split(whereSeparator: \.isNewline)
        return lines.isEmpty ? "no message" : lines.joined(separator: "; ")
    }
}
