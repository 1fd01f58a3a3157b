/// One collective operation that a layout change, an op or a schedule needs.
public struct Collective: Hashable, Sendable {
    public var kind: CollectiveKind
    /// The mesh axes whose devices take part (the group is their product).
    public var axes: [Int]
    /// Bytes of each device's buffer on the large side: the buffer an all-reduce reduces, the gathered
    /// result of an all-gather, the input of a reduce-scatter, each device's buffer in an all-to-all, the
    /// message of a send.
    public var bytes: Double

    public init(_ kind: CollectiveKind, axes: [Int], bytes: Double) {
        self.kind = kind
        self.axes = axes
        self.bytes = bytes
    }
}
