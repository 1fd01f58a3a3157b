import LinearProgramming
import Testing

@Suite("Random binary programs against brute force")
struct RandomOracleTests {
    @Test("30 random binary programs: GLPK's optimum equals exhaustive enumeration's")
    func randomProgramsMatchEnumeration() throws {
        var generator = SplitMix64(seed: 2024)
        let solver = GLPKSolver()
        var infeasibleCount = 0
        for trial in 0..<30 {
            let instance = BinaryProgramInstance.random(
                variableCount: Int.random(in: 3...10, using: &generator),
                rowCount: Int.random(in: 1...4, using: &generator),
                using: &generator
            )
            let options = SolverOptions(presolve: trial % 3 != 0, solveRelaxationFirst: trial % 2 == 0)
            let (program, _) = instance.makeProgram()

            guard let expected = instance.bruteForceOptimum() else {
                infeasibleCount += 1
                #expect(throws: LinearProgrammingError.infeasible, "\(instance)") {
                    try solver.solve(program, options: options)
                }
                continue
            }
            let solution = try solver.solve(program, options: options)
            #expect(solution.status == .optimal, "\(instance)")
            #expect(abs(solution.objectiveValue - expected) < 1e-6, "\(instance)")
            #expect(instance.isFeasible(solution.values), "\(instance)")
        }
        #expect(infeasibleCount < 15, "the generator should mostly produce feasible instances")
    }
}
