/// The cost of one op under one strategy for one microbatch on one device: compute time of its forward and
/// backward kernels, and the collectives the op itself needs (all-reduces of row statistics when a coupled
/// index is split). Layout changes between ops are priced separately (`Resharding`).
public struct OperatorCost: Sendable, Equatable {
    /// What kind of kernel dominates the op, for the time breakdown.
    public enum Category: String, Sendable, CaseIterable {
        case matmul, attention, memoryBound = "memory_bound"
    }

    public var category: Category
    public var forwardSeconds: Double
    public var backwardSeconds: Double
    public var forwardCollectives: [Collective]
    public var backwardCollectives: [Collective]
    /// FLOPs of the forward pass on this device (for utilisation figures).
    public var forwardFLOPs: Double

    public static let free = OperatorCost(category: .memoryBound, forwardSeconds: 0, backwardSeconds: 0,
                                          forwardCollectives: [], backwardCollectives: [], forwardFLOPs: 0)
}
