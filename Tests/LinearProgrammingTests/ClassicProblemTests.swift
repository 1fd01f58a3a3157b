import LinearProgramming
import Testing

@Suite("Classic problems with known optima")
struct ClassicProblemTests {
    let solver = GLPKSolver()

    @Test("0/1 knapsack: GLPK matches the known optimum and brute force over all subsets")
    func knapsack() throws {
        let weights: [Double] = [23, 31, 29, 44, 53, 38, 63, 85, 89, 82]
        let values: [Double] = [92, 57, 49, 68, 60, 43, 67, 84, 87, 72]
        let capacity = 165.0

        var program = MixedIntegerProgram()
        let take = weights.indices.map { program.addVariable(name: "take\($0)", kind: .binary) }
        program.addConstraint(LinearExpression(terms: zip(take, weights)), .lessThanOrEqual, capacity, name: "capacity")
        program.maximize(LinearExpression(terms: zip(take, values)))

        let solution = try solver.solve(program)

        let bruteForce = (0..<(1 << weights.count)).compactMap { mask -> Double? in
            let chosen = weights.indices.filter { mask >> $0 & 1 == 1 }
            guard chosen.reduce(0, { $0 + weights[$1] }) <= capacity else { return nil }
            return chosen.reduce(0) { $0 + values[$1] }
        }.max()
        #expect(solution.status == .optimal)
        #expect(solution.objectiveValue == 309)
        #expect(solution.objectiveValue == bruteForce)
        #expect(solution.bestBound == 309)
        #expect(take.filter { solution.value(of: $0) == 1 }.map(\.index) == [0, 1, 2, 3, 5])
    }

    @Test("5x5 assignment: GLPK matches brute force over all permutations")
    func assignment() throws {
        let cost: [[Double]] = [
            [9, 2, 7, 8, 6],
            [6, 4, 3, 7, 5],
            [5, 8, 1, 8, 7],
            [7, 6, 9, 4, 8],
            [3, 7, 5, 6, 2],
        ]
        let size = cost.count
        var program = MixedIntegerProgram()
        let assign = (0..<size).map { worker in
            (0..<size).map { task in program.addVariable(name: "assign\(worker)_\(task)", kind: .binary) }
        }
        for worker in 0..<size {
            program.addConstraint(LinearExpression(terms: assign[worker].map { ($0, 1) }), .equal, 1, name: "worker\(worker)")
        }
        for task in 0..<size {
            program.addConstraint(LinearExpression(terms: (0..<size).map { (assign[$0][task], 1) }), .equal, 1, name: "task\(task)")
        }
        program.minimize(LinearExpression(terms: (0..<size).flatMap { worker in
            (0..<size).map { task in (assign[worker][task], cost[worker][task]) }
        }))

        let solution = try solver.solve(program)

        let bruteForce = permutations(of: Array(0..<size)).map { tasks in
            tasks.enumerated().reduce(0) { $0 + cost[$1.offset][$1.element] }
        }.min()
        #expect(solution.status == .optimal)
        #expect(solution.objectiveValue == 15)
        #expect(solution.objectiveValue == bruteForce)
        let chosenTasks = (0..<size).map { worker in (0..<size).first { solution.value(of: assign[worker][$0]) == 1 } }
        #expect(Set(chosenTasks.compactMap { $0 }).count == size)
    }

    @Test("Small LP: the optimum computed by hand, x = 3, y = 1.5, objective 21")
    func smallLinearProgram() throws {
        // maximise 5x + 4y subject to 6x + 4y <= 24, x + 2y <= 6, -x + y <= 1, y <= 2.
        // The optimum lies where 6x + 4y = 24 meets x + 2y = 6: x = 3, y = 1.5.
        var program = MixedIntegerProgram()
        let x = program.addVariable(name: "x")
        let y = program.addVariable(name: "y", upperBound: 2)
        program.addConstraint(6 * x + 4 * y, .lessThanOrEqual, 24)
        program.addConstraint(x + 2 * y, .lessThanOrEqual, 6)
        program.addConstraint(y - x, .lessThanOrEqual, 1)
        program.maximize(5 * x + 4 * y)

        let solution = try solver.solve(program)

        #expect(solution.status == .optimal)
        #expect(abs(solution.value(of: x) - 3) < 1e-9)
        #expect(abs(solution.value(of: y) - 1.5) < 1e-9)
        #expect(abs(solution.objectiveValue - 21) < 1e-9)
        #expect(solution.bestBound == solution.objectiveValue)
    }

