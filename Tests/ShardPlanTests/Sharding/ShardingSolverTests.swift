import Testing
@testable import ShardPlan

@Suite("Sharding ILP against exhaustive enumeration")
struct ShardingSolverTests {
    /// Random problems of 2 to 6 nodes with 1 to 5 strategies, random edges and, half the time, a budget.
    static func randomProblem(seed: UInt64) -> ShardingProblem {
        var random = SplitMix64(seed: seed)
        let count = Int.random(in: 2...6, using: &random)
        let nodes = (0..<count).map { _ -> ShardingProblem.Node in
            let strategies = Int.random(in: 1...5, using: &random)
            return ShardingProblem.Node(costs: (0..<strategies).map { _ in Double.random(in: 0...10, using: &random) },
                                        memory: (0..<strategies).map { _ in Double.random(in: 0...10, using: &random) })
        }
        var edges: [ShardingProblem.Edge] = []
        for _ in 0..<Int.random(in: 0...(count * 2), using: &random) {
            let from = Int.random(in: 0..<count, using: &random), to = Int.random(in: 0..<count, using: &random)
            edges.append(ShardingProblem.Edge(from: from, to: to, costs: nodes[from].costs.indices.map { _ in
                nodes[to].costs.indices.map { _ in Double.random(in: 0...10, using: &random) }
            }))
        }
        let budget: Double? = Bool.random(using: &random) ? Double(count) * Double.random(in: 2...8, using: &random) : nil
        return ShardingProblem(nodes: nodes, edges: edges, memoryBudget: budget)
    }

    @Test("the ILP's optimum equals brute force on 100 random problems, with and without elimination first",
          arguments: 0..<100, [true, false])
    func randomProblems(seed: Int, eliminationFirst: Bool) throws {
        let problem = Self.randomProblem(seed: UInt64(seed) + 1)
        let exhaustive = ExhaustiveSharding.optimum(problem)
        let solver = ShardingSolver(elimination: eliminationFirst ? VariableElimination() : nil)
        let outcome = Result(catching: { () throws(ShardingSolver.Failure) in try solver.solve(problem) })
        switch outcome {
        case .success(let solution):
            let best = try #require(exhaustive, "the ILP found a plan where enumeration found none")
            #expect(abs(solution.cost - best.cost) <= 1e-6 * max(1, best.cost), "ILP \(solution.cost) vs brute force \(best.cost)")
            #expect(problem.fits(solution.choice))
            #expect(solution.isProvenOptimal)
        case .failure(.doesNotFit):
            #expect(exhaustive == nil, "the ILP found no plan that fits, but enumeration did")
        case .failure(.solverFailure(let message)):
            Issue.record("solver failure: \(message)")
        }
    }

    @Test("without a budget memory does not count: a cheaper strategy with the same edges dominates one that holds less; with a budget both stay")
    func dominanceWithoutBudget() {
        let nodes = [ShardingProblem.Node(costs: [1, 2], memory: [10, 1]), ShardingProblem.Node(costs: [0], memory: [0])]
        let edges = [ShardingProblem.Edge(from: 0, to: 1, costs: [[3], [3]])]
        #expect(ShardingProblem(nodes: nodes, edges: edges).withoutDominatedStrategies().kept[0] == [0])
        #expect(ShardingProblem(nodes: nodes, edges: edges, memoryBudget: 5).withoutDominatedStrategies().kept[0] == [0, 1])
        // Where the cheaper one costs more on an edge, both stay even without a budget.
        let edgeCosts = [ShardingProblem.Edge(from: 0, to: 1, costs: [[4], [3]])]
        #expect(ShardingProblem(nodes: nodes, edges: edgeCosts).withoutDominatedStrategies().kept[0] == [0, 1])
    }

    @Test("a budget no choice meets is reported with the least memory any choice needs")
    func doesNotFit() {
        let problem = ShardingProblem(nodes: [ShardingProblem.Node(costs: [1, 2], memory: [5, 4]),
                                              ShardingProblem.Node(costs: [1], memory: [3])],
                                      edges: [], memoryBudget: 6)
        #expect(throws: ShardingSolver.Failure.doesNotFit(minimumMemory: 7)) { try ShardingSolver().solve(problem) }
    }

    @Test("an edge makes two nodes agree when disagreeing costs more than it saves")
    func edgeForcesAgreement() throws {
        // Node 0 prefers strategy 1 (cost 1 vs 2), node 1 prefers strategy 0 (1 vs 2); disagreeing costs 5.
        let problem = ShardingProblem(nodes: [ShardingProblem.Node(costs: [2, 1]), ShardingProblem.Node(costs: [1, 2])],
                                      edges: [ShardingProblem.Edge(from: 0, to: 1, costs: [[0, 5], [5, 0]])])
        let solution = try ShardingSolver().solve(problem)
        #expect(solution.cost == 3)
        #expect(solution.choice[0] == solution.choice[1])
    }

    @Test("a time limit returns a valid plan, proven optimal or the best found")
    func timeLimit() throws {
        var random = SplitMix64(seed: 99)
        let nodes = (0..<60).map { _ in ShardingProblem.Node(costs: (0..<6).map { _ in Double.random(in: 0...10, using: &random) },
                                                             memory: (0..<6).map { _ in Double.random(in: 0...10, using: &random) }) }
        let edges = (0..<90).map { index in
            ShardingProblem.Edge(from: index % 60, to: (index * 7 + 3) % 60,
                                 costs: (0..<6).map { _ in (0..<6).map { _ in Double.random(in: 0...10, using: &random) } })
        }
        let problem = ShardingProblem(nodes: nodes, edges: edges, memoryBudget: 200)
        let solver = ShardingSolver(options: .init(timeLimit: 0.05, relativeGap: 0))
        switch Result(catching: { () throws(ShardingSolver.Failure) in try solver.solve(problem) }) {
        case .success(let solution):
            #expect(problem.fits(solution.choice))
            #expect(abs(problem.cost(of: solution.choice) - solution.cost) < 1e-9)
        case .failure(.doesNotFit):
            Issue.record("a budget of 200 fits this problem")
        case .failure(.solverFailure):
            // No plan within the time limit is a reported failure, never a crash.
            break
        }
    }
}
