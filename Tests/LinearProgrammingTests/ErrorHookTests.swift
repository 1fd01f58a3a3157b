import LinearProgramming
import Testing

@Suite("GLPK errors never abort the process")
struct ErrorHookTests {
    /// maximise x + 2y subject to x + y <= 3, x, y binary: optimum 3.
    private static func smallProgram() -> MixedIntegerProgram {
        var program = MixedIntegerProgram()
        let x = program.addVariable(kind: .binary)
        let y = program.addVariable(kind: .binary)
        program.addConstraint(x + y, .lessThanOrEqual, 3)
        program.maximize(x + 2 * y)
        return program
    }

    @Test("An internal GLPK error becomes a solver failure with GLPK's message, and the next solve works")
    func internalErrorBecomesSwiftError() throws {
        var faulty = GLPKSolver()
        faulty.injectsInternalErrorForTesting = true
        let program = Self.smallProgram()

        for _ in 0..<3 {
            let error = #expect(throws: LinearProgrammingError.self) { try faulty.solve(program) }
            guard case let .solverFailure(message) = error else {
                Issue.record("expected a solver failure, got \(String(describing: error))")
                return
            }
            #expect(message.contains("column number out of range"))

            let solution = try GLPKSolver().solve(program)
            #expect(solution.objectiveValue == 3)
        }
    }

    @Test("Internal errors on some threads leave concurrent solves on other threads correct")
    func internalErrorsDuringConcurrentSolves() async throws {
        let program = Self.smallProgram()
        let objectives = try await withThrowingTaskGroup(of: Double?.self) { group in
            for task in 0..<16 {
                group.addTask {
                    var solver = GLPKSolver()
                    solver.injectsInternalErrorForTesting = task.isMultiple(of: 2)
                    do throws(LinearProgrammingError) {
                        return try solver.solve(program).objectiveValue
                    } catch .solverFailure {
                        return nil
                    }
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(objectives.filter { $0 == nil }.count == 8)
        #expect(objectives.compactMap { $0 } == Array(repeating: 3, count: 8))
    }
}
