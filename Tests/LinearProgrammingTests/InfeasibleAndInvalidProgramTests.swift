import LinearProgramming
import Testing

@Suite("Infeasible, unbounded and malformed programs")
struct InfeasibleAndInvalidProgramTests {
    let solver = GLPKSolver()

    @Test("Contradictory constraints are infeasible, with and without presolve", arguments: [true, false])
    func infeasible(presolve: Bool) {
        var program = MixedIntegerProgram()
        let x = program.addVariable()
        let y = program.addVariable()
        program.addConstraint(x + y, .greaterThanOrEqual, 5)
        program.addConstraint(x + y, .lessThanOrEqual, 3)
        program.maximize(LinearExpression(x))

        #expect(throws: LinearProgrammingError.infeasible) {
            try solver.solve(program, options: SolverOptions(presolve: presolve))
        }
    }

    @Test("A feasible relaxation without integer points is infeasible: 2x = 1 with x integer", arguments: [true, false])
    func integerInfeasible(solveRelaxationFirst: Bool) {
        var program = MixedIntegerProgram()
        let x = program.addVariable(kind: .integer, upperBound: 10)
        program.addConstraint(2 * x, .equal, 1)

        #expect(throws: LinearProgrammingError.infeasible) {
            try solver.solve(program, options: SolverOptions(solveRelaxationFirst: solveRelaxationFirst))
        }
    }

    @Test(
        "An objective that improves without limit is unbounded, for LPs and integer programs",
        arguments: [VariableKind.continuous, .integer], [true, false]
    )
    func unbounded(kind: VariableKind, presolve: Bool) {
        var program = MixedIntegerProgram()
        let x = program.addVariable(kind: kind)
        let y = program.addVariable(kind: kind)
        program.addConstraint(x - y, .lessThanOrEqual, 1)
        program.maximize(x + y)

        #expect(throws: LinearProgrammingError.unbounded) {
            try solver.solve(program, options: SolverOptions(presolve: presolve, solveRelaxationFirst: false))
        }
    }

    @Test("A NaN coefficient is rejected before GLPK sees it, naming the constraint and variable")
    func nanCoefficient() {
        var program = MixedIntegerProgram()
        let x = program.addVariable(name: "x")
        program.addConstraint(Double.nan * x, .lessThanOrEqual, 1, name: "capacity")

        let error = #expect(throws: LinearProgrammingError.self) { try solver.solve(program) }

        guard case let .invalidModel(.nonFiniteNumber(location, value)) = error else {
            Issue.record("expected a non-finite number, got \(String(describing: error))")
            return
        }
        #expect(location == #"coefficient of variable 0 ("x") in constraint 0 ("capacity")"#)
        #expect(value.isNaN)
        #expect(error?.description.contains("must be finite") == true)
    }

    @Test("Malformed bounds, numbers and handles are each reported as the matching defect")
    func malformedModels() {
        var emptyDomain = MixedIntegerProgram()
        _ = emptyDomain.addVariable(name: "x", lowerBound: 2, upperBound: 1)
        #expect(throws: LinearProgrammingError.invalidModel(.emptyDomain(variable: #"variable 0 ("x")"#, lowerBound: 2, upperBound: 1))) {
            try solver.solve(emptyDomain)
        }

        var binaryAboveOne = MixedIntegerProgram()
        _ = binaryAboveOne.addVariable(kind: .binary, lowerBound: 2)
        #expect(throws: LinearProgrammingError.invalidModel(.emptyDomain(variable: "variable 0", lowerBound: 2, upperBound: 1))) {
            try solver.solve(binaryAboveOne)
        }

        var noIntegerBetweenBounds = MixedIntegerProgram()
        _ = noIntegerBetweenBounds.addVariable(kind: .integer, lowerBound: 0.5, upperBound: 0.7)
        #expect(throws: LinearProgrammingError.invalidModel(.emptyDomain(variable: "variable 0", lowerBound: 1, upperBound: 0))) {
            try solver.solve(noIntegerBetweenBounds)
        }

        var infiniteBound = MixedIntegerProgram()
        _ = infiniteBound.addVariable(name: "y", upperBound: .infinity)
        #expect(throws: LinearProgrammingError.invalidModel(.nonFiniteBound(variable: #"variable 0 ("y")"#, value: .infinity))) {
            try solver.solve(infiniteBound)
        }

        var infiniteRightHandSide = MixedIntegerProgram()
        let z = infiniteRightHandSide.addVariable()
        infiniteRightHandSide.addConstraint(LinearExpression(z), .lessThanOrEqual, -.infinity)
        #expect(throws: LinearProgrammingError.invalidModel(.nonFiniteNumber(location: "right-hand side of constraint 0", value: -.infinity))) {
            try solver.solve(infiniteRightHandSide)
        }

        var other = MixedIntegerProgram()
        let foreign = other.addVariable()
        var program = MixedIntegerProgram()
        _ = program.addVariable()
        program.minimize(LinearExpression(foreign))
        #expect(throws: LinearProgrammingError.invalidModel(.foreignVariable(location: "the objective"))) {
            try solver.solve(program)
        }
    }

    @Test("Malformed options are rejected")
    func malformedOptions() {
        let program = MixedIntegerProgram()
        #expect(throws: LinearProgrammingError.self) { try solver.solve(program, options: SolverOptions(timeLimit: 0)) }
        #expect(throws: LinearProgrammingError.self) { try solver.solve(program, options: SolverOptions(timeLimit: .nan)) }
        #expect(throws: LinearProgrammingError.self) { try solver.solve(program, options: SolverOptions(relativeGap: -0.1)) }
    }
}
