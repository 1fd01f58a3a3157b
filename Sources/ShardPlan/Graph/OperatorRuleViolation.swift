/// Why an op's operands break its rule: the class of mistake and a message naming the shapes involved.
/// `GraphBuilder` turns it into an `InputError` carrying the op's name and JSON path.
public struct OperatorRuleViolation: Error, Sendable, Equatable {
    public var kind: InputError.Kind
    public var message: String

    public init(_ kind: InputError.Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    static func shape(_ message: String) -> OperatorRuleViolation { .init(.shapeMismatch, message) }
    static func dtype(_ message: String) -> OperatorRuleViolation { .init(.dtypeMismatch, message) }
    static func attribute(_ message: String) -> OperatorRuleViolation { .init(.invalidValue, message) }
}

/// The result type and index space an op has for given operand types.
public struct OperatorSignature: Sendable, Equatable {
    public var result: TensorType
    public var indexSpace: IndexSpace
}

/// Builds an `IndexSpace` one index at a time.
struct IndexSpaceBuilder {
    var indices: [IndexSpace.Index] = []
    var operandIndices: [[Int?]]
    var resultIndices: [Int?] = []

    init(operandRanks: [Int]) {
        operandIndices = operandRanks.map { Array(repeating: nil, count: $0) }
    }

    @discardableResult
    mutating func index(_ name: String, size: Int, role: IndexSpace.Role) -> Int {
        indices.append(IndexSpace.Index(name, size: size, role: role))
        return indices.count - 1
    }

    var space: IndexSpace {
        IndexSpace(indices: indices, operandIndices: operandIndices, resultIndices: resultIndices)
    }
}

extension Array where Element == Int {
    /// `[2, 3]` as text, for messages.
    var shapeText: String { "[" + map(String.init).joined(separator: ", ") + "]" }
}

/// Normalises a possibly negative axis (NumPy style) against `rank`, or nil when out of range.
func normalizedAxis(_ axis: Int, rank: Int) -> Int? {
    let normalized = axis < 0 ? axis + rank : axis
    return (0..<Swift.max(rank, 0)).contains(normalized) ? normalized : nil
}
