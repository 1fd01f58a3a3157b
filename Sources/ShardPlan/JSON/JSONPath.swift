/// Where a value sits inside a JSON document, written the way a person would look for it:
/// `ops[17] "h3.qkv".equation`, `device.peak_tflops.bf16`, `stages[0].zero_stages["embed.table"]`.
public struct JSONPath: Sendable, Hashable, CustomStringConvertible {
    /// One step into a document.
    public enum Component: Sendable, Hashable {
        /// A member of an object.
        case key(String)
        /// An element of an array; `label` names it (an op's name) when it has one.
        case index(Int, label: String?)
    }

    public var components: [Component]

    public init(_ components: [Component] = []) { self.components = components }

    /// The document's top level.
    public static let root = JSONPath()

    /// The path of member `key` under this path.
    public func appending(_ key: String) -> JSONPath { JSONPath(components + [.key(key)]) }

    /// The path of element `index` under this path, optionally labelled with the element's name.
    public func appending(index: Int, label: String? = nil) -> JSONPath {
        JSONPath(components + [.index(index, label: label)])
    }

    /// This path with the last array index labelled (used once an element's name is known).
    public func labelled(_ label: String) -> JSONPath {
        guard case .index(let index, _)? = components.last else { return self }
        return JSONPath(components.dropLast() + [.index(index, label: label)])
    }

    public var description: String {
        if components.isEmpty { return "(top level)" }
        var text = ""
        for component in components {
            switch component {
            case .key(let key) where Self.isPlainKey(key):
                if !text.isEmpty { text += "." }
                text += key
            case .key(let key):
                // A key that would read as more than one step (a parameter named `embed.table`) is bracketed
                // and quoted as a JSON string: `zero_stages["embed.table"]`.
                text += "[" + JSONWriter.compact(.string(key)) + "]"
            case .index(let index, let label):
                text += "[\(index)]"
                // Quoted as a JSON string, so a name holding quotes still reads unambiguously.
                if let label { text += " " + JSONWriter.compact(.string(label)) }
            }
        }
        return text
    }

    /// Whether `key` reads unambiguously after a dot: letters, digits, `_` and `-` only.
    private static func isPlainKey(_ key: String) -> Bool {
        !key.isEmpty && key.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_" || $0 == "-") }
    }
}
