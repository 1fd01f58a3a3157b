import LinearProgramming

/// Solves a `ShardingProblem` exactly as an integer linear program (Alpa's formulation): a binary
/// variable per node strategy, one chosen per node; a variable per edge strategy pair, linked to both
/// nodes' choices so that it is 1 exactly for the chosen pair; the objective sums node and edge costs;
/// memory is one budget row. Problems without a binding budget are first tried by `VariableElimination`,
/// exact and far faster on the narrow graphs stages make; the ILP takes the rest.
public struct ShardingSolver: Sendable {
    public var solver: any MixedIntegerSolver
    public var options: SolverOptions
    public var elimination: VariableElimination?

    /// GLPK with a time limit; a gap of 0 proves optimality when time allows. `elimination` nil sends every
    /// problem to the ILP.
    public init(solver: any MixedIntegerSolver = GLPKSolver(),
                options: SolverOptions = SolverOptions(timeLimit: 30, relativeGap: 0),
                elimination: VariableElimination? = VariableElimination()) {
        self.solver = solver
        self.options = options
        self.elimination = elimination
    }

    /// How a solution was found.
    public enum Method: String, Sendable, Equatable {
        case variableElimination = "variable elimination"
        case integerProgram = "ILP"
    }

    /// The chosen strategy per node, its cost, and whether optimality was proven.
    public struct Solution: Sendable, Equatable {
        public var choice: [Int]
        public var cost: Double
        /// False when the solver stopped at its time limit with the best plan found so far.
        public var isProvenOptimal: Bool
        public var method: Method
        /// Size of the ILP (0 when variable elimination solved the problem).
        public var variableCount: Int
        public var constraintCount: Int
    }

    /// Why a problem has no solution.
    public enum Failure: Error, Sendable, Equatable {
        /// No choice fits the memory budget; `minimumMemory` is the least any choice needs.
        case doesNotFit(minimumMemory: Double)
        /// The solver gave up (its message).
        case solverFailure(String)
    }

    public func solve(_ original: ShardingProblem) throws(Failure) -> Solution {
        // Node memory adds up, so the least memory of each node bounds every choice from below.
        let minimum = original.nodes.reduce(0) { $0 + ($1.memory.min() ?? 0) }
        if let budget = original.memoryBudget, minimum > budget * (1 + 1e-9) { throw .doesNotFit(minimumMemory: minimum) }
        // A budget row usually makes the relaxation fractional; when the unconstrained optimum fits anyway
        // it is also the constrained optimum, and the relaxation alone found it.
        if original.memoryBudget != nil {
            var unconstrained = original
            unconstrained.memoryBudget = nil
            if let solution = try? solveExactly(unconstrained), original.fits(solution.choice) { return solution }
        }
        return try solveExactly(original)
    }

    private func solveExactly(_ original: ShardingProblem) throws(Failure) -> Solution {
        let (problem, kept) = original.normalized().withoutDominatedStrategies()
        if problem.memoryBudget == nil, let elimination, let reduced = elimination.cheapestChoice(problem) {
            let choice = reduced.enumerated().map { kept[$0.offset][$0.element] }
            return Solution(choice: choice, cost: original.cost(of: choice), isProvenOptimal: true,
                            method: .variableElimination, variableCount: 0, constraintCount: 0)
        }
        // Costs in seconds can be 1e-6 or smaller, below the solver's absolute tolerances: scale the
        // objective so that its largest coefficient is 1000 (the reported cost is recomputed unscaled).
        let largest = max(problem.nodes.flatMap(\.costs).max() ?? 0, problem.edges.flatMap { $0.costs.flatMap { $0 } }.max() ?? 0)
        let scale = largest > 0 ? 1000 / largest : 1
        var program = MixedIntegerProgram()
        var objective = LinearExpression()
        var picks: [[Variable]] = []
        for node in problem.nodes {
            let variables = node.costs.indices.map { _ in program.addVariable(kind: .binary) }
            program.addConstraint(LinearExpression(terms: variables.map { ($0, 1.0) }), .equal, 1)
            for (strategy, variable) in variables.enumerated() {
                objective.add(node.costs[strategy] * scale, variable)
            }
            picks.append(variables)
        }
        for edge in problem.edges {
            let rows = edge.costs.count, columns = edge.costs.first?.count ?? 0
            var pairs: [[Variable]] = []
            for g in 0..<rows {
                pairs.append((0..<columns).map { h in
                    let variable = program.addVariable(kind: .continuous, lowerBound: 0, upperBound: 1)
                    objective.add(edge.costs[g][h] * scale, variable)
                    return variable
                })
            }
            // The pair variables of row group g sum to the first node's choice of a strategy in g, those of
            // column group h to the second node's choice in h: with binary node choices the chosen pair of
            // groups is the only non-zero one.
            for g in 0..<rows {
                let members = edge.fromGroups.indices.filter { edge.fromGroups[$0] == g }
                program.addConstraint(LinearExpression(terms: pairs[g].map { ($0, 1.0) })
                    - LinearExpression(terms: members.map { (picks[edge.from][$0], 1.0) }), .equal, 0)
            }
            for h in 0..<columns {
                let members = edge.toGroups.indices.filter { edge.toGroups[$0] == h }
                program.addConstraint(LinearExpression(terms: (0..<rows).map { (pairs[$0][h], 1.0) })
                    - LinearExpression(terms: members.map { (picks[edge.to][$0], 1.0) }), .equal, 0)
            }
        }
        if let budget = problem.memoryBudget {
            var memory = LinearExpression()
            for (node, variables) in zip(problem.nodes, picks) {
                for (strategy, variable) in variables.enumerated() where node.memory[strategy] != 0 {
                    memory.add(node.memory[strategy], variable)
                }
            }
            program.addConstraint(memory, .lessThanOrEqual, budget)
        }
        program.minimize(objective)
        do {
            let solution = try solver.solve(program, options: options)
            let choice = picks.enumerated().map { node, variables in
                kept[node][variables.indices.max { solution.value(of: variables[$0]) < solution.value(of: variables[$1]) } ?? 0]
            }
            let proven: Bool
            if case .optimal = solution.status { proven = true } else { proven = false }
            return Solution(choice: choice, cost: original.cost(of: choice), isProvenOptimal: proven,
                            method: .integerProgram, variableCount: program.variables.count, constraintCount: program.constraints.count)
        } catch .infeasible {
            let minimum = original.nodes.reduce(0) { $0 + ($1.memory.min() ?? 0) }
            throw .doesNotFit(minimumMemory: minimum)
        } catch {
            throw .solverFailure(error.description)
        }
    }
}
