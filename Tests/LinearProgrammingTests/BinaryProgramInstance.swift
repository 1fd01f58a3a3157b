import LinearProgramming

/// A pure 0/1 program small enough to solve by trying every assignment: the oracle the solver is
/// checked against.
struct BinaryProgramInstance: Sendable, CustomStringConvertible {
    struct Row: Sendable {
        var coefficients: [Double]
        var relation: ConstraintRelation
        var rightHandSide: Double
    }

    var objective: [Double]
    var sense: ObjectiveSense
    var rows: [Row]

    var variableCount: Int { objective.count }

    var description: String {
        "\(sense) \(objective) subject to \(rows.map { "\($0.coefficients) \($0.relation) \($0.rightHandSide)" })"
    }

    /// A random instance with integer data: `variableCount` variables and `rowCount` constraints.
    static func random(variableCount: Int, rowCount: Int, using generator: inout SplitMix64) -> BinaryProgramInstance {
        let relations: [ConstraintRelation] = [.lessThanOrEqual, .lessThanOrEqual, .greaterThanOrEqual, .equal]
        let rows = (0..<rowCount).map { _ in
            let coefficients = (0..<variableCount).map { _ in Double(Int.random(in: -3...9, using: &generator)) }
            let relation = relations.randomElement(using: &generator)!
            let total = coefficients.reduce(0, +)
            let rightHandSide = relation == .equal
                ? Double(Int.random(in: 0...Int(max(total, 1)), using: &generator))
                : (total * Double.random(in: 0.2...0.7, using: &generator)).rounded()
            return Row(coefficients: coefficients, relation: relation, rightHandSide: rightHandSide)
        }
        return BinaryProgramInstance(
            objective: (0..<variableCount).map { _ in Double(Int.random(in: -10...20, using: &generator)) },
            sense: Bool.random(using: &generator) ? .maximize : .minimize,
            rows: rows
        )
    }

    /// The instance as a program, with its variables in order.
    func makeProgram() -> (MixedIntegerProgram, [Variable]) {
        var program = MixedIntegerProgram()
        let variables = (0..<variableCount).map { program.addVariable(name: "x\($0)", kind: .binary) }
        for (index, row) in rows.enumerated() {
            program.addConstraint(LinearExpression(terms: zip(variables, row.coefficients)), row.relation, row.rightHandSide, name: "row\(index)")
        }
        program.objective = Objective(sense, LinearExpression(terms: zip(variables, objective)))
        return (program, variables)
    }

    func isFeasible(_ values: [Double]) -> Bool {
        values.allSatisfy { $0 == 0 || $0 == 1 } && rows.allSatisfy { row in
            let activity = zip(row.coefficients, values).reduce(0) { $0 + $1.0 * $1.1 }
            return switch row.relation {
            case .lessThanOrEqual: activity <= row.rightHandSide + 1e-9
            case .equal: abs(activity - row.rightHandSide) <= 1e-9
            case .greaterThanOrEqual: activity >= row.rightHandSide - 1e-9
            }
        }
    }

    func objectiveValue(_ values: [Double]) -> Double {
        zip(objective, values).reduce(0) { $0 + $1.0 * $1.1 }
    }

    /// The optimal objective over all 2^n assignments, or nil when none is feasible.
    func bruteForceOptimum() -> Double? {
        var best: Double?
        for mask in 0..<(1 << variableCount) {
            let values = (0..<variableCount).map { Double((mask >> $0) & 1) }
            guard isFeasible(values) else { continue }
            let value = objectiveValue(values)
            if let current = best, sense == .maximize ? value <= current : value >= current { continue }
            best = value
        }
        return best
    }
}
