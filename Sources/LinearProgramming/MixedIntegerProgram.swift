/// A mixed-integer linear program: bounded continuous, integer and binary variables, linear
/// constraints, and a linear objective to minimise or maximise.
///
/// The model is solver-independent; a ``MixedIntegerSolver`` such as ``GLPKSolver`` solves it.
///
/// ```swift
/// var program = MixedIntegerProgram()
/// let x = program.addVariable(name: "x", kind: .integer, upperBound: 4)
/// let y = program.addVariable(name: "y")
/// program.addConstraint(x + 2 * y, .lessThanOrEqual, 7, name: "capacity")
/// program.maximize(3 * x + y)
/// let solution = try GLPKSolver().solve(program)
/// ```
///
/// Building never fails; ``validate()`` (which solvers call first) reports malformed input.
public struct MixedIntegerProgram: Sendable {
    /// The variables, indexed by ``Variable/index``.
    public private(set) var variables: [VariableDefinition] = []

    /// The constraints, in the order they were added.
    public private(set) var constraints: [LinearConstraint] = []

    /// What to optimise; minimising the constant 0 until set.
    public var objective = Objective(.minimize, LinearExpression())

    /// Identifies the program's variable handles; copies share it.
    let id = UInt64.random(in: .min ... .max)

    /// An empty program.
    public init() {}

    /// Adds a variable and returns its handle.
    ///
    /// - Parameters:
    ///   - name: A name for error messages.
    ///   - kind: Continuous, integer or binary. A binary variable's bounds are intersected with
    ///     [0, 1], so `addVariable(kind: .binary)` is a plain 0/1 variable.
    ///   - lowerBound: The least allowed value, `nil` for none. Defaults to 0, as in the standard
    ///     form of a linear program.
    ///   - upperBound: The greatest allowed value, `nil` for none.
    public mutating func addVariable(
        name: String? = nil,
        kind: VariableKind = .continuous,
        lowerBound: Double? = 0,
        upperBound: Double? = nil
    ) -> Variable {
        variables.append(VariableDefinition(name: name, kind: kind, lowerBound: lowerBound, upperBound: upperBound))
        return Variable(index: variables.count - 1, programID: id)
    }

    /// Adds the constraint `expression relation rightHandSide`, for example
    /// `addConstraint(x + y, .lessThanOrEqual, 1)`.
    public mutating func addConstraint(
        _ expression: LinearExpression,
        _ relation: ConstraintRelation,
        _ rightHandSide: Double,
        name: String? = nil
    ) {
        constraints.append(LinearConstraint(name: name, expression: expression, relation: relation, rightHandSide: rightHandSide))
    }

    /// Sets the objective to minimising `expression`.
    public mutating func minimize(_ expression: LinearExpression) {
        objective = Objective(.minimize, expression)
    }

    /// Sets the objective to maximising `expression`.
    public mutating func maximize(_ expression: LinearExpression) {
        objective = Objective(.maximize, expression)
    }

    /// Checks that the program can be handed to a solver.
    ///
    /// - Throws: ``LinearProgrammingError/invalidModel(_:)`` with the first defect found:
    ///   a NaN or infinite bound, a variable whose bounds allow no value, a NaN or
    ///   infinite coefficient, constant or right-hand side, or a variable from another program.
    public func validate() throws(LinearProgrammingError) {
        for index in variables.indices {
            try validateBounds(ofVariable: index)
        }
        for (index, constraint) in constraints.enumerated() {
            let location = Self.describe("constraint", index, constraint.name)
            try validate(constraint.expression, at: location)
            try requireFinite(constraint.rightHandSide, "right-hand side of \(location)")
        }
        try validate(objective.expression, at: "the objective")
    }

    private func validateBounds(ofVariable index: Int) throws(LinearProgrammingError) {
        let variable = variables[index]
        let label = describeVariable(index)
        for bound in [variable.lowerBound, variable.upperBound] {
            if let bound, !bound.isFinite {
                throw .invalidModel(.nonFiniteBound(variable: label, value: bound))
            }
        }
        if case let (lower?, upper?) = variable.effectiveBounds, lower > upper {
            throw .invalidModel(.emptyDomain(variable: label, lowerBound: lower, upperBound: upper))
        }
    }

    private func validate(_ expression: LinearExpression, at location: String) throws(LinearProgrammingError) {
        for term in expression.terms {
            guard term.variable.programID == id, variables.indices.contains(term.variable.index) else {
                throw .invalidModel(.foreignVariable(location: location))
            }
            try requireFinite(term.coefficient, "coefficient of \(describeVariable(term.variable.index)) in \(location)")
        }
        try requireFinite(expression.constant, "constant of \(location)")
    }

    private func requireFinite(_ value: Double, _ location: String) throws(LinearProgrammingError) {
        if !value.isFinite {
            throw .invalidModel(.nonFiniteNumber(location: location, value: value))
        }
    }

    private func describeVariable(_ index: Int) -> String {
        Self.describe("variable", index, variables[index].name)
    }

    private static func describe(_ kind: String, _ index: Int, _ name: String?) -> String {
        name.map { "\(kind) \(index) (\"\($0)\")" } ?? "\(kind) \(index)"
    }
}
