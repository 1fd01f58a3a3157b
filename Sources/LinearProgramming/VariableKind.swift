/// The domain of a decision variable, intersected with its bounds.
public enum VariableKind: Sendable, Hashable {
    /// Any real number.
    case continuous
    /// Any integer; fractional bounds are rounded inward (an upper bound of 2.5 allows 2).
    case integer
    /// 0 or 1: an integer variable whose bounds are further restricted to [0, 1].
    case binary
}
