/// Reads the members of one JSON object with typed accessors that throw `InputError`s naming the exact path.
///
/// Decoders of ShardPlan's formats are written with it, so every "missing member" or "wrong type" message
/// has the same shape: `ops[3] "h".axes: expected an array of integers, found a string`.
///
/// While a decode runs under `MemberReads.collecting`, a reader records the members it is asked for, so that a
/// member no decoder read but spelled like one it asked for can be reported as a likely typo.
public struct JSONReader {
    private let members: JSONObject
    public let path: JSONPath
    /// Where this reader records the members it is asked for; nil outside `MemberReads.collecting`.
    private let reads: MemberReads.Recorder?

    /// The whole object, for a decoder that reads it as a map (member names the document chooses): its members
    /// all count as read.
    public var object: JSONObject {
        reads?.tookWhole()
        return members
    }

    /// A reader for `value`, which must be an object.
    public init(_ value: JSONValue, at path: JSONPath, what: String = "an object") throws(InputError) {
        guard case .object(let object) = value else {
            throw InputError(.wrongType, at: path, "expected \(what), found \(value.typeName)")
        }
        self.members = object
        self.path = path
        reads = MemberReads.opened(path, object: object)
    }

    public func contains(_ key: String) -> Bool { member(key) != nil }

    /// The raw member, or nil where it is absent or `null` (which reads as absent).
    public func member(_ key: String) -> JSONValue? {
        reads?.asked(key)
        guard let value = members[key], value != .null else { return nil }
        return value
    }

    /// The raw member, or a `missingField` error.
    public func value(_ key: String) throws(InputError) -> JSONValue {
        guard let value = member(key) else {
            throw InputError(.missingField, at: path, "missing required member \"\(key)\"")
        }
        return value
    }

    public func string(_ key: String) throws(InputError) -> String {
        let value = try value(key)
        guard case .string(let text) = value else { throw wrongType(key, "a string", value) }
        return text
    }

    public func optionalString(_ key: String) throws(InputError) -> String? {
        contains(key) ? try string(key) : nil
    }

    /// `optionalString`, refusing an empty string: a document's `name`, which reports print (`what` names it).
    public func optionalName(_ key: String, of what: String) throws(InputError) -> String? {
        let name = try optionalString(key)
        guard name?.isEmpty != true else { throw invalid(key, "\(what)'s name must not be empty; leave the member out for the default") }
        return name
    }

    /// Member `key` as a case of `Choice` named by its raw value; an unknown name is an `invalidValue` error that
    /// names `what` and lists the known ones.
    public func requiredCase<Choice: RawRepresentable & CaseIterable>(_ key: String, _ what: String)
        throws(InputError) -> Choice where Choice.RawValue == String {
        let name = try string(key)
        guard let choice = Choice(rawValue: name) else {
            throw invalid(key, "unknown \(what) \"\(name)\"; known: \(Choice.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return choice
    }

    /// `requiredCase` where the member is present, else nil.
    public func optionalCase<Choice: RawRepresentable & CaseIterable>(_ key: String, _ what: String)
        throws(InputError) -> Choice? where Choice.RawValue == String {
        contains(key) ? try requiredCase(key, what) : nil
    }

    /// Member `key` as a finite number (JSON text holds no other, but a `JSONValue` built in code may).
    public func number(_ key: String) throws(InputError) -> Double {
        let value = try value(key)
        guard case .number(let number) = value else { throw wrongType(key, "a number", value) }
        guard number.isFinite else { throw invalid(key, "expected a finite number, found \(number)") }
        return number
    }

    public func optionalNumber(_ key: String) throws(InputError) -> Double? {
        contains(key) ? try number(key) : nil
    }

    public func int(_ key: String) throws(InputError) -> Int {
        let value = try value(key)
        guard let integer = Self.integer(value) else { throw wrongType(key, Self.expectedInteger(value), value) }
        return integer
    }

    public func optionalInt(_ key: String) throws(InputError) -> Int? {
        contains(key) ? try int(key) : nil
    }

    public func bool(_ key: String) throws(InputError) -> Bool {
        let value = try value(key)
        guard case .bool(let flag) = value else { throw wrongType(key, "true or false", value) }
        return flag
    }

    public func optionalBool(_ key: String) throws(InputError) -> Bool? {
        contains(key) ? try bool(key) : nil
    }

    public func array(_ key: String) throws(InputError) -> [JSONValue] {
        let value = try value(key)
        guard case .array(let elements) = value else { throw wrongType(key, "an array", value) }
        return elements
    }

    public func ints(_ key: String) throws(InputError) -> [Int] {
        let value = try value(key)
        guard case .array(let elements) = value else { throw wrongType(key, "an array of integers", value) }
        var result: [Int] = []
        result.reserveCapacity(elements.count)
        for (index, element) in elements.enumerated() {
            guard let integer = Self.integer(element) else {
                throw InputError(.wrongType, at: path.appending(key).appending(index: index),
                                 "expected \(Self.expectedInteger(element)), found \(Self.describe(element))")
            }
            result.append(integer)
        }
        return result
    }

    public func strings(_ key: String) throws(InputError) -> [String] {
        let value = try value(key)
        guard case .array(let elements) = value else { throw wrongType(key, "an array of strings", value) }
        var result: [String] = []
        result.reserveCapacity(elements.count)
        for (index, element) in elements.enumerated() {
            guard case .string(let text) = element else {
                throw InputError(.wrongType, at: path.appending(key).appending(index: index),
                                 "expected a string, found \(Self.describe(element))")
            }
            result.append(text)
        }
        return result
    }

    /// A reader for the nested object `key`.
    public func reader(_ key: String) throws(InputError) -> JSONReader {
        try JSONReader(try value(key), at: path.appending(key))
    }

    /// An `invalidValue` error about member `key`.
    public func invalid(_ key: String, _ message: String) -> InputError {
        InputError(.invalidValue, at: path.appending(key), message)
    }

    private func wrongType(_ key: String, _ expected: String, _ found: JSONValue) -> InputError {
        InputError(.wrongType, at: path.appending(key), "expected \(expected), found \(Self.describe(found))")
    }

    /// A value as an exact integer, if it is one.
    public static func integer(_ value: JSONValue) -> Int? {
        guard case .number(let number) = value, number == number.rounded(), abs(number) < 9.007_199_254_740_992e15
        else { return nil }
        return Int(number)
    }

    /// What an integer member expects, naming the range when `value` is a whole number beyond it.
    private static func expectedInteger(_ value: JSONValue) -> String {
        guard case .number(let number) = value, number == number.rounded() else { return "an integer" }
        return "an integer of magnitude below 2^53"
    }

    /// A short description of a value for messages: its type, and the value itself when it is short.
    public static func describe(_ value: JSONValue) -> String {
        switch value {
        case .number(let number): "the number \(JSONWriter.formatNumber(number))"
        case .string(let text) where text.count <= 40: "the string \"\(text)\""
        case .bool(let flag): flag ? "true" : "false"
        default: value.typeName
        }
    }
}

extension JSONValue {
    /// Parses a document, turning a syntax error into an `InputError` with its line and column.
    public static func parseDocument(_ bytes: [UInt8], document: String?) throws(InputError) -> JSONValue {
        do {
            return try JSONParser.parse(bytes)
        } catch {
            throw InputError(.malformedJSON, at: .root, error.description, document: document)
        }
    }
}
