/// One linear constraint of a ``MixedIntegerProgram``: `expression <= rightHandSide`,
/// `expression == rightHandSide` or `expression >= rightHandSide`.
///
/// A constant inside `expression` counts on the left-hand side: `x + 2 <= 5` allows `x <= 3`.
public struct LinearConstraint: Sendable, Equatable {
    /// A name used in error messages; the solver never sees it.
    public let name: String?

    /// The left-hand side.
    public let expression: LinearExpression

    /// `<=`, `==` or `>=`.
    public let relation: ConstraintRelation

    /// The right-hand side.
    public let rightHandSide: Double
}
