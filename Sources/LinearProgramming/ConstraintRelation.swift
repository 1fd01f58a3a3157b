/// How the left-hand side of a ``LinearConstraint`` relates to its right-hand side.
public enum ConstraintRelation: Sendable, Hashable {
    /// `expression <= rightHandSide`.
    case lessThanOrEqual
    /// `expression == rightHandSide`.
    case equal
    /// `expression >= rightHandSide`.
    case greaterThanOrEqual
}
