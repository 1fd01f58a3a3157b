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
    /// How the op runs in FP8, when it does (a linear layer under `--precision fp8` or `auto`).
    public var fp8: FP8Use?

    /// What an FP8 linear layer changes in memory: the input it keeps for the backward pass, and the FP8
    /// copies of its weight it holds for the iteration.
    public struct FP8Use: Sendable, Equatable {
        /// The operand position of the activation input.
        public var inputOperand: Int
        /// Bytes per element of the kept input; nil where the recipe keeps the 16-bit input.
        public var savedInputBytesPerElement: Double?
        /// Bytes of FP8 weight copies on this device.
        public var weightCopyBytes: Double
    }

    /// Whether `collectives`, the layout change into operand `operand`, move FP8 bytes: TransformerEngine casts
    /// an FP8 linear layer's input before the sequence-parallel all-gather (`gather_along_first_dim` of the FP8
    /// tensor), so a change made only of all-gathers into the layer's input moves one byte an element.
    public func gathersInFP8(_ collectives: [Collective], operand: Int) -> Bool {
        guard let fp8, fp8.inputOperand == operand, !collectives.isEmpty else { return false }
        return collectives.allSatisfy { $0.kind == .allGather }
    }

    public init(category: Category, forwardSeconds: Double, backwardSeconds: Double, forwardCollectives: [Collective],
                backwardCollectives: [Collective], forwardFLOPs: Double, fp8: FP8Use? = nil) {
        self.category = category
        self.forwardSeconds = forwardSeconds
        self.backwardSeconds = backwardSeconds
        self.forwardCollectives = forwardCollectives
        self.backwardCollectives = backwardCollectives
        self.forwardFLOPs = forwardFLOPs
        self.fp8 = fp8
    }

    public static let free = OperatorCost(category: .memoryBound, forwardSeconds: 0, backwardSeconds: 0,
                                          forwardCollectives: [], backwardCollectives: [], forwardFLOPs: 0)
}
