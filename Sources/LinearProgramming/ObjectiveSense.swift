/// Whether a ``MixedIntegerProgram`` seeks the least or the greatest value of its objective.
public enum ObjectiveSense: Sendable, Hashable {
    /// Seek the least value.
    case minimize
    /// Seek the greatest value.
    case maximize
}
