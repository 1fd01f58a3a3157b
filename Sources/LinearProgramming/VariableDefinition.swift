/// The declaration of one decision variable of a ``MixedIntegerProgram``: its name, kind and
/// bounds.
public struct VariableDefinition: Sendable, Hashable {
    /// A name used in error messages; the solver never sees it.
    public let name: String?

    /// Continuous, integer or binary.
    public let kind: VariableKind

    /// The least allowed value, or `nil` for no lower bound.
    public let lowerBound: Double?

    /// The greatest allowed value, or `nil` for no upper bound.
    public let upperBound: Double?

    /// The bounds the solver enforces: the declared ones, rounded inward to integers for integer
    /// and binary variables, and intersected with [0, 1] for binary ones. Meaningful once the
    /// declared bounds are known to be finite.
    var effectiveBounds: (lower: Double?, upper: Double?) {
        switch kind {
        case .continuous:
            (lowerBound, upperBound)
        case .integer:
            (lowerBound?.rounded(.up), upperBound?.rounded(.down))
        case .binary:
            (Swift.max(lowerBound?.rounded(.up) ?? 0, 0), Swift.min(upperBound?.rounded(.down) ?? 1, 1))
        }
    }
}
