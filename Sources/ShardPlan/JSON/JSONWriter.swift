/// Renders a `JSONValue` as text that is both valid JSON and pleasant to read and diff.
///
/// Containers nested deeper than `inlineDepth` are written on one line; shallower ones too when they fit in
/// `lineWidth` characters. Output is deterministic: the same value always gives the same bytes.
public struct JSONWriter: Sendable {
    /// Containers at this depth or deeper are always written on one line (the top level is depth 0).
    public var inlineDepth: Int
    /// Shallower containers are written on one line when their compact form is at most this long.
    public var lineWidth: Int

    public init(inlineDepth: Int = 2, lineWidth: Int = 100) {
        self.inlineDepth = inlineDepth
        self.lineWidth = lineWidth
    }

    /// The text of `value`, ending with a newline.
    public func render(_ value: JSONValue) -> String {
        var output = ""
        write(value, depth: 0, indent: "", into: &output)
        output += "\n"
        return output
    }

    /// The compact one-line text of `value`.
    public static func compact(_ value: JSONValue) -> String {
        var output = ""
        writeCompact(value, into: &output)
        return output
    }

    private func write(_ value: JSONValue, depth: Int, indent: String, into output: inout String) {
        switch value {
        case .array(let elements) where !elements.isEmpty:
            if depth >= inlineDepth || (depth > 0 && fits(value)) { Self.writeCompact(value, into: &output); return }
            let inner = indent + "  "
            output += "[\n"
            for (offset, element) in elements.enumerated() {
                output += inner
                write(element, depth: depth + 1, indent: inner, into: &output)
                output += offset == elements.count - 1 ? "\n" : ",\n"
            }
            output += indent + "]"
        case .object(let object) where !object.members.isEmpty:
            if depth >= inlineDepth || (depth > 0 && fits(value)) { Self.writeCompact(value, into: &output); return }
            let inner = indent + "  "
            output += "{\n"
            for (offset, member) in object.members.enumerated() {
                output += inner
                Self.writeString(member.key, into: &output)
                output += ": "
                write(member.value, depth: depth + 1, indent: inner, into: &output)
                output += offset == object.members.count - 1 ? "\n" : ",\n"
            }
            output += indent + "}"
        default:
            Self.writeCompact(value, into: &output)
        }
    }

    private func fits(_ value: JSONValue) -> Bool {
        Self.compact(value).count <= lineWidth
    }

    private static func writeCompact(_ value: JSONValue, into output: inout String) {
        switch value {
        case .null: output += "null"
        case .bool(let flag): output += flag ? "true" : "false"
        case .number(let number): output += formatNumber(number)
        case .string(let text): writeString(text, into: &output)
        case .array(let elements):
            output += "["
            for (offset, element) in elements.enumerated() {
                if offset > 0 { output += ", " }
                writeCompact(element, into: &output)
            }
            output += "]"
        case .object(let object):
            output += "{"
            for (offset, member) in object.members.enumerated() {
                if offset > 0 { output += ", " }
                writeString(member.key, into: &output)
                output += ": "
                writeCompact(member.value, into: &output)
            }
            output += "}"
        }
    }

    /// Integers print without a fraction; other numbers in Swift's shortest round-trip form.
    /// JSON has no NaN or infinity; they print as `null`.
    static func formatNumber(_ number: Double) -> String {
        guard number.isFinite else { return "null" }
        if number == number.rounded(), abs(number) < 9.007_199_254_740_992e15 { return String(Int64(number)) }
        return "\(number)"
    }

    private static func writeString(_ text: String, into output: inout String) {
        output += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                output += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: output.unicodeScalars.append(scalar)
            }
        }
        output += "\""
    }
}
