/// How one tensor is laid out over a logical device mesh: for each dimension, the mesh axes that split
/// it (major first, as in JAX's `PartitionSpec`), and the axes over which each device holds only a partial
/// sum that still has to be reduced.
///
/// Partial sums come in groups, one per summed index of the op that left them: the axes that split the same
/// index are reduced by one collective, and each index by its own. That is what XLA's SPMD partitioner
/// compiles (Docs/cost-model.md, "Partial sums"): a weight gradient summed over a batch split by y and a
/// sequence split by x is all-reduced over x and then over y, each time the whole buffer, while a batch split
/// by (x, y) together is all-reduced once over both.
public struct ShardingSpec: Hashable, Sendable {
    /// For each tensor dimension, the mesh axes splitting it; empty means replicated along that dimension.
    public var dimensionAxes: [[Int]]
    /// The groups of mesh axes over which the tensor holds unreduced partial sums, each reduced by its own
    /// collective: every group sorted and non-empty, the groups ordered by their first axis.
    public private(set) var partialSums: [[Int]]
    /// Whether a contraction left the partial sums (XLA's dot: it reduce-scatters where the target splits, then
    /// all-reduces the rest on the smaller buffer) rather than a reduction (XLA's reduce, and the sum that
    /// transposes a broadcast: it all-reduces every group whole and slices the target out). True when there
    /// are no partial sums.
    public private(set) var partialSumsFromContraction: Bool

    public init(dimensionAxes: [[Int]], partialSums: [[Int]] = [], fromContraction: Bool = true) {
        self.dimensionAxes = dimensionAxes
        self.partialSums = Self.normalized(partialSums)
        partialSumsFromContraction = fromContraction || self.partialSums.isEmpty
    }

    /// Every mesh axis over which the tensor holds partial sums (sorted). Setting it makes them one group:
    /// a plan document lists the axes, not the summed indices they split.
    public var partialAxes: [Int] {
        get { partialSums.count == 1 ? partialSums[0] : partialSums.flatMap { $0 }.sorted() }
        set { partialSums = newValue.isEmpty ? [] : [newValue.sorted()] }
    }

    /// Whether `other` splits every dimension alike and holds partial sums over the same axes, however they
    /// are grouped and whatever left them (what a plan document states of a layout).
    public func hasSameAxes(as other: ShardingSpec) -> Bool {
        dimensionAxes == other.dimensionAxes && partialAxes == other.partialAxes
    }

    private static func normalized(_ groups: [[Int]]) -> [[Int]] {
        // The common shapes (no partial sums, or groups built in axis order) need no copy.
        if groups.allSatisfy({ !$0.isEmpty && zip($0, $0.dropFirst()).allSatisfy { $0 < $1 } })
            && zip(groups, groups.dropFirst()).allSatisfy({ $0[0] < $1[0] }) {
            return groups
        }
        return groups.filter { !$0.isEmpty }.map { $0.sorted() }.sorted { $0[0] < $1[0] }
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
