import Testing
@testable import ShardPlan

@Suite("JSON parser")
struct JSONParserTests {
    private func syntaxError(_ text: String) -> JSONSyntaxError? {
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(text) }
    }

    @Test("all value types parse, and object members keep their order")
    func values() throws {
        let value = try JSONParser.parse(#"{"z": [1, 2.5, -3e2], "a": {"t": true, "f": false, "n": null}, "s": "x"}"#)
        let expected: JSONValue = ["z": [1, 2.5, -300], "a": ["t": true, "f": false, "n": nil], "s": "x"]
        #expect(value == expected)
        guard case .object(let object) = value else { Issue.record("expected an object"); return }
        #expect(object.keys == ["z", "a", "s"])
    }

    @Test("string escapes decode")
    func escapes() throws {
        #expect(try JSONParser.parse(#""a\"b\\c\/d\b\f\n\r\t""#) == .string("a\"b\\c/d\u{08}\u{0C}\n\r\t"))
    }

    @Test("unicode: \\u escapes, surrogate pairs and raw UTF-8")
    func unicode() throws {
        #expect(try JSONParser.parse(#""caf\u00e9""#) == .string("café"))
        #expect(try JSONParser.parse(#""\ud83d\ude00""#) == .string("😀"))
        #expect(try JSONParser.parse(#""\uD83D\uDE00 ok""#) == .string("😀 ok"))
        #expect(try JSONParser.parse("\"héllo → 世界\"") == .string("héllo → 世界"))
        #expect(syntaxError(#""\ud83d""#)?.message.contains("unpaired") == true)
        #expect(syntaxError(#""\ud83d\u0041""#)?.message.contains("surrogate") == true)
        #expect(syntaxError(#""\ude00""#) != nil)
        #expect(syntaxError(#""\u12g4""#)?.message.contains("hexadecimal") == true)
    }

    @Test("numbers follow RFC 8259", arguments: [
        ("0", 0.0), ("-0", -0.0), ("1.5", 1.5), ("-2e3", -2000), ("1E+2", 100), ("2.5e-1", 0.25),
        ("9007199254740993", 9_007_199_254_740_992), ("123456789", 123_456_789),
    ])
    func numbers(_ text: String, _ expected: Double) throws {
        #expect(try JSONParser.parse(text) == .number(expected))
    }

    @Test("malformed numbers are rejected", arguments: ["01", "1.", ".5", "+1", "1e", "-", "1e400", "NaN", "Infinity", "0x10"])
    func badNumbers(_ text: String) {
        #expect(syntaxError(text) != nil)
    }

    @Test("nesting up to 512 levels parses; deeper is an error, not a stack overflow")
    func nestingLimit() throws {
        let deepest = String(repeating: "[", count: 512) + String(repeating: "]", count: 512)
        #expect(throws: Never.self) { try JSONParser.parse(deepest) }
        let tooDeep = String(repeating: "[", count: 513) + String(repeating: "]", count: 513)
        #expect(syntaxError(tooDeep)?.message.contains("nesting deeper than 512") == true)
        let hostile = String(repeating: "{\"a\":", count: 100_000)
        #expect(syntaxError(hostile) != nil)
    }

    @Test("a duplicate member name is reported where the second one starts")
    func duplicateKeys() {
        let error = syntaxError("{\"a\": 1,\n \"a\": 2}")
        #expect(error?.message == "duplicate member name \"a\"")
        #expect(error?.line == 2)
        #expect(error?.column == 2)
    }

    @Test("anything after the document is an error", arguments: ["{} x", "[1] [2]", "1 2", "\"a\"\"b\"", "null,"])
    func trailingGarbage(_ text: String) {
        #expect(syntaxError(text)?.message.contains("after the end of the document") == true)
    }

    @Test("white space around the document and a byte order mark are fine")
    func whiteSpace() throws {
        #expect(try JSONParser.parse(" \n\t[1]\r\n ") == [1])
        #expect(try JSONParser.parse([0xEF, 0xBB, 0xBF] + Array("{}".utf8)) == .object(JSONObject()))
    }

    @Test("errors carry a 1-based line and a column counted in characters")
    func lineAndColumn() {
        let error = syntaxError("{\n  \"a\": [1,\n    2,,\n  ]\n}")
        #expect(error?.line == 3)
        #expect(error?.column == 7)
        // Two-byte and three-byte characters before the mistake count as one column each.
        let unicode = syntaxError("[\"é世\", x]")
        #expect(unicode?.line == 1)
        #expect(unicode?.column == 8)
    }

    @Test("incomplete and invalid documents", arguments: [
        ("", "unexpected end of input"), ("{", "expected a member name"), ("[1, 2", "end of input inside an array"),
        ("{\"a\" 1}", "expected ':'"), ("{\"a\": 1 \"b\": 2}", "expected ',' or '}'"), ("[1 2]", "expected ',' or ']'"),
        ("\"abc", "unterminated string"), ("tru", "expected 'true'"), ("nul", "expected 'null'"), ("[1,]", "expected a value"),
        ("{\"a\": 1,}", "expected a member name"), ("\"a\nb\"", "control character"), ("\"\\x\"", "invalid escape"),
        ("{'a': 1}", "expected a member name"), ("// comment\n{}", "expected a value"),
    ])
    func invalidDocuments(_ text: String, _ fragment: String) {
        let error = syntaxError(text)
        #expect(error?.message.contains(fragment) == true, "\(String(describing: error)) should mention \(fragment)")
    }

    @Test("an invalid escape is described, not quoted: a line break after a backslash keeps the message on one line")
    func invalidEscapeDescribed() {
        #expect(syntaxError("\"\\x\"")?.message == "invalid escape in a string: character 'x' after a backslash")
        #expect(syntaxError("\"\\\n\"")?.message == "invalid escape in a string: byte 0xa after a backslash")
        #expect(syntaxError("[\"\\\u{FF}\"]")?.message == "invalid escape in a string: byte 0xc3 after a backslash")
    }

    @Test("bytes that are not UTF-8 inside a string are refused, with or without escapes before them")
    func invalidUTF8() throws {
        for bytes: [UInt8] in [[0x22, 0x61, 0xFF, 0x22], [0x22, 0x5C, 0x6E, 0xC3, 0x22], [0x5B, 0x22, 0xED, 0xA0, 0x80, 0x22, 0x5D]] {
            let error = #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(bytes) }
            #expect(error?.message == "a string that is not valid UTF-8 ends here")
        }
        // Valid multi-byte UTF-8 still reads: "é" and an emoji.
        #expect(try JSONParser.parse([0x22, 0xC3, 0xA9, 0xF0, 0x9F, 0x98, 0x80, 0x22]) == .string("é😀"))
    }

    @Test("a syntax error becomes an InputError naming line and column")
    func inputError() {
        let error = #expect(throws: InputError.self) { try JSONValue.parseDocument(Array("[1,\n ]".utf8), document: "c.json") }
        #expect(error?.kind == .malformedJSON)
        #expect(error?.description == "c.json: malformed JSON at line 2, column 2: unexpected character ']', expected a value")
    }
}
