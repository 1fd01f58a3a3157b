/// The intra-operator search of one stage, written as a `ShardingProblem`: one node per op class, one
/// edge per tensor passed between ops, with the costs and memory of `StageCostModel`'s terms.
///
/// Shrinking before solving (the problems then solve in milliseconds): ops at the same position of
/// structurally identical layers (`Layer.structureKey`) form one class and must choose the same strategy,
/// so a transformer block is solved once for all its repetitions; a class with a single valid strategy is a
/// constant.
public struct StageShardingProblem: Sendable {
    public let operations: Range<Int>
    public let mesh: DeviceMesh
    /// For each class, its valid strategies (the node's choices).
    public let candidates: [[OpStrategy]]
    /// For each op of `operations`, its class.
    public let classOf: [Int]
    public let problem: ShardingProblem
    /// Variables and constraints an unshrunk problem (one node per op) would have.
    public let unshrunkSize: (variables: Int, constraints: Int)

    /// Builds the problem of `operations` on `mesh` priced by `model`, with activations alive for
    /// `inFlight` microbatches and the given memory budget per device (bytes; nil for none).
    public init(operations: Range<Int>, mesh: DeviceMesh, model: StageCostModel, inFlight: Double,
                memoryBudget: Double?, layers: [Layer]) {
        self.operations = operations
        self.mesh = mesh
        let terms = StageCostTerms(model: model, operations: operations, mesh: mesh, inFlight: inFlight)
        // Classes: ops at the same offset of layers with the same structure key.
        var classOf = Array(repeating: -1, count: operations.count)
        var representative: [Int] = []
        var classKey: [[Int]: Int] = [:]
        let inStage = layers.filter { operations.contains($0.operations.lowerBound) && operations.contains($0.operations.upperBound - 1) }
        let repeatedKeys = Set(Dictionary(grouping: inStage, by: \.structureKey).filter { $0.value.count > 1 }.keys)
        var layerOf: [Int: Layer] = [:]
        for layer in inStage where repeatedKeys.contains(layer.structureKey) {
            for op in layer.operations { layerOf[op] = layer }
        }
        for op in operations {
            let key: [Int] = layerOf[op].map { [0, $0.structureKey, op - $0.operations.lowerBound] } ?? [1, op]
            if let existing = classKey[key] {
                classOf[op - operations.lowerBound] = existing
            } else {
                classKey[key] = representative.count
                classOf[op - operations.lowerBound] = representative.count
                representative.append(op)
            }
        }
        self.classOf = classOf
        let candidates = representative.map { terms.candidates(of: $0) }
        self.candidates = candidates
        var members = Array(repeating: 0, count: representative.count)
        for op in operations { members[classOf[op - operations.lowerBound]] += 1 }
        var nodes: [ShardingProblem.Node] = []
        for (index, op) in representative.enumerated() {
            let weight = Double(members[index])
            let priced = candidates[index].map { terms.nodeTerms(op, $0) }
            nodes.append(ShardingProblem.Node(costs: priced.map { $0.seconds * weight }, memory: priced.map { $0.memory * weight }))
        }
        // Edges: one matrix per (class, class, kind of link), computed once and weighted by its count.
        var edgeCounts: [StageCostTerms.Link: Int] = [:]
        var edgeOrder: [StageCostTerms.Link] = []
        var firstLink: [StageCostTerms.Link: StageCostTerms.Link] = [:]
        for link in terms.links() {
            let key = StageCostTerms.Link(from: classOf[link.from - operations.lowerBound], operand: link.operand,
                                          to: classOf[link.to - operations.lowerBound], toOperand: link.toOperand, kind: link.kind)
            if edgeCounts[key] == nil { edgeOrder.append(key); edgeCounts[key] = 0 }
            edgeCounts[key]! += 1
            if edgeCounts[key] == 1 { firstLink[key] = link }
        }
        var edges: [ShardingProblem.Edge] = []
        for key in edgeOrder {
            let link = firstLink[key]!
            let weight = Double(edgeCounts[key]!)
            let matrix = candidates[key.from].map { producer in
                candidates[key.to].map { consumer in terms.linkSeconds(link, producer, consumer) * weight }
            }
            edges.append(ShardingProblem.Edge(from: key.from, to: key.to, costs: matrix))
        }
        problem = ShardingProblem(nodes: nodes, edges: edges, memoryBudget: memoryBudget)
        // An unshrunk problem: one node per op with its strategies, one pair variable per strategy pair of
        // every link, one row per node, per matrix row and column, and the budget.
        var unshrunkVariables = 0, unshrunkConstraints = memoryBudget == nil ? 0 : 1
        for op in operations { unshrunkVariables += candidates[classOf[op - operations.lowerBound]].count; unshrunkConstraints += 1 }
        for link in terms.links() {
            let rows = candidates[classOf[link.from - operations.lowerBound]].count
            let columns = candidates[classOf[link.to - operations.lowerBound]].count
            unshrunkVariables += rows * columns
            unshrunkConstraints += rows + columns
        }
        unshrunkSize = (unshrunkVariables, unshrunkConstraints)
    }

    /// The stage layout a solution describes.
    public func layout(for choice: [Int]) -> StageLayout {
        StageLayout(operations: operations, mesh: mesh,
                    strategies: classOf.map { candidates[$0][choice[$0]] })
    }
}
