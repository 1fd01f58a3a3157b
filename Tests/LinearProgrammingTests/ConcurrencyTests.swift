import LinearProgramming
import Testing

@Suite("Concurrent solves")
struct ConcurrencyTests {
    @Test("Eight programs solved in a task group give the same results as solved one after another")
    func taskGroupMatchesSequential() async throws {
        var generator = SplitMix64(seed: 8)
        let programs = (0..<8).map { _ in
            BinaryProgramInstance.random(variableCount: 30, rowCount: 6, using: &generator).makeProgram().0
        }
        let solver = GLPKSolver()
        let sequential = programs.map { try? solver.solve($0).objectiveValue }

        let concurrent = await withTaskGroup(of: (Int, Double?).self) { group in
            for (index, program) in programs.enumerated() {
                group.addTask { (index, try? solver.solve(program).objectiveValue) }
            }
            var results = [Double?](repeating: nil, count: programs.count)
            for await (index, objective) in group {
                results[index] = objective
            }
            return results
        }

        #expect(concurrent == sequential)
        #expect(sequential.compactMap { $0 }.count >= 4, "most instances should be feasible")
    }
}
