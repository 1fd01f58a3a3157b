/// How one tensor is laid out over a logical device mesh: for each dimension, the mesh axes that split
/// it (major first, as in JAX's `PartitionSpec`), and the axes over which each device holds only a partial
/// sum that still has to be reduced.
public struct ShardingSpec: Hashable, Sendable {
    /// For each tensor dimension, the mesh axes splitting it; empty means replicated along that dimension.
    public var dimensionAxes: [[Int]]
    /// Mesh axes over which the tensor holds unreduced partial sums (sorted).
    public var partialAxes: [Int]

    public init(dimensionAxes: [[Int]], partialAxes: [Int] = []) {
        self.dimensionAxes = dimensionAxes
        self.partialAxes = partialAxes.sorted()
    }

    /// A fully replicated tensor of the given rank.
    public static func replicated(rank: Int) -> ShardingSpec {
        ShardingSpec(dimensionAxes: Array(repeating: [], count: rank))
    }

    /// Every mesh axis that splits some dimension.
    public var splittingAxes: [Int] { dimensionAxes.flatMap { $0 } }

    /// The dimension split by `axis`, if any.
    public func dimension(splitBy axis: Int) -> Int? {
        dimensionAxes.firstIndex { $0.contains(axis) }
    }

    /// How many pieces dimension `dimension` is cut into on a mesh of this shape.
    public func splitFactor(ofDimension dimension: Int, meshShape: [Int]) -> Int {
        dimensionAxes[dimension].reduce(1) { $0 * meshShape[$1] }
    }

    /// How many pieces the whole tensor is cut into (each device holds one).
    public func totalSplitFactor(meshShape: [Int]) -> Int {
        splittingAxes.reduce(1) { $0 * meshShape[$1] }
    }

    /// The same layout without partial sums (what a reduction over the partial axes leaves).
    public var reduced: ShardingSpec { ShardingSpec(dimensionAxes: dimensionAxes) }

    /// This layout with partial sums over `axes` added.
    public func addingPartialSums(over axes: [Int]) -> ShardingSpec {
        ShardingSpec(dimensionAxes: dimensionAxes, partialAxes: Array(Set(partialAxes + axes)))
    }

    /// Whether every dimension's split divides its size evenly on a mesh of this shape.
    public func divides(_ shape: [Int], meshShape: [Int]) -> Bool {
        zip(shape.indices, shape).allSatisfy { dimension, size in
            size % splitFactor(ofDimension: dimension, meshShape: meshShape) == 0
        }
    }

    /// The layout as a plan-JSON value: one entry per dimension, `null` or the list of axis names
    /// (JAX's `PartitionSpec`). Partial sums are not written: a consumer always receives them reduced.
    public func json(axisNames: [String]) -> JSONValue {
        .array(dimensionAxes.map { axes in axes.isEmpty ? .null : .strings(axes.map { axisNames[$0] }) })
    }
}
