import Testing
@testable import ShardPlan

@Suite("JSON reader, paths and objects")
struct JSONReaderTests {
    private let path = JSONPath.root.appending("ops").appending(index: 3, label: "h")
    private var reader: JSONReader {
        get throws {
            try JSONReader(["n": 3.0, "x": 3.5, "s": "text", "list": [1, "two"], "b": true, "null": nil], at: path)
        }
    }

    @Test("paths read the way a person looks for the value")
    func pathText() {
        #expect(JSONPath.root.description == "(top level)")
        #expect(JSONPath.root.appending("ops").appending(index: 17, label: "h3.qkv").appending("equation").description
                == #"ops[17] "h3.qkv".equation"#)
        #expect(JSONPath.root.appending("device").appending("peak_tflops").appending("bf16").description
                == "device.peak_tflops.bf16")
        #expect(JSONPath.root.appending("ops").appending(index: 2).labelled(#"a"b"#).description == #"ops[2] "a\"b""#)
        // A key that would read as several steps, or as none, is bracketed and quoted.
        #expect(JSONPath.root.appending("stages").appending(index: 0).appending("zero_stages").appending("embed.table").description
                == #"stages[0].zero_stages["embed.table"]"#)
        #expect(JSONPath.root.appending("shardings").appending("a[0] b").appending("x").description == #"shardings["a[0] b"].x"#)
        #expect(JSONPath.root.appending("").description == #"[""]"#)
        #expect(JSONPath([.key("--micro-batch-size")]).description == "--micro-batch-size")
    }

    @Test("integers accept whole numbers only and name the path of a wrong value")
    func integers() throws {
        #expect(try reader.int("n") == 3)
        let fraction = #expect(throws: InputError.self) { try reader.int("x") }
        #expect(fraction?.kind == .wrongType)
        #expect(fraction?.description == #"ops[3] "h".x: expected an integer, found the number 3.5"#)
        let element = #expect(throws: InputError.self) { try reader.ints("list") }
        #expect(element?.description == #"ops[3] "h".list[1]: expected an integer, found the string "two""#)
        #expect(JSONReader.integer(.number(1e300)) == nil)
        let huge = #expect(throws: InputError.self) { try JSONReader(["n": 1e20], at: .root).int("n") }
        #expect(huge?.description == "n: expected an integer of magnitude below 2^53, found the number 1e+20")
    }

    @Test("a missing or null member is absent for optional reads and an error for required ones")
    func optionals() throws {
        #expect(try reader.optionalInt("null") == nil)
        #expect(try reader.optionalString("absent") == nil)
        #expect(try reader.optionalBool("b") == true)
        let missing = #expect(throws: InputError.self) { try reader.string("null") }
        #expect(missing?.kind == .missingField)
        #expect(missing?.description == #"ops[3] "h": missing required member "null""#)
        let wrong = #expect(throws: InputError.self) { try reader.bool("s") }
        #expect(wrong?.description == #"ops[3] "h".s: expected true or false, found the string "text""#)
    }

    @Test("a reader only opens objects")
    func notAnObject() {
        let error = #expect(throws: InputError.self) { try JSONReader([1, 2], at: .root, what: "a graph object") }
        #expect(error?.description == "expected a graph object, found an array")
    }

    @Test("objects keep insertion order; removing a member keeps the others findable")
    func objectOrder() {
        var object = JSONObject([("a", 1), ("b", 2), ("c", 3)])
        object["b"] = nil
        #expect(object.keys == ["a", "c"])
        #expect(object["c"] == 3)
        object["b"] = 4
        object["a"] = 5
        #expect(object.keys == ["a", "c", "b"])
        #expect(object["a"] == 5 && object["b"] == 4)
        #expect(JSONObject([("a", 1), ("b", 2)]) != JSONObject([("b", 2), ("a", 1)]))
    }

    @Test("an object with many members parses quickly enough to check for duplicates")
    func manyMembers() throws {
        let text = "{" + (0..<20_000).map { "\"k\($0)\": \($0)" }.joined(separator: ",") + "}"
        guard case .object(let object) = try JSONParser.parse(text) else { Issue.record("expected an object"); return }
        #expect(object.members.count == 20_000)
        #expect(object["k19999"] == 19_999)
    }
}
