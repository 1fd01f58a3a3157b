/// The layers the stage search cuts between: the analysis layers of a graph (`GraphAnalysis.layers`, from
/// `layer` hints or repeated blocks), with layers of negligible work (an embedding lookup, a final norm) joined
/// to a neighbour, then optionally coarsened to at most a target count of groups of balanced FLOPs.
///
/// Alpa clusters ops into layers of balanced FLOPs before its stage DP (Zheng et al. OSDI'22, section 5.2);
/// starting from the analysis layers keeps repeated blocks whole, so equal groups get equal structure keys and
/// the stage costs of one serve all of them.
public struct LayerClustering: Sendable {
    /// In op order, covering every op of the graph once.
    public let layers: [ClusteredLayer]

    /// Clusters `analysis.layers`.
    ///
    /// - Parameters:
    ///   - analysis: the graph's analysis, whose `layers` (from hints or repeated blocks) are clustered.
    ///   - smallLayerFraction: an analysis layer whose training FLOPs are below this fraction of the median
    ///     layer's joins the layer before it (leading ones join the first layer after them). 0 keeps every layer.
    ///   - maximumLayerCount: when given and smaller than the number of layers left, consecutive layers are
    ///     merged into exactly this many groups, minimising the sum of squared group FLOPs (which balances them
    ///     and, for equal blocks, gives groups of equal size).
    public init(_ analysis: GraphAnalysis, smallLayerFraction: Double = 0.25, maximumLayerCount: Int? = nil) {
        precondition(maximumLayerCount.map { $0 >= 1 } ?? true, "at least one layer")
        let weights = analysis.layers.map { $0.forwardFLOPs + $0.backwardFLOPs }
        var groups = Self.joiningSmallLayers(weights: weights, fraction: smallLayerFraction)
        if let target = maximumLayerCount, target < groups.count {
            let groupWeights = groups.map { $0.reduce(0) { $0 + weights[$1] } }
            groups = Self.balancedPartition(weights: groupWeights, count: target).map { range in
                groups[range.lowerBound].lowerBound ..< groups[range.upperBound - 1].upperBound
            }
        }
        self.init(groups: groups, of: analysis)
    }

    /// The clustering whose layers are `groups`: consecutive ranges of `analysis.layers` covering all of them.
    public init(groups: [Range<Int>], of analysis: GraphAnalysis) {
        precondition(groups.first?.lowerBound == 0 && groups.last?.upperBound == analysis.layers.count
                     && zip(groups, groups.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound }
                     && groups.allSatisfy { !$0.isEmpty },
                     "groups must cover the analysis layers in order")
        var keys: [[Int]: Int] = [:], shapeKeys: [[Int]: Int] = [:]
        layers = groups.map { group in
            let members = analysis.layers[group]
            let signature = members.map(\.structureKey)
            let key = keys[signature] ?? keys.count
            keys[signature] = key
            let shapes = members.map(\.shapeKey)
            let shapeKey = shapeKeys[shapes] ?? shapeKeys.count
            shapeKeys[shapes] = shapeKey
            let first = members.first!, last = members.last!
            return ClusteredLayer(
                name: group.count == 1 ? first.name : "\(first.name) ... \(last.name)",
                analysisLayers: group,
                operations: first.operations.lowerBound ..< last.operations.upperBound,
                forwardFLOPs: members.reduce(0) { $0 + $1.forwardFLOPs },
                backwardFLOPs: members.reduce(0) { $0 + $1.backwardFLOPs },
                structureKey: key, shapeKey: shapeKey)
        }
    }

    /// The ops of clustered layers `range` (indices into `Graph.operations`).
    public func operations(of range: Range<Int>) -> Range<Int> {
        precondition(!range.isEmpty && range.upperBound <= layers.count, "layers \(range) are not in 0 ..< \(layers.count)")
        return layers[range.lowerBound].operations.lowerBound ..< layers[range.upperBound - 1].operations.upperBound
    }

    /// The structure keys of clustered layers `range`: ranges with equal signatures are the same ops.
    public func structureSignature(of range: Range<Int>) -> [Int] {
        layers[range].map(\.structureKey)
    }

    /// One structure key per clustered layer, as `CachedStageCostOracle` takes them.
    public var structureKeys: [Int] { layers.map(\.structureKey) }

    /// Whether every layer but the first and the last has one shape (`ClusteredLayer.shapeKey`), as interleaving needs
    /// (Megatron-LM deals the blocks between the embedding and the head out to the chunks). Blocks of one shape trained
    /// differently count as one: a LoRA fine-tune's first block, whose input carries no gradient, is priced by the
    /// other blocks' rank classes, a block's backward pass through its frozen input (a norm's) too many.
    public var supportsInterleaving: Bool {
        let keys = layers.map(\.shapeKey)
        return keys.count >= 3 && Set(keys[1 ..< keys.count - 1]).count == 1
    }

    /// Groups of consecutive indices of `weights`, each small weight joined to the group before it.
    static func joiningSmallLayers(weights: [Double], fraction: Double) -> [Range<Int>] {
        let sorted = weights.sorted()
        let median = sorted.isEmpty ? 0 : sorted[(sorted.count - 1) / 2]
        let threshold = fraction * median
        var groups: [Range<Int>] = []
        var leading: Int?
        for (index, weight) in weights.enumerated() {
            if weight < threshold, let last = groups.last {
                groups[groups.count - 1] = last.lowerBound ..< index + 1
            } else if weight < threshold {
                leading = leading ?? index
            } else {
                groups.append((leading ?? index) ..< index + 1)
                leading = nil
            }
        }
        // Only small layers: they stay one group.
        if let leading, groups.isEmpty { groups.append(leading ..< weights.count) }
        return groups
    }

    /// `count` consecutive groups of `weights` minimising the sum of squared group weights (a DP over prefix
    /// sums, O(count * n^2)); among equal sums the earliest cut wins, so the result is deterministic.
    static func balancedPartition(weights: [Double], count: Int) -> [Range<Int>] {
        let n = weights.count
        precondition(1 ... n ~= count, "cannot cut \(n) layers into \(count) groups")
        let total = max(weights.reduce(0, +), .leastNormalMagnitude)
        var prefix = [0.0]
        for weight in weights { prefix.append(prefix.last! + weight / total) }
        // best[g][j]: the least cost of cutting the first j weights into g groups; cut[g][j] the last cut.
        var best = Array(repeating: Array(repeating: Double.infinity, count: n + 1), count: count + 1)
        var cut = Array(repeating: Array(repeating: 0, count: n + 1), count: count + 1)
        best[0][0] = 0
        for groups in 1 ... count {
            for end in groups ... n - (count - groups) {
                for start in groups - 1 ..< end where best[groups - 1][start] < .infinity {
                    let share = prefix[end] - prefix[start]
                    let cost = best[groups - 1][start] + share * share
                    if cost < best[groups][end] {
                        best[groups][end] = cost
                        cut[groups][end] = start
                    }
                }
            }
        }
        var ranges: [Range<Int>] = []
        var end = n
        for groups in stride(from: count, through: 1, by: -1) {
            let start = cut[groups][end]
            ranges.append(start ..< end)
            end = start
        }
        return ranges.reversed()
    }
}
