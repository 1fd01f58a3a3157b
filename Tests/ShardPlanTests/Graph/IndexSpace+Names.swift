@testable import ShardPlan

/// The signature `GraphBuilder.add` gives `op` on operands of these types: negative axes and a reshape's
/// `-1` resolved first, as the builder does.
func inferredSignature(_ op: Operator, _ operands: TensorType...) throws -> OperatorSignature {
    try op.normalized(for: operands).signature(operands: operands)
}

/// Index lookups by display name, so expectations read like the op (`d` is summed) rather than like
/// positions in an array.
extension IndexSpace {
    func position(of name: String) -> Int? { indices.firstIndex { $0.name == name } }

    func role(of name: String) -> Role? { position(of: name).map { indices[$0].role } }

    func size(of name: String) -> Int? { position(of: name).map { indices[$0].size } }

    /// The names of the indices an operand's dimensions carry, `-` for a dimension that carries none.
    func operandNames(_ operand: Int) -> [String] {
        operandIndices[operand].map { $0.map { indices[$0].name } ?? "-" }
    }

    /// The names of the indices the result's dimensions carry, `-` for a dimension that carries none.
    var resultNames: [String] { resultIndices.map { $0.map { indices[$0].name } ?? "-" } }

    /// Names of the indices with `role`, in index order.
    func names(withRole role: Role) -> [String] { indices.filter { $0.role == role }.map(\.name) }
}
