import Testing
@testable import ShardPlan

@Suite("Variable elimination against exhaustive enumeration")
struct VariableEliminationTests {
    /// A random problem without a budget, with grouped edges and self-edges as stages produce them.
    static func randomProblem(seed: UInt64) -> ShardingProblem {
        var problem = ShardingSolverTests.randomProblem(seed: seed)
        problem.memoryBudget = nil
        var random = SplitMix64(seed: seed &* 31)
        // Half the edges price groups of strategies rather than single strategies.
        problem.edges = problem.edges.map { edge in
            guard Bool.random(using: &random) else { return edge }
            let fromGroups = problem.nodes[edge.from].costs.indices.map { $0 / 2 }
            let toGroups = problem.nodes[edge.to].costs.indices.map { $0 % 2 }
            let costs = (0...(fromGroups.max() ?? 0)).map { _ in (0...(toGroups.max() ?? 0)).map { _ in Double.random(in: 0...10, using: &random) } }
            return ShardingProblem.Edge(from: edge.from, to: edge.to, costs: costs, fromGroups: fromGroups, toGroups: toGroups)
        }
        return problem
    }

    @Test("its choice costs what brute force's optimum costs on 200 random problems", arguments: 0..<200)
    func randomProblems(seed: Int) throws {
        let problem = Self.randomProblem(seed: UInt64(seed) + 1000)
        let best = try #require(ExhaustiveSharding.optimum(problem))
        let choice = try #require(VariableElimination().cheapestChoice(problem))
        #expect(choice.count == problem.nodes.count)
        #expect(abs(problem.cost(of: choice) - best.cost) <= 1e-9 * max(1, best.cost),
                "elimination \(problem.cost(of: choice)) vs brute force \(best.cost)")
    }

    @Test("a cycle of four nodes, each preferring to differ from the next, solved by hand")
    func cycle() throws {
        // Agreeing along an edge costs 3, differing 0; every node prefers strategy 0, node 0 most. Alternating
        // 0, 1, 0, 1 costs nothing on edges and 0 + 1 + 0 + 1 = 2 on nodes; 1, 0, 1, 0 costs 2 + 0 + 1 + 0 = 3.
        let differ = [[3.0, 0], [0, 3]]
        let problem = ShardingProblem(
            nodes: [.init(costs: [0, 2]), .init(costs: [0, 1]), .init(costs: [0, 1]), .init(costs: [0, 1])],
            edges: [.init(from: 0, to: 1, costs: differ), .init(from: 1, to: 2, costs: differ),
                    .init(from: 2, to: 3, costs: differ), .init(from: 3, to: 0, costs: differ)])
        let choice = try #require(VariableElimination().cheapestChoice(problem))
        #expect(problem.cost(of: choice) == 2)
        #expect(choice == [0, 1, 0, 1])
    }

    @Test("a problem wider than the table limit is left to the ILP")
    func tooWide() {
        // Four nodes all joined to each other: eliminating any one builds a table over the other three.
        let nodes = (0..<4).map { _ in ShardingProblem.Node(costs: Array(repeating: 1, count: 10)) }
        var edges: [ShardingProblem.Edge] = []
        for a in 0..<4 { for b in (a + 1)..<4 { edges.append(.init(from: a, to: b, costs: Array(repeating: Array(repeating: 0, count: 10), count: 10))) } }
        let problem = ShardingProblem(nodes: nodes, edges: edges)
        #expect(VariableElimination(maximumTableSize: 999).cheapestChoice(problem) == nil)
        #expect(VariableElimination(maximumTableSize: 10_000).cheapestChoice(problem) != nil)
    }

    @Test("the solver answers a problem without a budget by elimination, with a budget by the ILP")
    func solverMethod() throws {
        let free = ShardingProblem(nodes: [.init(costs: [2, 1], memory: [1, 5])], edges: [])
        #expect(try ShardingSolver().solve(free).method == .variableElimination)
        var tight = free
        tight.memoryBudget = 2
        let solution = try ShardingSolver().solve(tight)
        #expect(solution.method == .integerProgram)
        #expect(solution.choice == [0])
    }
}
