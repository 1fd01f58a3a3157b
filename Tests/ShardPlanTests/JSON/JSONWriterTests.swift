import Testing
@testable import ShardPlan

@Suite("JSON writer")
struct JSONWriterTests {
    private let sample: JSONValue = [
        "format": "x/1",
        "items": [["name": "a", "shape": [1, 2]], ["name": "b", "shape": [3]]],
        "nested": ["deep": ["deeper": [1, [2, [3]]]]],
        "empty": ["list": [], "object": [:]],
    ]

    @Test("integers print without a fraction; other numbers in shortest round-trip form", arguments: [
        (3.0, "3"), (-0.0, "0"), (-17, "-17"), (0.1, "0.1"), (2.5e-7, "2.5e-07"), (1e20, "1e+20"),
        (9_007_199_254_740_991, "9007199254740991"), (Double.nan, "null"), (Double.infinity, "null"),
    ])
    func numbers(_ number: Double, _ text: String) {
        #expect(JSONWriter.compact(.number(number)) == text)
    }

    @Test("strings escape quotes, backslashes and control characters")
    func strings() throws {
        let text = "quote \" backslash \\ newline \n tab \t bell \u{07} é 😀"
        let written = JSONWriter.compact(.string(text))
        #expect(written == #""quote \" backslash \\ newline \n tab \t bell \u0007 é 😀""#)
        #expect(try JSONParser.parse(written) == .string(text))
    }

    @Test("the same value always renders the same bytes, keeping member order")
    func deterministic() {
        let writer = JSONWriter()
        #expect(writer.render(sample) == writer.render(sample))
        #expect(writer.render(sample).hasPrefix("{\n  \"format\": \"x/1\",\n  \"items\": "))
        #expect(writer.render(sample).hasSuffix("}\n"))
    }

    @Test("containers at inlineDepth or deeper are written on one line")
    func inlineDepth() {
        let value: JSONValue = ["rows": [["a": 1, "b": [1, 2]], ["a": 2, "b": [3]]]]
        let text = JSONWriter(inlineDepth: 2, lineWidth: 0).render(value)
        #expect(text == """
            {
              "rows": [
                {"a": 1, "b": [1, 2]},
                {"a": 2, "b": [3]}
              ]
            }

            """)
        let flatter = JSONWriter(inlineDepth: 1, lineWidth: 0).render(value)
        #expect(flatter == "{\n  \"rows\": [{\"a\": 1, \"b\": [1, 2]}, {\"a\": 2, \"b\": [3]}]\n}\n")
    }

    @Test("shallower containers stay on one line only when they fit the line width")
    func lineWidth() {
        let value: JSONValue = ["short": [1, 2], "long": .ints(Array(0..<40))]
        let text = JSONWriter(inlineDepth: 5, lineWidth: 20).render(value)
        #expect(text.contains("\"short\": [1, 2],\n"))
        #expect(text.contains("\"long\": [\n    0,\n    1,"))
    }

    @Test("empty containers, the top level and scalars")
    func edges() {
        #expect(JSONWriter().render([]) == "[]\n")
        #expect(JSONWriter().render([:]) == "{}\n")
        #expect(JSONWriter().render("a") == "\"a\"\n")
        #expect(JSONWriter().render(nil) == "null\n")
        // The top level is never inlined, however short.
        #expect(JSONWriter().render([1]) == "[\n  1\n]\n")
    }

    @Test("rendered text parses back to the same value")
    func roundTrip() throws {
        for writer in [JSONWriter(), JSONWriter(inlineDepth: 0), JSONWriter(inlineDepth: 9, lineWidth: 1)] {
            #expect(try JSONParser.parse(writer.render(sample)) == sample)
        }
        #expect(try JSONParser.parse(JSONWriter.compact(sample)) == sample)
    }
}
