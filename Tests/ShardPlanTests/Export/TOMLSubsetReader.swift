/// A reader of the TOML that torchtitan job configs use (TOML 1.0, https://toml.io/en/v1.0.0): comments,
/// `[table]` headers (dotted names too), `key = value` with bare keys, and values that are basic strings, integers, booleans or
/// arrays of them (nested, across lines, with a trailing comma). Anything else (floats, dates, inline tables,
/// dotted keys, literal strings) is an error rather than a guess, and so is a key given twice.
struct TOMLSubsetReader {
    indirect enum Value: Equatable {
        case string(String), integer(Int), boolean(Bool), array([Value])

        var stringValue: String? { if case .string(let s) = self { s } else { nil } }
    }

    /// Keys by table ("" for keys before the first header).
    private(set) var tables: [String: [String: Value]] = [:]
    private let text: [Character]
    private var position = 0
    private var line = 1

    init(_ source: String) throws {
        text = Array(source)
        var table = ""
        tables[table] = [:]
        while true {
            skipBlank(newlines: true)
            guard let character = peek else { break }
            if character == "[" {
                advance()
                // A table name is dotted bare keys: [quantize.linear.float8].
                table = try bareKey()
                while peek == "." {
                    advance()
                    table += "." + (try bareKey())
                }
                guard peek == "]" else { throw error("expected ] after the table name") }
                advance()
                guard tables[table] == nil else { throw error("table [\(table)] is defined twice") }
                tables[table] = [:]
            } else {
                let key = try bareKey()
                skipBlank(newlines: false)
                guard peek == "=" else { throw error("expected = after \(key)") }
                advance()
                skipBlank(newlines: false)
                let value = try self.value()
                guard tables[table]![key] == nil else { throw error("\(key) is set twice in [\(table)]") }
                tables[table]![key] = value
            }
            skipBlank(newlines: false)
            guard peek == nil || peek == "\n" else { throw error("unexpected text after a value") }
        }
    }

    private var peek: Character? { position < text.count ? text[position] : nil }

    private mutating func advance() {
        if text[position] == "\n" { line += 1 }
        position += 1
    }

    private func error(_ message: String) -> ReadBackError { ReadBackError("TOML line \(line): \(message)") }

    /// Skips spaces, tabs and comments, and newlines too when `newlines`.
    private mutating func skipBlank(newlines: Bool) {
        while let character = peek {
            if character == " " || character == "\t" || (newlines && (character == "\n" || character == "\r")) {
                advance()
            } else if character == "#" {
                while let next = peek, next != "\n" { advance() }
            } else {
                return
            }
        }
    }

    private mutating func bareKey() throws -> String {
        var key = ""
        while let character = peek, character.isLetter || character.isNumber || character == "_" || character == "-" {
            key.append(character)
            advance()
        }
        guard !key.isEmpty else { throw error("expected a bare key") }
        return key
    }

    private mutating func value() throws -> Value {
        switch peek {
        case "\"":
            advance()
            var string = ""
            while let character = peek, character != "\"" {
                guard character != "\n" else { throw error("unterminated string") }
                advance()
                if character == "\\" {
                    guard let escaped = peek else { throw error("unterminated string") }
                    advance()
                    switch escaped {
                    case "\"", "\\": string.append(escaped)
                    case "n": string.append("\n")
                    case "t": string.append("\t")
                    default: throw error("unsupported escape \\\(escaped)")
                    }
                } else {
                    string.append(character)
                }
            }
            guard peek == "\"" else { throw error("unterminated string") }
            advance()
            return .string(string)
        case "[":
            advance()
            var elements: [Value] = []
            while true {
                skipBlank(newlines: true)
                if peek == "]" { advance(); return .array(elements) }
                elements.append(try value())
                skipBlank(newlines: true)
                if peek == "," { advance(); continue }
                guard peek == "]" else { throw error("expected , or ] in an array") }
                advance()
                return .array(elements)
            }
        default:
            var word = ""
            while let character = peek, character.isLetter || character.isNumber || character == "-" || character == "+" || character == "." {
                word.append(character)
                advance()
            }
            if word == "true" { return .boolean(true) }
            if word == "false" { return .boolean(false) }
            if let number = Int(word) { return .integer(number) }
            throw error("unsupported value \"\(word)\"")
        }
    }
}
