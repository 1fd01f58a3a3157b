/// An op seen as an iteration space of named indices, as an einsum is: `bd,df->bf` has indices b, d, f.
///
/// Every op of the catalog maps onto this description, which is what the cost model and the sharding
/// search use: a mesh axis assigned to an index splits every operand and result dimension that carries
/// that index. Each index's `role` says what splitting it implies (nothing; partial sums; an all-reduce of
/// per-row statistics; or that it cannot be split at all).
public struct IndexSpace: Sendable, Hashable {
    /// What splitting an index across devices implies.
    public enum Role: Sendable, Hashable {
        /// The index appears in the result and each result element depends on one position of it:
        /// splitting it needs no communication.
        case free
        /// The index is summed away (a contraction, a sum or mean): splitting it leaves partial sums.
        case summed
        /// The index is reduced by a maximum or minimum: splitting it leaves partial extrema.
        case extremum
        /// The op couples all positions along the index (softmax, a norm's axis, cross-entropy's classes):
        /// splitting it costs an all-reduce of `statistics` values per row.
        case coupled(statistics: Int)
        /// The index cannot be split (a convolution window, a dimension a reshape interleaves).
        case unsplittable
    }

    /// One index: a display name (an einsum letter or a descriptive name), its extent and its role.
    public struct Index: Sendable, Hashable {
        public var name: String
        public var size: Int
        public var role: Role

        public init(_ name: String, size: Int, role: Role) {
            self.name = name
            self.size = size
            self.role = role
        }
    }

    public var indices: [Index]
    /// For each operand, for each of its dimensions, the index that dimension carries; nil for a dimension
    /// that never splits under this op (a broadcast size-1 dimension, a sliced axis, a convolution's input
    /// rows and columns).
    public var operandIndices: [[Int?]]
    /// For each result dimension, the index it carries; nil for one that never splits.
    public var resultIndices: [Int?]

    public init(indices: [Index], operandIndices: [[Int?]], resultIndices: [Int?]) {
        self.indices = indices
        self.operandIndices = operandIndices
        self.resultIndices = resultIndices
    }

    /// The product of all index extents: the number of points of the iteration space.
    public var pointCount: Double { indices.reduce(1.0) { $0 * Double($1.size) } }

    /// The indices that operand `operand` does not carry in any dimension.
    public func indicesMissing(fromOperand operand: Int) -> [Int] {
        let carried = Set(operandIndices[operand].compactMap { $0 })
        return indices.indices.filter { !carried.contains($0) }
    }

    /// Whether some dimension of the result carries index `index`.
    public func resultCarries(_ index: Int) -> Bool { resultIndices.contains(index) }
}
