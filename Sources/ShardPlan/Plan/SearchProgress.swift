/// How far a search has come, for a progress line: what it is doing now, and how many of its steps are done
/// out of how many it may take (a search that stops early takes fewer).
public struct SearchProgress: Sendable, Equatable, CustomStringConvertible {
    /// What the search does now: "searching with 64 microbatches".
    public var phase: String
    /// Steps finished before this one.
    public var completedSteps: Int
    /// The most steps the search takes.
    public var totalSteps: Int

    public init(phase: String, completedSteps: Int, totalSteps: Int) {
        self.phase = phase
        self.completedSteps = completedSteps
        self.totalSteps = totalSteps
    }

    public var description: String { phase }
}
