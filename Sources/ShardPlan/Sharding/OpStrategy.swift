/// One way to run an op on a logical mesh: each mesh axis either splits one index of the op's iteration
/// space or replicates the work. Several axes may split the same index (pure data parallelism over a whole
/// 2-D mesh maps both axes to the batch index).
///
/// Everything else follows from this map and the op's `IndexSpace`: the layout each operand must have,
/// the layout of the result (partial sums over axes that split a summed index), and the layout and
/// partial sums of each operand's gradient (partial over every axis whose index the operand lacks), grouped
/// by the index each axis splits.
public struct OpStrategy: Hashable, Sendable {
    /// For each mesh axis, the index it splits, or nil when the work is replicated along that axis.
    public var indexOfAxis: [Int?]
    /// The ZeRO stage of the parameters this op stores (those it reads first): 1 shards their optimizer state,
    /// 2 also their gradients, 3 also their weights over the axes along which their gradients are reduced.
    /// The plan-wide `TrainingOptions.zeroStage` is a floor.
    public var zeroStage: Int

    public init(indexOfAxis: [Int?], zeroStage: Int = 0) {
        self.indexOfAxis = indexOfAxis
        self.zeroStage = zeroStage
    }

    /// The strategy that replicates the op on every device of a mesh with `axisCount` axes.
    public static func replicated(axisCount: Int) -> OpStrategy {
        OpStrategy(indexOfAxis: Array(repeating: nil, count: axisCount))
    }

    /// The mesh axes splitting index `index`, in axis order.
    public func axes(splitting index: Int) -> [Int] {
        indexOfAxis.indices.filter { indexOfAxis[$0] == index }
    }

    /// How many pieces index `index` is cut into.
    public func splitFactor(of index: Int, meshShape: [Int]) -> Int {
        axes(splitting: index).reduce(1) { $0 * meshShape[$1] }
    }

    /// The layout operand `operand` must have.
    public func operandSpec(_ operand: Int, in space: IndexSpace) -> ShardingSpec {
        ShardingSpec(dimensionAxes: space.operandIndices[operand].map { index in index.map(axes(splitting:)) ?? [] })
    }

    /// The layout of the result, with partial sums over the axes that split a summed or extremum index, one
    /// group per index.
    public func resultSpec(in space: IndexSpace) -> ShardingSpec {
        ShardingSpec(dimensionAxes: space.resultIndices.map { index in index.map(axes(splitting:)) ?? [] },
                     partialSums: partialSumGroups { index in
                         switch space.indices[index].role {
                         case .summed, .extremum: return !space.resultCarries(index)
                         default: return false
                         }
                     },
                     fromContraction: Self.contracts(space))
    }

    /// The layout of the gradient of operand `operand` as the backward pass produces it: the operand's
    /// layout, partial over every axis whose index the operand does not carry, one group per index.
    public func gradientSpec(_ operand: Int, in space: IndexSpace) -> ShardingSpec {
        let carried = space.operandIndices[operand]
        return ShardingSpec(dimensionAxes: carried.map { index in index.map(axes(splitting:)) ?? [] },
                            partialSums: partialSumGroups { !carried.contains($0) }, fromContraction: Self.contracts(space))
    }

    /// Whether the op sums an index that two operands carry: a contraction, which XLA partitions as a dot (its
    /// operands' gradients are contractions too). Other sums are reductions.
    private static func contracts(_ space: IndexSpace) -> Bool {
        space.indices.indices.contains { index in
            space.indices[index].role == .summed && space.operandIndices.filter { $0.contains(index) }.count >= 2
        }
    }

    /// The axes splitting each index that `isSummed` accepts, one group per index in the order of their first
    /// axis.
    private func partialSumGroups(where isSummed: (Int) -> Bool) -> [[Int]] {
        var groups: [[Int]] = []
        var groupIndices: [Int] = []
        for (axis, index) in indexOfAxis.enumerated() {
            guard let index, isSummed(index) else { continue }
            if let group = groupIndices.firstIndex(of: index) {
                groups[group].append(axis)
            } else {
                groupIndices.append(index)
                groups.append([axis])
            }
        }
        return groups
    }

    /// Whether the strategy can run: no axis splits an unsplittable index, and every split divides every
    /// operand and result dimension that carries the index (and the index itself).
    public func isValid(for operation: Operation, operandShapes: [[Int]], resultShape: [Int], meshShape: [Int]) -> Bool {
        let space = operation.indexSpace
        for (axis, index) in indexOfAxis.enumerated() {
            guard let index else { continue }
            if space.indices[index].role == .unsplittable { return false }
            if meshShape[axis] > 1 && space.indices[index].size % splitFactor(of: index, meshShape: meshShape) != 0 {
                return false
            }
        }
        for (operand, shape) in operandShapes.enumerated()
        where !operandSpec(operand, in: space).divides(shape, meshShape: meshShape) {
            return false
        }
        return resultSpec(in: space).divides(resultShape, meshShape: meshShape)
    }
}
