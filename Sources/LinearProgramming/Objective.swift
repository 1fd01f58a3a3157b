/// The objective of a ``MixedIntegerProgram``: a linear expression (its constant included) to
/// minimise or maximise.
public struct Objective: Sendable, Equatable {
    /// Minimise or maximise.
    public var sense: ObjectiveSense

    /// The function to optimise; its constant is added to every objective value.
    public var expression: LinearExpression

    /// An objective that optimises `expression` in the direction `sense`.
    public init(_ sense: ObjectiveSense, _ expression: LinearExpression) {
        self.sense = sense
        self.expression = expression
    }
}
