/// Exact minimisation of a `ShardingProblem` without a memory budget by variable elimination (min-sum
/// bucket elimination): nodes are removed one at a time, each replaced by a table over its neighbours that
/// holds, for every choice of theirs, the cheapest choice of the removed node and what it costs; the last
/// choices are then read back in reverse order.
///
/// A stage's problem is a transformer block's graph shrunk to a dozen nodes on a few cycles (the residual
/// stream, the attention branches): its tables have two or three nodes, a few hundred thousand entries at
/// most, and elimination takes a millisecond where the ILP takes tens. A problem whose elimination would need
/// a larger table than `maximumTableSize` is left to the ILP (`ShardingSolver`).
public struct VariableElimination: Sendable {
    /// The most entries one intermediate table may have (time and memory grow with it).
    public var maximumTableSize: Int

    public init(maximumTableSize: Int = 1 << 22) { self.maximumTableSize = maximumTableSize }

    /// A cost over an assignment of some nodes, row-major with the last node varying fastest.
    private struct CostTable {
        var scope: [Int]
        var sizes: [Int]
        var values: [Double]

        var strides: [Int] {
            var result = Array(repeating: 1, count: sizes.count)
            for position in stride(from: sizes.count - 2, through: 0, by: -1) { result[position] = result[position + 1] * sizes[position + 1] }
            return result
        }
    }

    /// One elimination step: the node removed, the nodes its table ranges over, and its best strategy for
    /// each of their assignments.
    private struct Step {
        var node: Int
        var scope: [Int]
        var sizes: [Int]
        var bestChoice: [Int]
    }

    /// The cheapest choice of `problem` ignoring its memory budget, or nil when the problem is too wide to
    /// eliminate within `maximumTableSize` (or a node has no strategy). Ties go to the lower strategy index.
    public func cheapestChoice(_ problem: ShardingProblem) -> [Int]? {
        let count = problem.nodes.count
        let strategyCount = problem.nodes.map(\.costs.count)
        guard !strategyCount.contains(0) else { return nil }
        var unary = problem.nodes.map(\.costs)
        var tables: [CostTable] = []
        for edge in problem.edges {
            if edge.from == edge.to {
                for strategy in unary[edge.from].indices { unary[edge.from][strategy] += edge.cost(strategy, strategy) }
                continue
            }
            let (low, high) = (min(edge.from, edge.to), max(edge.from, edge.to))
            var values: [Double] = []
            values.reserveCapacity(strategyCount[low] * strategyCount[high])
            for i in 0..<strategyCount[low] {
                for j in 0..<strategyCount[high] { values.append(edge.from == low ? edge.cost(i, j) : edge.cost(j, i)) }
            }
            tables.append(CostTable(scope: [low, high], sizes: [strategyCount[low], strategyCount[high]], values: values))
        }
        for node in 0..<count { tables.append(CostTable(scope: [node], sizes: [strategyCount[node]], values: unary[node])) }

        var remaining = Set(0..<count)
        var steps: [Step] = []
        while !remaining.isEmpty {
            // The node whose elimination builds the smallest table (fewest operations), the lowest on ties.
            var pick = -1, pickSize = Int.max, pickScope: [Int] = []
            for node in remaining.sorted() {
                var neighbours = Set<Int>()
                for table in tables where table.scope.contains(node) { neighbours.formUnion(table.scope) }
                neighbours.remove(node)
                var size = strategyCount[node]
                for neighbour in neighbours {
                    let (product, overflow) = size.multipliedReportingOverflow(by: strategyCount[neighbour])
                    size = overflow ? Int.max : product
                }
                if size < pickSize { (pick, pickSize, pickScope) = (node, size, neighbours.sorted()) }
            }
            guard pickSize <= maximumTableSize else { return nil }
            let involved = tables.indices.filter { tables[$0].scope.contains(pick) }
            let step = eliminate(pick, scope: pickScope, from: involved.map { tables[$0] }, strategyCount: strategyCount)
            tables = tables.indices.filter { !involved.contains($0) }.map { tables[$0] }
            if !pickScope.isEmpty { tables.append(step.table) }
            steps.append(step.step)
            remaining.remove(pick)
        }

        var choice = Array(repeating: 0, count: count)
        for step in steps.reversed() {
            var index = 0
            for (node, size) in zip(step.scope, step.sizes) { index = index * size + choice[node] }
            choice[step.node] = step.bestChoice[index]
        }
        return choice
    }

    /// Sums the `involved` tables and minimises `node` out of them: the table left over `scope`, and the step
    /// that recovers `node`'s best strategy.
    private func eliminate(_ node: Int, scope: [Int], from involved: [CostTable], strategyCount: [Int])
        -> (table: CostTable, step: Step) {
        let sizes = scope.map { strategyCount[$0] }
        let cells = sizes.reduce(1, *)
        let choices = strategyCount[node]
        // For each involved table: the stride of each scope position in it (0 when absent) and of `node`.
        let layouts = involved.map { table -> (scopeStrides: [Int], nodeStride: Int) in
            let strides = table.strides
            let scopeStrides = scope.map { member in table.scope.firstIndex(of: member).map { strides[$0] } ?? 0 }
            return (scopeStrides, strides[table.scope.firstIndex(of: node)!])
        }
        var values = Array(repeating: 0.0, count: cells)
        var bestChoice = Array(repeating: 0, count: cells)
        var digits = Array(repeating: 0, count: scope.count)
        var bases = Array(repeating: 0, count: involved.count)
        for cell in 0..<cells {
            var best = Double.infinity, bestStrategy = 0
            for strategy in 0..<choices {
                var total = 0.0
                for table in involved.indices {
                    total += involved[table].values[bases[table] + strategy * layouts[table].nodeStride]
                }
                if total < best { (best, bestStrategy) = (total, strategy) }
            }
            values[cell] = best
            bestChoice[cell] = bestStrategy
            // Advance the odometer over `scope` (last position fastest) and the tables' offsets with it.
            var position = scope.count - 1
            while position >= 0 {
                digits[position] += 1
                for table in involved.indices { bases[table] += layouts[table].scopeStrides[position] }
                if digits[position] < sizes[position] { break }
                for table in involved.indices { bases[table] -= layouts[table].scopeStrides[position] * sizes[position] }
                digits[position] = 0
                position -= 1
            }
        }
        return (CostTable(scope: scope, sizes: sizes, values: values),
                Step(node: node, scope: scope, sizes: sizes, bestChoice: bestChoice))
    }
}
