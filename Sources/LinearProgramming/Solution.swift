/// A feasible assignment of a ``MixedIntegerProgram``'s variables, with what is known about its
/// quality.
public struct Solution: Sendable {
    /// Optimal, or feasible and why the solve stopped early.
    public let status: SolveStatus

    /// The objective (constant included) at ``values``.
    public let objectiveValue: Double

    /// The value of every variable, indexed by ``Variable/index``. Integer and binary variables
    /// hold exact integers.
    public let values: [Double]

    /// The best proven bound on the optimal objective: a lower bound when minimising, an upper
    /// bound when maximising. Equal to ``objectiveValue`` when optimal; `nil` when the solve
    /// stopped before establishing one.
    public let bestBound: Double?

    /// Wall-clock seconds the solve took, validation and model building included.
    public let solveSeconds: Double

    private let programID: UInt64

    /// A solution of `program` that assigns `values[i]` to variable `i`.
    public init(
        of program: MixedIntegerProgram,
        status: SolveStatus,
        values: [Double],
        bestBound: Double?,
        solveSeconds: Double
    ) {
        precondition(values.count == program.variables.count, "one value per variable is required")
        self.status = status
        self.values = values
        self.objectiveValue = program.objective.expression.value(at: values)
        self.bestBound = status == .optimal ? objectiveValue : bestBound
        self.solveSeconds = solveSeconds
        self.programID = program.id
    }

    /// The value of `variable`, which must belong to the solved program.
    public func value(of variable: Variable) -> Double {
        precondition(variable.programID == programID, "the variable belongs to another program")
        return values[variable.index]
    }

    /// The value of `expression`, whose variables must belong to the solved program.
    public func value(of expression: LinearExpression) -> Double {
        expression.terms.reduce(expression.constant) { $0 + $1.coefficient * value(of: $1.variable) }
    }
}
