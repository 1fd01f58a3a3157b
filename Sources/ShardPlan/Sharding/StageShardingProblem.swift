/// The intra-operator search of one stage, written as a `ShardingProblem` with the costs and memory of
/// `StageCostModel`'s terms (`StageCostTerms`).
///
/// Shrinking before solving, so that problems solve in milliseconds:
/// - ops at the same position of structurally identical layers (`Layer.structureKey`) form one class and
///   choose the same strategy, so a transformer block is solved once for all its repetitions;
/// - a pointwise op whose operand comes from an op of another class with the same result shape follows that
///   producer (it takes the strategy that keeps the producer's layout), as Alpa merges elementwise chains;
/// - a class with a single valid strategy needs no decision (the solver sees a one-strategy node).
/// Each node of the problem is one class plus the classes that follow it; `mapping` translates a node's
/// strategy to each member class's strategy.
public struct StageShardingProblem: Sendable {
    public let operations: Range<Int>
    public let mesh: DeviceMesh
    /// For each class, its valid strategies.
    public let candidates: [[OpStrategy]]
    /// For each op of `operations`, its class.
    public let classOf: [Int]
    /// For each class, its node in `problem` and the class strategy each node strategy stands for.
    public let nodeOf: [Int]
    public let mapping: [[Int]]
    public let problem: ShardingProblem
    /// Variables and constraints an unshrunk problem (one node per op) would have.
    public let unshrunkSize: (variables: Int, constraints: Int)

    /// Builds the problem of `operations` on `mesh` priced by `model`, with activations alive for
    /// `inFlight` microbatches and the given memory budget per device (bytes; nil for none). `prices`, when
    /// given, remembers layout changes on `mesh` across problems. An op in `pinned` (by index) keeps the
    /// strategy given there, as its class's only candidate: the rewrite search re-shards only the ops a
    /// rewrite added around a layout it keeps.
    public init(operations: Range<Int>, mesh: DeviceMesh, model: StageCostModel, inFlight: Double,
                memoryBudget: Double?, layers: [Layer], prices: ReshardingPrices? = nil, pinned: [Int: OpStrategy] = [:]) {
        self.init(operations: operations, mesh: mesh, model: model, inFlight: inFlight, memoryBudget: memoryBudget, layers: layers,
                  prices: prices, pinned: pinned, checkpoint: {})
    }

