/// The intra-operator search as plain numbers, independent of graphs and solvers (the boundary XLA's
/// auto-sharding draws): nodes choose one of their strategies, each with a cost and a memory footprint;
/// edges add a cost for each pair of strategies of their two nodes; the chosen memory must fit a budget.
///
/// `ShardingSolver` solves it as an integer linear program; tests compare it with exhaustive enumeration.
public struct ShardingProblem: Sendable, Equatable {
    /// One decision: pick one strategy.
    public struct Node: Sendable, Equatable {
        /// Cost of each strategy (seconds per iteration).
        public var costs: [Double]
        /// Memory of each strategy (bytes per device).
        public var memory: [Double]

        public init(costs: [Double], memory: [Double]? = nil) {
            self.costs = costs
            self.memory = memory ?? Array(repeating: 0, count: costs.count)
        }
    }

    /// A cost depending on the strategies of two nodes. Strategies that look alike to the edge (the same
    /// layout of the tensor passed) share a group: `costs[g][h]` is the cost when `from` picks a strategy of
    /// group `g = fromGroups[i]` and `to` one of group `h = toGroups[j]`. Grouping is exact and keeps the ILP
    /// small: it needs one pair variable per pair of groups, not per pair of strategies.
    public struct Edge: Sendable, Equatable {
        public var from: Int
        public var to: Int
        public var costs: [[Double]]
        public var fromGroups: [Int]
        public var toGroups: [Int]

        /// An edge with a cost per pair of strategies (every strategy its own group).
        public init(from: Int, to: Int, costs: [[Double]]) {
            self.init(from: from, to: to, costs: costs, fromGroups: Array(costs.indices),
                      toGroups: Array((costs.first ?? []).indices))
        }

        public init(from: Int, to: Int, costs: [[Double]], fromGroups: [Int], toGroups: [Int]) {
            self.from = from
            self.to = to
            self.costs = costs
            self.fromGroups = fromGroups
            self.toGroups = toGroups
        }

        /// The cost when `from` picks strategy `i` and `to` picks `j`.
        public func cost(_ i: Int, _ j: Int) -> Double { costs[fromGroups[i]][toGroups[j]] }

        /// The same edge with a cost per pair of strategies.
        var expanded: Edge {
            Edge(from: from, to: to, costs: fromGroups.map { g in toGroups.map { h in costs[g][h] } })
        }
    }

    public var nodes: [Node]
    public var edges: [Edge]
    /// Maximum total memory of the chosen strategies; nil for none.
    public var memoryBudget: Double?

    public init(nodes: [Node], edges: [Edge], memoryBudget: Double? = nil) {
        self.nodes = nodes
        self.edges = edges
        self.memoryBudget = memoryBudget
    }

    /// Total cost of a choice (one strategy index per node).
    public func cost(of choice: [Int]) -> Double {
        var total = 0.0
        for (node, pick) in zip(nodes, choice) { total += node.costs[pick] }
        for edge in edges { total += edge.cost(choice[edge.from], choice[edge.to]) }
        return total
    }

    /// Total memory of a choice.
    public func memory(of choice: [Int]) -> Double {
        zip(nodes, choice).reduce(0) { $0 + $1.0.memory[$1.1] }
    }

    /// Whether a choice fits the memory budget.
    public func fits(_ choice: [Int]) -> Bool {
        guard let memoryBudget else { return true }
        return memory(of: choice) <= memoryBudget * (1 + 1e-9)
    }

    /// The same problem with parallel edges between the same pair of nodes summed and edges from a node to
    /// itself folded into its costs (their diagonal applies).
    public func normalized() -> ShardingProblem {
        var result = ShardingProblem(nodes: nodes, edges: [], memoryBudget: memoryBudget)
        var position: [[Int]: Int] = [:]
        for edge in edges {
            if edge.from == edge.to {
                for strategy in result.nodes[edge.from].costs.indices {
                    result.nodes[edge.from].costs[strategy] += edge.cost(strategy, strategy)
                }
                continue
            }
            let oriented = edge.from <= edge.to ? edge
                : Edge(from: edge.to, to: edge.from, costs: Self.transposed(edge.costs), fromGroups: edge.toGroups, toGroups: edge.fromGroups)
            let key = [oriented.from, oriented.to]
            if let existing = position[key] {
                // Parallel edges are summed over the pairs of strategies.
                var merged = result.edges[existing].expanded
                let addition = oriented.expanded
                for i in merged.costs.indices { for j in merged.costs[i].indices { merged.costs[i][j] += addition.costs[i][j] } }
                result.edges[existing] = merged
            } else {
                position[key] = result.edges.count
                result.edges.append(oriented)
            }
        }
        return result
    }

    static func transposed(_ matrix: [[Double]]) -> [[Double]] {
        guard let columns = matrix.first?.count else { return matrix }
        return (0..<columns).map { j in matrix.map { $0[j] } }
    }
}
