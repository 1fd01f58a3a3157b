/// Identifies one tensor of a graph (an input, a parameter or an op's result) by its position in
/// `Graph.values`.
public struct ValueID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let rawValue: Int
    public init(_ rawValue: Int) { self.rawValue = rawValue }
    public static func < (lhs: ValueID, rhs: ValueID) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { "%\(rawValue)" }
}

/// One named tensor of a graph and where it comes from.
public struct Value: Sendable, Equatable {
    /// Where a tensor comes from.
    public enum Origin: Sendable, Equatable {
        /// A graph input holding data (tokens, labels, images); `batchDimension` is split by data parallelism.
        case input(batchDimension: Int)
        /// A weight (`Value.isFrozen`: one training does not update).
        case parameter
        /// The result of `Graph.operations[index]`.
        case operation(Int)
    }

    public var name: String
    public var type: TensorType
    public var origin: Origin
    /// A parameter training leaves unchanged (`"trainable": false`: a fine-tuned model's base weights beside its
    /// adapters, a frozen embedding): it carries no gradient, and has no gradient buffer, optimizer state, optimizer
    /// step or gradient synchronisation. Always false for inputs and op results.
    public var isFrozen: Bool

    public init(name: String, type: TensorType, origin: Origin, isFrozen: Bool = false) {
        self.name = name
        self.type = type
        self.origin = origin
        self.isFrozen = isFrozen && origin == .parameter
    }

    public var isParameter: Bool { origin == .parameter }
    /// A parameter training updates.
    public var isTrainableParameter: Bool { isParameter && !isFrozen }
    public var isInput: Bool { if case .input = origin { true } else { false } }

    /// The op that computes this value, if it is an op's result.
    public var operationIndex: Int? { if case .operation(let index) = origin { index } else { nil } }
}