    /// The same problem, with `checkpoint` called before each class's costs and each edge's matrix are priced
    /// (the build's long steps): what it throws abandons the build (a search past its time limit).
    init<Abandon: Error>(operations: Range<Int>, mesh: DeviceMesh, model: StageCostModel, inFlight: Double,
                         memoryBudget: Double?, layers: [Layer], prices: ReshardingPrices? = nil, pinned: [Int: OpStrategy] = [:],
                         checkpoint: () throws(Abandon) -> Void) throws(Abandon) {
        let graph = model.graph
        self.operations = operations
        self.mesh = mesh
        let terms = StageCostTerms(model: model, operations: operations, mesh: mesh, inFlight: inFlight, prices: prices)
        let (classOf, representative) = Self.classes(operations: operations, layers: layers)
        self.classOf = classOf
        func classOfOp(_ op: Int) -> Int { classOf[op - operations.lowerBound] }
        let candidates = representative.map { op in pinned[op].map { [$0] } ?? terms.candidates(of: op) }
        self.candidates = candidates

        // Followers: a pointwise class takes the strategy that keeps its producer class's layout.
        var nodeOf = Array(representative.indices)
        var mapping = candidates.map { Array($0.indices) }
        for (cls, op) in representative.enumerated() {
            let operation = graph.operations[op]
            guard operation.op.isPointwise, let input = operation.inputs.first, !graph[input].isParameter,
                  let producer = graph[input].operationIndex, operations.contains(producer) else { continue }
            let root = nodeOf[classOfOp(producer)]
            guard root != cls, graph[graph.operations[producer].result].type.shape == graph[operation.result].type.shape
            else { continue }
            let producerOperation = graph.operations[producer]
            let producerClass = classOfOp(producer)
            var followed: [Int] = []
            for nodeStrategy in mapping[producerClass].indices {
                let layout = candidates[producerClass][mapping[producerClass][nodeStrategy]].resultSpec(in: producerOperation.indexSpace).reduced
                guard let match = candidates[cls].firstIndex(where: {
                    $0.operandSpec(0, in: operation.indexSpace) == layout && $0.resultSpec(in: operation.indexSpace) == layout
                }) else { break }
                followed.append(match)
            }
            guard followed.count == mapping[producerClass].count else { continue }
            nodeOf[cls] = nodeOf[producerClass]
            mapping[cls] = followed
        }
        // Renumber the nodes densely in order of first appearance.
        let (renumbered, roots) = nodeOf.numberedByFirstAppearance()
        nodeOf = renumbered
        self.nodeOf = nodeOf
        self.mapping = mapping
        var strategyCount = Array(repeating: 0, count: roots.count)
        for cls in representative.indices { strategyCount[nodeOf[cls]] = mapping[cls].count }

        var members = Array(repeating: 0, count: representative.count)
        for op in operations { members[classOfOp(op)] += 1 }
        var nodes = strategyCount.map { ShardingProblem.Node(costs: Array(repeating: 0, count: $0)) }
        for (cls, op) in representative.enumerated() {
            try checkpoint()
            let weight = Double(members[cls])
            let priced = candidates[cls].map { terms.nodeTerms(op, $0) }
            for (nodeStrategy, classStrategy) in mapping[cls].enumerated() {
                nodes[nodeOf[cls]].costs[nodeStrategy] += priced[classStrategy].seconds * weight
                nodes[nodeOf[cls]].memory[nodeStrategy] += priced[classStrategy].memory * weight
            }
        }
        // Edges: one matrix per (class, class, operands, kind), computed once and weighted by its count.
        var edgeCounts: [StageCostTerms.Link: (first: StageCostTerms.Link, count: Int)] = [:]
        var edgeOrder: [StageCostTerms.Link] = []
        let links = terms.links()
        for link in links {
            let key = StageCostTerms.Link(from: classOfOp(link.from), operand: link.operand, to: classOfOp(link.to),
                                          toOperand: link.toOperand, kind: link.kind)
            if let existing = edgeCounts[key] { edgeCounts[key] = (existing.first, existing.count + 1) }
            else { edgeCounts[key] = (link, 1); edgeOrder.append(key) }
        }
        var edges: [ShardingProblem.Edge] = []
        for key in edgeOrder {
            try checkpoint()
            let (link, count) = edgeCounts[key]!
            let weight = Double(count)
            // Strategies that give the passed tensor the same layout cost the same: price one per group.
            let producers = mapping[key.from].map { candidates[key.from][$0] }
            let consumers = mapping[key.to].map { candidates[key.to][$0] }
            let (fromGroups, produced) = producers.map { terms.producerLayout(link, $0) }.numberedByFirstAppearance()
            let (toGroups, consumed) = consumers.map { terms.consumerLayout(link, $0) }.numberedByFirstAppearance()
            // One consumer strategy per layout group (the first), for what depends on the consumer's kernels.
            let representatives = consumed.indices.map { group in consumers[toGroups.firstIndex(of: group)!] }
            let matrix = terms.linkSeconds(link, produced: produced, consumed: consumed, consumers: representatives)
                .map { $0.map { $0 * weight } }
            edges.append(ShardingProblem.Edge(from: nodeOf[key.from], to: nodeOf[key.to], costs: matrix,
                                              fromGroups: fromGroups, toGroups: toGroups))
        }
        problem = ShardingProblem(nodes: nodes, edges: edges, memoryBudget: memoryBudget)
        // An unshrunk problem: one node per op with its strategies, one pair variable per strategy pair of
        // every link, one row per node, per matrix row and column, and the budget.
        var unshrunkVariables = 0, unshrunkConstraints = memoryBudget == nil ? 0 : 1
        for op in operations { unshrunkVariables += candidates[classOfOp(op)].count; unshrunkConstraints += 1 }
        for link in links {
            let rows = candidates[classOfOp(link.from)].count, columns = candidates[classOfOp(link.to)].count
            unshrunkVariables += rows * columns
            unshrunkConstraints += rows + columns
        }
        unshrunkSize = (unshrunkVariables, unshrunkConstraints)
    }

    /// Ops at the same offset of layers with the same structure key share a class; every other op is its
    /// own class. Returns each op's class and each class's first op.
    private static func classes(operations: Range<Int>, layers: [Layer]) -> (classOf: [Int], representative: [Int]) {
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
        return (classOf, representative)
    }

    /// The stage layout a solution (one strategy per node) describes.
    public func layout(for choice: [Int]) -> StageLayout {
        StageLayout(operations: operations, mesh: mesh, strategies: classOf.map { cls in
            candidates[cls][mapping[cls][choice[nodeOf[cls]]]]
        })
    }
}
