/// A mistake in a ``MixedIntegerProgram`` that keeps it from being solved, found before the
/// program reaches a solver.
///
/// Each case names the offending place the way a person would look for it, for example
/// `variable 3 ("x")` or `constraint 0 ("capacity")`.
public enum ModelDefect: Sendable, Equatable, CustomStringConvertible {
    /// A bound is NaN or infinite (`nil`, not infinity, means "no bound").
    case nonFiniteBound(variable: String, value: Double)
    /// No value satisfies the variable's bounds. The bounds reported are those the solver would
    /// enforce: integer and binary bounds rounded inward, binary bounds restricted to [0, 1].
    case emptyDomain(variable: String, lowerBound: Double, upperBound: Double)
    /// A coefficient, constant or right-hand side is NaN or infinite.
    case nonFiniteNumber(location: String, value: Double)
    /// A constraint or the objective uses a variable handle this program did not create.
    case foreignVariable(location: String)

    public var description: String {
        switch self {
        case let .nonFiniteBound(variable, value):
            "\(variable) has the bound \(value); a bound must be a finite number, or nil for no bound"
        case let .emptyDomain(variable, lowerBound, upperBound):
            "\(variable) cannot take any value: its lower bound \(lowerBound) is above its upper bound \(upperBound)"
        case let .nonFiniteNumber(location, value):
            "the \(location) is \(value); coefficients, constants and right-hand sides must be finite"
        case let .foreignVariable(location):
            "\(location) uses a variable that this program did not create (a handle from another program)"
        }
    }
}
