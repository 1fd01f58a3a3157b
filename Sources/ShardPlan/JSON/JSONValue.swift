/// A JSON document held in memory: the common ground between ShardPlan's formats (graph, cluster, plan) and text.
///
/// Objects keep their keys in the order they were written, so that files ShardPlan writes read in a
/// sensible order (`format` first) and the same value always prints the same bytes.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    /// The name of this value's JSON type, for error messages ("expected a number, found a string").
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}

/// A JSON object whose members keep the order in which they were added.
public struct JSONObject: Sendable, Equatable {
    /// The members in order; keys are unique.
    public private(set) var members: [(key: String, value: JSONValue)]
    /// Where each key sits in `members`, so that lookups (and the parser's duplicate-key check) stay fast
    /// on objects with many members.
    private var positions: [String: Int]

    public init() {
        members = []
        positions = [:]
    }

    public init(_ members: [(String, JSONValue)]) {
        self.init()
        for (key, value) in members { self[key] = value }
    }

    public var keys: [String] { members.map(\.key) }

    /// Where member `key` sits in `members`, if the object has it.
    public func position(of key: String) -> Int? { positions[key] }

    /// The member named `key`; setting `nil` removes it, setting a new key appends it.
    public subscript(key: String) -> JSONValue? {
        get { positions[key].map { members[$0].value } }
        set {
            if let position = positions[key] {
                if let newValue {
                    members[position].value = newValue
                } else {
                    members.remove(at: position)
                    positions[key] = nil
                    for later in position..<members.count { positions[members[later].key] = later }
                }
            } else if let newValue {
                positions[key] = members.count
                members.append((key, newValue))
            }
        }
    }

    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        lhs.members.count == rhs.members.count
            && zip(lhs.members, rhs.members).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .number(Double(value)) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) { self = .object(JSONObject(elements)) }
    public init(nilLiteral: ()) { self = .null }
}

extension JSONValue {
    /// A JSON number holding an integer.
    public static func int(_ value: Int) -> JSONValue { .number(Double(value)) }

    /// A JSON array of integers.
    public static func ints(_ values: [Int]) -> JSONValue { .array(values.map { .number(Double($0)) }) }

    /// A JSON array of strings.
    public static func strings(_ values: [String]) -> JSONValue { .array(values.map { .string($0) }) }
}
