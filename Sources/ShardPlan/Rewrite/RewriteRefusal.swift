/// Why a rule does not apply at a match after all: a side condition the pattern cannot state, or a
/// replacement that would not fit the graph there (no place for the new ops, a value it must keep).
struct RewriteRefusal: Error, Sendable, Equatable {
    var reason: String
    init(_ reason: String) { self.reason = reason }
}

/// A tensor a replacement reads or makes: a value of the graph or of the rewrite, by name, with its type.
struct RewriteValue: Sendable, Equatable {
    var name: String
    var type: TensorType
}

extension Operator {
    /// The op with its axes normalised for `operands`, and its result type; a refusal when the operands
    /// break its rule (a replacement that would not type-check is not applied).
    static func checked(_ op: Operator, _ operands: [TensorType]) throws(RewriteRefusal) -> (op: Operator, result: TensorType) {
        let normalized = op.normalized(for: operands)
        do {
            return (normalized, try normalized.signature(operands: operands).result)
        } catch {
            throw RewriteRefusal("\(op.kindName) of \(operands.map(\.description).joined(separator: ", ")): \(error.message)")
        }
    }
}
