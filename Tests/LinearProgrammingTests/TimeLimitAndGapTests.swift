import LinearProgramming
import Testing

/// A random multidimensional 0/1 knapsack: hard enough that GLPK's branch and bound takes a
/// while, so time limits and gaps actually stop it.
private struct MultidimensionalKnapsack {
    var values: [Double]
    var weights: [[Double]]
    var capacities: [Double]

    init(items: Int, dimensions: Int, seed: UInt64) {
        var generator = SplitMix64(seed: seed)
        weights = (0..<dimensions).map { _ in (0..<items).map { _ in Double(Int.random(in: 10...100, using: &generator)) } }
        capacities = weights.map { ($0.reduce(0, +) / 2).rounded() }
        values = weights[0].map { $0 + Double(Int.random(in: 0...10, using: &generator)) }
    }

    func makeProgram() -> MixedIntegerProgram {
        var program = MixedIntegerProgram()
        let take = values.indices.map { program.addVariable(name: "take\($0)", kind: .binary) }
        for (dimension, row) in weights.enumerated() {
            program.addConstraint(LinearExpression(terms: zip(take, row)), .lessThanOrEqual, capacities[dimension], name: "capacity\(dimension)")
        }
        program.maximize(LinearExpression(terms: zip(take, values)))
        return program
    }

    func isFeasible(_ chosen: [Double]) -> Bool {
        chosen.allSatisfy { $0 == 0 || $0 == 1 }
            && zip(weights, capacities).allSatisfy { row, capacity in
                zip(row, chosen).reduce(0) { $0 + $1.0 * $1.1 } <= capacity
            }
    }
}

@Suite("Time limits and gaps")
struct TimeLimitAndGapTests {
    @Test(
        "A tiny time limit gives an optimal or time-limited feasible solution, or the no-solution error, never anything else",
        arguments: [(100, 10, 0.05), (30, 3, 0.001)]
    )
    func timeLimit(items: Int, dimensions: Int, seconds: Double) throws {
        for seed in UInt64(1)...3 {
            let knapsack = MultidimensionalKnapsack(items: items, dimensions: dimensions, seed: seed)
            let options = SolverOptions(timeLimit: seconds)
            let outcome = Result { () throws(LinearProgrammingError) in
                try GLPKSolver().solve(knapsack.makeProgram(), options: options)
            }
            let solution: Solution
            switch outcome {
            case let .success(found):
                solution = found
            case let .failure(error):
                #expect(error == .noSolutionWithinTimeLimit(seconds: seconds))
                continue
            }
            #expect(knapsack.isFeasible(solution.values))
            #expect(solution.solveSeconds < seconds + 1)
            switch solution.status {
            case .optimal:
                #expect(solution.bestBound == solution.objectiveValue)
            case .feasible(stoppedBy: .timeLimit):
                let bound = try #require(solution.bestBound)
                #expect(bound >= solution.objectiveValue)
            case .feasible(stoppedBy: .relativeGap):
                Issue.record("stopped at a gap although none was asked for")
            }
        }
    }

    @Test("A 1% relative gap stops with a solution within 1% of the best bound")
    func relativeGap() throws {
        for seed in UInt64(1)...3 {
            let knapsack = MultidimensionalKnapsack(items: 100, dimensions: 10, seed: seed)
            let solution = try GLPKSolver().solve(knapsack.makeProgram(), options: SolverOptions(relativeGap: 0.01))
            let bound = try #require(solution.bestBound)

            #expect(knapsack.isFeasible(solution.values))
            #expect(solution.status == .optimal || solution.status == .feasible(stoppedBy: .relativeGap))
            #expect(bound >= solution.objectiveValue)
            #expect((bound - solution.objectiveValue) / solution.objectiveValue <= 0.01 + 1e-9)
        }
    }
}