    @Test("Free variables, equalities and constants: minimise x - y + 10 with x + y = 2, x >= -3, y <= 5")
    func boundsAndConstants() throws {
        var program = MixedIntegerProgram()
        let x = program.addVariable(name: "x", lowerBound: -3)
        let y = program.addVariable(name: "y", lowerBound: nil, upperBound: 5)
        program.addConstraint(x + y + 1, .equal, 3)
        program.minimize(x - y + 10)

        let solution = try solver.solve(program)

        #expect(solution.value(of: x) == -3)
        #expect(solution.value(of: y) == 5)
        #expect(solution.objectiveValue == 2)
        #expect(solution.value(of: 2 * x + y) == -1)
    }

    @Test(
        "Integer program whose LP relaxation is fractional (41.25) has integer optimum 40",
        arguments: [(true, true), (true, false), (false, true), (false, false)]
    )
    func fractionalRelaxation(presolve: Bool, solveRelaxationFirst: Bool) throws {
        // maximise 5x + 8y subject to x + y <= 6, 5x + 9y <= 45: the relaxation's optimum is
        // x = 2.25, y = 3.75; the integer optimum is x = 0, y = 5.
        var program = MixedIntegerProgram()
        let x = program.addVariable(name: "x", kind: .integer)
        let y = program.addVariable(name: "y", kind: .integer)
        program.addConstraint(x + y, .lessThanOrEqual, 6)
        program.addConstraint(5 * x + 9 * y, .lessThanOrEqual, 45)
        program.maximize(5 * x + 8 * y)
        var relaxation = MixedIntegerProgram()
        let relaxedX = relaxation.addVariable(name: "x")
        let relaxedY = relaxation.addVariable(name: "y")
        relaxation.addConstraint(relaxedX + relaxedY, .lessThanOrEqual, 6)
        relaxation.addConstraint(5 * relaxedX + 9 * relaxedY, .lessThanOrEqual, 45)
        relaxation.maximize(5 * relaxedX + 8 * relaxedY)
        let options = SolverOptions(presolve: presolve, solveRelaxationFirst: solveRelaxationFirst)

        let relaxed = try solver.solve(relaxation, options: options)
        let solution = try solver.solve(program, options: options)

        #expect(abs(relaxed.objectiveValue - 41.25) < 1e-9)
        #expect(solution.status == .optimal)
        #expect(solution.values == [0, 5])
        #expect(solution.objectiveValue == 40)
    }

    @Test("Fractional bounds of integer variables are rounded inward")
    func fractionalIntegerBounds() throws {
        var program = MixedIntegerProgram()
        let x = program.addVariable(name: "x", kind: .integer, lowerBound: 0.5, upperBound: 2.5)
        let y = program.addVariable(name: "y", kind: .integer, lowerBound: -1.5, upperBound: 3)
        program.maximize(x - y)

        let solution = try solver.solve(program)

        #expect(solution.values == [2, -1])
    }

    @Test("Programs without constraints or without variables solve without GLPK errors")
    func emptyPrograms() throws {
        var nothing = MixedIntegerProgram()
        nothing.minimize(LinearExpression(constant: 4))
        let empty = try solver.solve(nothing)
        #expect(empty.status == .optimal)
        #expect(empty.values.isEmpty)
        #expect(empty.objectiveValue == 4)

        var unconstrained = MixedIntegerProgram()
        let x = unconstrained.addVariable(kind: .integer, lowerBound: 2)
        let y = unconstrained.addVariable(kind: .binary)
        unconstrained.minimize(x - y)
        let solution = try solver.solve(unconstrained)
        #expect(solution.values == [2, 1])
        #expect(solution.objectiveValue == 1)

        var impossible = MixedIntegerProgram()
        impossible.addConstraint(LinearExpression(), .greaterThanOrEqual, 1)
        #expect(throws: LinearProgrammingError.infeasible) { try solver.solve(impossible) }
    }
}

private func permutations(of elements: [Int]) -> [[Int]] {
    guard let first = elements.first else { return [[]] }
    return permutations(of: Array(elements.dropFirst())).flatMap { rest in
        (0...rest.count).map { position in
            var permutation = rest
            permutation.insert(first, at: position)
            return permutation
        }
    }
}
