/// A run of consecutive ops that the analysis treats as one unit of the model: a layer named by the
/// graph's `layer` hints, one block of a repeated structure, or the ops before, between or after them.
/// FLOPs are for one training iteration of the whole global batch.
public struct Layer: Sendable, Equatable {
    /// How the layer was found.
    public enum Origin: String, Sendable, Equatable {
        /// Consecutive ops with the same `layer` hint.
        case hint
        /// One block of the longest run of structurally identical blocks (graphs without hints).
        case repeatedBlock = "repeated_block"
        /// Ops outside the hinted layers or the repeated blocks: the model's prologue, epilogue or gaps.
        case remainder
    }

    /// The hint, `layer<k>` for the k-th repeated block, or `prologue`, `epilogue`, `after <layer>` and
    /// `graph` for remainders.
    public var name: String
    public var origin: Origin
    /// Indices into `Graph.operations`.
    public var operations: Range<Int>
    /// Elements of the parameters the layer's ops read (a parameter shared by two layers, such as tied
    /// embeddings, counts in both).
    public var parameterCount: Int
    public var parameterBytes: Int
    public var forwardFLOPs: Double
    public var backwardFLOPs: Double
    /// Bytes the layer's ops keep for the backward pass (each tensor once, however many ops read it).
    public var savedForBackwardBytes: Int
    /// Layers with equal keys are structurally identical: the same ops with the same attributes and types,
    /// wired the same way, reading parameters of the same shapes, and trained alike (the same weights frozen, the
    /// same results carrying a gradient). A planner can solve one of them and reuse the answer. Keys are numbered
    /// from 0 in order of first appearance.
    public var structureKey: Int
    /// Layers with equal shape keys have the same ops, attributes, types and wiring, whatever training does with
    /// them: the blocks Megatron counts as its layers and interleaving deals out (a frozen block and a trained one
    /// of one shape share it). Numbered as `structureKey`; equal to it where nothing is frozen.
    public var shapeKey: Int

    public init(name: String, origin: Origin, operations: Range<Int>, parameterCount: Int, parameterBytes: Int,
                forwardFLOPs: Double, backwardFLOPs: Double, savedForBackwardBytes: Int, structureKey: Int, shapeKey: Int? = nil) {
        self.name = name
        self.origin = origin
        self.operations = operations
        self.parameterCount = parameterCount
        self.parameterBytes = parameterBytes
        self.forwardFLOPs = forwardFLOPs
        self.backwardFLOPs = backwardFLOPs
        self.savedForBackwardBytes = savedForBackwardBytes
        self.structureKey = structureKey
        self.shapeKey = shapeKey ?? structureKey
    }
}
