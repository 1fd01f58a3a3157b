extension ShardingProblem {
    /// The same problem without dominated strategies, and for each node the original index of each strategy
    /// kept. A strategy is dominated when another strategy of the same node costs no more, needs no more
    /// memory (where a memory budget binds; without one memory does not count), and costs no more on every edge
    /// against every strategy of the other end; removing it cannot change the optimum. Of otherwise equal
    /// strategies the lightest, then the first, is kept. Without a budget, a parameter's ZeRO variants (one
    /// strategy's sharding, its weights held whole or sharded) reduce to the fastest.
    public func withoutDominatedStrategies() -> (problem: ShardingProblem, kept: [[Int]]) {
        var kept = nodes.map { Array($0.costs.indices) }
        var incident = Array(repeating: [Int](), count: nodes.count)
        for (index, edge) in edges.enumerated() {
            incident[edge.from].append(index)
            if edge.to != edge.from { incident[edge.to].append(index) }
        }
        /// Whether strategy `a` of `node` is no worse than `b` on every edge.
        func noWorseOnEdges(_ node: Int, _ a: Int, _ b: Int) -> Bool {
            for index in incident[node] {
                let edge = edges[index]
                if edge.from == node && edge.to == node {
                    if edge.cost(a, a) > edge.cost(b, b) { return false }
                } else if edge.from == node {
                    let (ga, gb) = (edge.fromGroups[a], edge.fromGroups[b])
                    if ga == gb { continue }
                    for other in kept[edge.to] where edge.costs[ga][edge.toGroups[other]] > edge.costs[gb][edge.toGroups[other]] { return false }
                } else {
                    let (ga, gb) = (edge.toGroups[a], edge.toGroups[b])
                    if ga == gb { continue }
                    for other in kept[edge.from] where edge.costs[edge.fromGroups[other]][ga] > edge.costs[edge.fromGroups[other]][gb] { return false }
                }
            }
            return true
        }
        let memoryCounts = memoryBudget != nil
        for node in nodes.indices {
            let costs = nodes[node].costs, memory = nodes[node].memory
            var survivors: [Int] = []
            for candidate in kept[node] {
                let dominated = kept[node].contains { other in
                    guard other != candidate, costs[other] <= costs[candidate], !memoryCounts || memory[other] <= memory[candidate],
                          noWorseOnEdges(node, other, candidate) else { return false }
                    // Equal strategies: keep the one that holds less (a caller may price memory afterwards, and a
                    // budgeted solve then finds its unbudgeted answer fits more often), else the first.
                    let equal = costs[other] == costs[candidate] && (!memoryCounts || memory[other] == memory[candidate])
                        && noWorseOnEdges(node, candidate, other)
                    return !equal || memory[other] < memory[candidate] || (memory[other] == memory[candidate] && other < candidate)
                }
                if !dominated { survivors.append(candidate) }
            }
            kept[node] = survivors
        }
        let pruned = ShardingProblem(
            nodes: nodes.indices.map { node in
                Node(costs: kept[node].map { nodes[node].costs[$0] }, memory: kept[node].map { nodes[node].memory[$0] })
            },
            edges: edges.map { edge in
                // Keep only the groups some surviving strategy still belongs to.
                let (fromGroups, rows) = kept[edge.from].map { edge.fromGroups[$0] }.numberedByFirstAppearance()
                let (toGroups, columns) = kept[edge.to].map { edge.toGroups[$0] }.numberedByFirstAppearance()
                return Edge(from: edge.from, to: edge.to, costs: rows.map { g in columns.map { h in edge.costs[g][h] } },
                            fromGroups: fromGroups, toGroups: toGroups)
            },
            memoryBudget: memoryBudget)
        return (pruned, kept)
    }
}
