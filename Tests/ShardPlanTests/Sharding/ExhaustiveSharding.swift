@testable import ShardPlan

/// The oracle for the sharding ILP: the cheapest choice that fits the memory budget, found by depth-first
/// enumeration with a lower bound (costs are non-negative, so a partial choice whose cost plus the cheapest
/// remaining node costs already exceeds the best cannot win).
enum ExhaustiveSharding {
    static func optimum(_ problem: ShardingProblem) -> (choice: [Int], cost: Double)? {
        let problem = problem.normalized()
        let count = problem.nodes.count
        var edgesClosingAt = Array(repeating: [ShardingProblem.Edge](), count: count)
        for edge in problem.edges { edgesClosingAt[max(edge.from, edge.to)].append(edge) }
        var cheapestRest = Array(repeating: 0.0, count: count + 1)
        var leastMemoryRest = Array(repeating: 0.0, count: count + 1)
        for node in stride(from: count - 1, through: 0, by: -1) {
            cheapestRest[node] = cheapestRest[node + 1] + (problem.nodes[node].costs.min() ?? 0)
            leastMemoryRest[node] = leastMemoryRest[node + 1] + (problem.nodes[node].memory.min() ?? 0)
        }
        var best: (choice: [Int], cost: Double)?
        var choice = Array(repeating: 0, count: count)
        func visit(_ node: Int, cost: Double, memory: Double) {
            if let budget = problem.memoryBudget, memory + leastMemoryRest[node] > budget * (1 + 1e-9) { return }
            if let best, cost + cheapestRest[node] >= best.cost - 1e-15 { return }
            if node == count { best = (choice, cost); return }
            for strategy in problem.nodes[node].costs.indices {
                choice[node] = strategy
                var added = problem.nodes[node].costs[strategy]
                for edge in edgesClosingAt[node] { added += edge.cost(choice[edge.from], choice[edge.to]) }
                visit(node + 1, cost: cost + added, memory: memory + problem.nodes[node].memory[strategy])
            }
        }
        visit(0, cost: 0, memory: 0)
        return best
    }
}
