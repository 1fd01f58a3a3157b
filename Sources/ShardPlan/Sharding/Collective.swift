/// One collective operation that a layout change, an op or a schedule needs.
public struct Collective: Hashable, Sendable {
    public var kind: CollectiveKind
    /// The mesh axes whose devices take part (the group is their product).
    public var axes: [Int]
    /// Bytes of each device's buffer on the large side: the buffer an all-reduce reduces, the gathered
    /// result of an all-gather, the input of a reduce-scatter, each device's buffer in an all-to-all, the
    /// message of a send.
    public var bytes: Double
    /// For an all-to-all that carries a mixture of experts' tokens under a dispatcher that sends each token once per
    /// destination rank and node (`TokenDispatch.deduplicates`), their routing; nil for every other collective.
    public var dispatch: TokenDispatch?

    public init(_ kind: CollectiveKind, axes: [Int], bytes: Double, dispatch: TokenDispatch? = nil) {
        self.kind = kind
        self.axes = axes
        self.bytes = bytes
        self.dispatch = dispatch
    }
}
