import CGLPK

/// A validated ``MixedIntegerProgram`` laid out for the C shim: one GLPK column per variable,
/// one GLPK row per constraint, and the constraint matrix as 1-based triplets for
/// `glp_load_matrix`.
struct GLPKModel {
    private let direction: Int32
    private let objectiveConstant: Double
    private var columns: [cglpk_column] = []
    private var rows: [cglpk_row] = []
    // GLPK ignores element 0 of the triplet arrays.
    private var entryRows: [Int32] = [0]
    private var entryColumns: [Int32] = [0]
    private var entryValues: [Double] = [0]

    /// Lays out `program`, which must have passed ``MixedIntegerProgram/validate()``.
    init(_ program: MixedIntegerProgram) {
        direction = program.objective.sense == .minimize ? GLP_MIN : GLP_MAX
        objectiveConstant = program.objective.expression.constant
        columns.reserveCapacity(program.variables.count)
        for (index, variable) in program.variables.enumerated() {
            let bounds = variable.effectiveBounds
            let (type, lower, upper) = Self.boundType(lower: bounds.lower, upper: bounds.upper)
            let variableHandle = Variable(index: index, programID: program.id)
            columns.append(cglpk_column(
                kind: variable.kind == .continuous ? GLP_CV : GLP_IV,
                type: type,
                lower: lower,
                upper: upper,
                objective: program.objective.expression.coefficient(of: variableHandle)
            ))
        }
        rows.reserveCapacity(program.constraints.count)
        for (index, constraint) in program.constraints.enumerated() {
            let bound = constraint.rightHandSide - constraint.expression.constant
            let (type, lower, upper) = switch constraint.relation {
            case .lessThanOrEqual: Self.boundType(lower: nil, upper: bound)
            case .equal: Self.boundType(lower: bound, upper: bound)
            case .greaterThanOrEqual: Self.boundType(lower: bound, upper: nil)
            }
            rows.append(cglpk_row(type: type, lower: lower, upper: upper))
            for term in constraint.expression.terms {
                entryRows.append(Int32(index + 1))
                entryColumns.append(Int32(term.variable.index + 1))
                entryValues.append(term.coefficient)
            }
        }
    }

    /// Builds, solves and deletes the GLPK problem; `values` holds one entry per column, meaningful
    /// when the outcome carries a solution.
    func solve(_ parameters: cglpk_parameters) -> (outcome: cglpk_outcome, values: [Double]) {
        var parameters = parameters
        var outcome = cglpk_outcome()
        var values = [Double](repeating: 0, count: columns.count)
        columns.withUnsafeBufferPointer { columns in
            rows.withUnsafeBufferPointer { rows in
                entryRows.withUnsafeBufferPointer { entryRows in
                    entryColumns.withUnsafeBufferPointer { entryColumns in
                        entryValues.withUnsafeBufferPointer { entryValues in
                            var model = cglpk_model(
                                direction: direction,
                                objective_constant: objectiveConstant,
                                column_count: Int32(columns.count),
                                columns: columns.baseAddress,
                                row_count: Int32(rows.count),
                                rows: rows.baseAddress,
                                entry_count: Int32(entryValues.count - 1),
                                entry_rows: entryRows.baseAddress,
                                entry_columns: entryColumns.baseAddress,
                                entry_values: entryValues.baseAddress
                            )
                            values.withUnsafeMutableBufferPointer { values in
                                cglpk_solve(&model, &parameters, values.baseAddress, &outcome)
                            }
                        }
                    }
                }
            }
        }
        return (outcome, values)
    }

    /// GLPK's bound type for a variable or row activity, with the bounds it reads.
    private static func boundType(lower: Double?, upper: Double?) -> (type: Int32, lower: Double, upper: Double) {
        switch (lower, upper) {
        case (nil, nil): (GLP_FR, 0, 0)
        case let (lower?, nil): (GLP_LO, lower, 0)
        case let (nil, upper?): (GLP_UP, 0, upper)
        // GLPK rejects a double-bounded variable whose bounds are equal: that one is fixed.
        case let (lower?, upper?): (lower == upper ? GLP_FX : GLP_DB, lower, upper)
        }
    }
}
