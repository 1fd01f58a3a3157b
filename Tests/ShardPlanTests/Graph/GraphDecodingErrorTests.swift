import Testing
@testable import ShardPlan

/// One broken graph document and what its error must say.
struct BrokenGraph: Sendable, CustomTestStringConvertible {
    var testDescription: String
    var text: String
    var kind: InputError.Kind
    /// Text the error's description must contain: the JSON path (with the op's name), the op kind, the
    /// shapes involved.
    var fragments: [String]

    init(_ label: String, _ document: GraphDocumentText, _ kind: InputError.Kind, _ fragments: [String]) {
        self.init(label, text: document.text, kind, fragments)
    }

    init(_ label: String, text: String, _ kind: InputError.Kind, _ fragments: [String]) {
        testDescription = label
        self.text = text
        self.kind = kind
        self.fragments = fragments
    }
}

@Suite("graph documents with mistakes are reported, never crashed on")
struct GraphDecodingErrorTests {
    private static let gelu = #"{"name": "h", "op": "gelu", "inputs": ["x"]}"#
    private static let projection = #"{"name": "y", "op": "einsum", "equation": "bd,df->bf", "inputs": ["h", "w"]}"#
    private static let valid = GraphDocumentText(ops: gelu, projection)

    /// The valid document with its second op (`ops[1] "y"`) replaced.
    private static func secondOp(_ op: String) -> GraphDocumentText { GraphDocumentText(ops: gelu, op) }

    static let cases: [BrokenGraph] = [
        BrokenGraph("malformed JSON names line and column", text: "{\"format\": \"shardplan.graph/1\",\n  \"ops\": [1, 2,]}",
                    .malformedJSON, ["malformed JSON at line 2, column 16", "expected a value"]),
        BrokenGraph("a duplicate JSON member", text: #"{"format": "shardplan.graph/1", "format": "x"}"#,
                    .malformedJSON, ["line 1, column 33", "duplicate member name \"format\""]),
        BrokenGraph("an unknown format", valid.with { $0.format = #""shardplan.graph/2""# },
                    .unsupportedFormat, ["format: ", "\"shardplan.graph/2\"", "\"shardplan.graph/1\""]),
        BrokenGraph("a missing format", valid.with { $0.format = nil }, .unsupportedFormat, ["missing \"format\""]),
        BrokenGraph("a top level that is not an object", text: "[1, 2]", .wrongType, ["expected a graph object, found an array"]),
        BrokenGraph("an unknown op lists the catalog", secondOp(#"{"name": "y", "op": "gelu2", "inputs": ["h"]}"#),
                    .unknownOperator, [#"ops[1] "y".op"#, "\"gelu2\"", "einsum, matmul, identity", "conv2d, pool2d"]),
        BrokenGraph("an op without a name", secondOp(#"{"op": "gelu", "inputs": ["h"]}"#),
                    .missingField, ["ops[1]", "missing required member \"name\""]),
        BrokenGraph("an op name that is not a string", secondOp(#"{"name": 7, "op": "gelu", "inputs": ["h"]}"#),
                    .wrongType, ["ops[1].name", "expected a string, found the number 7"]),
        BrokenGraph("an op reusing an input's name", secondOp(#"{"name": "x", "op": "gelu", "inputs": ["h"]}"#),
                    .duplicateName, [#"ops[1] "x".name"#, "already used by an input"]),
        BrokenGraph("a forward reference",
                    GraphDocumentText(ops: #"{"name": "a", "op": "gelu", "inputs": ["h"]}"#, gelu, projection),
                    .undefinedName, [#"ops[0] "a".inputs[0]"#, "\"h\"", "later op", "topological order"]),
        BrokenGraph("an op reading its own result", secondOp(#"{"name": "y", "op": "gelu", "inputs": ["y"]}"#),
                    .undefinedName, [#"ops[1] "y".inputs[0]"#, "cannot read its own result"]),
        BrokenGraph("an undefined input", secondOp(#"{"name": "y", "op": "add", "inputs": ["h", "z"]}"#),
                    .undefinedName, [#"ops[1] "y".inputs[1]"#, "\"z\"", "no input, parameter or op has that name"]),
        BrokenGraph("an undefined output", valid.with { $0.outputs = #"["y", "q"]"# },
                    .undefinedName, ["outputs[1]", "\"q\""]),
        BrokenGraph("missing outputs", valid.with { $0.outputs = nil }, .missingField, ["missing required member \"outputs\""]),
        BrokenGraph("an empty graph name", text: valid.text.replacingOccurrences(of: #""name": "probe""#, with: #""name": """#),
                    .invalidValue, ["name", "a graph's name must not be empty"]),
        BrokenGraph("a parameter's trainable that is not a boolean",
                    valid.with { $0.parameters = #"[{"name": "w", "shape": [16, 32], "dtype": "bf16", "trainable": "no"}]"# },
                    .wrongType, [#"parameters[0] "w".trainable"#, "expected true or false"]),
        BrokenGraph("no ops", GraphDocumentText(ops: []).with { $0.outputs = #"["x"]"# }, .missingField, ["ops", "no ops"]),
        BrokenGraph("einsum operands of the wrong sizes",
                    valid.with { $0.parameters = #"[{"name": "w", "shape": [15, 32], "dtype": "bf16"}]"# },
                    .shapeMismatch, [#"ops[1] "y""#, "einsum", "index 'd' has size 16", "15",
                                     #""h" bf16[8, 16]"#, #""w" bf16[15, 32]"#]),
        BrokenGraph("matmul with mismatched inner sizes",
                    secondOp(#"{"name": "y", "op": "matmul", "inputs": ["w", "h"]}"#),
                    .shapeMismatch, [#"ops[1] "y""#, "matmul", "index 'k'", "bf16[16, 32]", "bf16[8, 16]"]),
        BrokenGraph("add of shapes that do not broadcast", secondOp(#"{"name": "y", "op": "add", "inputs": ["h", "w"]}"#),
                    .shapeMismatch, [#"ops[1] "y""#, "add cannot broadcast", "bf16[8, 16] with bf16[16, 32]"]),
        BrokenGraph("layer_norm gamma of the wrong size",
                    GraphDocumentText(ops: #"{"name": "y", "op": "layer_norm", "axis": -1, "inputs": ["x", "g", "g"]}"#)
                        .with { $0.parameters = #"[{"name": "g", "shape": [32], "dtype": "bf16"}]"# },
                    .shapeMismatch, [#"ops[0] "y""#, "layer_norm", "gamma", "[16]", "bf16[32]"]),
        BrokenGraph("attention heads that do not group",
                    GraphDocumentText(ops: #"{"name": "y", "op": "attention", "inputs": ["q", "k", "k"]}"#).with {
                        $0.inputs = #"[{"name": "q", "shape": [2, 4, 6, 8], "dtype": "bf16"}, {"name": "k", "shape": [2, 4, 4, 8], "dtype": "bf16"}]"#
                        $0.parameters = "[]"
                    },
                    .shapeMismatch, [#"ops[0] "y""#, "attention", "query heads (6)", "key/value heads (4)"]),
        BrokenGraph("concat of unequal sizes", secondOp(#"{"name": "y", "op": "concat", "axis": 0, "inputs": ["h", "w"]}"#),
                    .shapeMismatch, [#"ops[1] "y""#, "concat along axis 0", "bf16[8, 16], bf16[16, 32]"]),
        BrokenGraph("reshape to another element count", secondOp(#"{"name": "y", "op": "reshape", "shape": [8, 15], "inputs": ["h"]}"#),
                    .shapeMismatch, [#"ops[1] "y""#, "reshape", "128 elements", "120 elements"]),
        BrokenGraph("cross_entropy labels of the wrong shape",
                    secondOp(#"{"name": "y", "op": "cross_entropy", "inputs": ["h", "t"]}"#).with {
                        $0.inputs = #"[{"name": "x", "shape": [8, 16], "dtype": "bf16"}, {"name": "t", "shape": [8, 2], "dtype": "i32"}]"#
                    },
                    .shapeMismatch, [#"ops[1] "y""#, "cross_entropy", "labels", "i32[8, 2]"]),
        BrokenGraph("add of bf16 and f32",
                    secondOp(#"{"name": "y", "op": "add", "inputs": ["h", "b"]}"#).with {
                        $0.parameters = #"[{"name": "b", "shape": [16], "dtype": "f32"}]"#
                    },
                    .dtypeMismatch, [#"ops[1] "y""#, "add", "bf16[8, 16] and f32[16]", "insert a cast"]),
        BrokenGraph("embedding with float ids", GraphDocumentText(ops: #"{"name": "y", "op": "embedding", "inputs": ["x", "w"]}"#),
                    .dtypeMismatch, [#"ops[0] "y""#, "embedding ids must be integers", "bf16[8, 16]"]),
        BrokenGraph("where with a float condition", secondOp(#"{"name": "y", "op": "where", "inputs": ["h", "h", "x"]}"#),
                    .dtypeMismatch, [#"ops[1] "y""#, "where", "condition must be bool"]),
        BrokenGraph("an einsum equation with a stray character",
                    secondOp(#"{"name": "y", "op": "einsum", "equation": "bd,df->b-f", "inputs": ["h", "w"]}"#),
                    .invalidEinsum, [#"ops[1] "y".equation"#, "einsum", "invalid character '-'"]),
        BrokenGraph("an einsum with too few terms",
                    secondOp(#"{"name": "y", "op": "einsum", "equation": "bd->b", "inputs": ["h", "w"]}"#),
                    .invalidEinsum, [#"ops[1] "y""#, "einsum", "1 operand term", "2 inputs"]),
        BrokenGraph("an einsum result label found in no operand",
                    secondOp(#"{"name": "y", "op": "einsum", "equation": "bd,df->bz", "inputs": ["h", "w"]}"#),
                    .invalidEinsum, [#"ops[1] "y".equation"#, "'z' appears in no operand"]),
        BrokenGraph("an einsum term of the wrong rank",
                    secondOp(#"{"name": "y", "op": "einsum", "equation": "bcd,df->bf", "inputs": ["h", "w"]}"#),
                    .invalidEinsum, [#"ops[1] "y""#, "term 'bcd' has 3 labels", "bf16[8, 16]"]),
        BrokenGraph("a zero dimension in an input", valid.with { $0.inputs = #"[{"name": "x", "shape": [0, 16], "dtype": "bf16"}]"# },
                    .invalidValue, [#"inputs[0] "x".shape[0]"#, "size 0", "positive"]),
        BrokenGraph("a negative dimension in a parameter",
                    valid.with { $0.parameters = #"[{"name": "w", "shape": [16, -32], "dtype": "bf16"}]"# },
                    .invalidValue, [#"parameters[0] "w".shape[1]"#, "size -32"]),
        BrokenGraph("a zero dimension in a reshape", secondOp(#"{"name": "y", "op": "reshape", "shape": [0, 128], "inputs": ["h"]}"#),
                    .invalidValue, [#"ops[1] "y""#, "reshape target [0, 128]", "not positive"]),
        BrokenGraph("a reshape with two -1s", secondOp(#"{"name": "y", "op": "reshape", "shape": [-1, -1], "inputs": ["h"]}"#),
                    .invalidValue, [#"ops[1] "y""#, "at most one size can be inferred"]),
        BrokenGraph("a tensor of more than 2^53 elements",
                    valid.with { $0.inputs = #"[{"name": "x", "shape": [4194304, 4194304, 4194304], "dtype": "bf16"}]"# },
                    .invalidValue, [#"inputs[0] "x".shape"#, "2^53"]),
        BrokenGraph("a dropout rate of 1.5", secondOp(#"{"name": "y", "op": "dropout", "rate": 1.5, "inputs": ["h"]}"#),
                    .invalidValue, [#"ops[1] "y""#, "dropout rate must be in [0, 1), found 1.5"]),
        BrokenGraph("a transpose that is no permutation", secondOp(#"{"name": "y", "op": "transpose", "perm": [0, 0], "inputs": ["h"]}"#),
                    .invalidValue, [#"ops[1] "y""#, "transpose perm [0, 0] is not a permutation"]),
        BrokenGraph("a slice past the end",
                    secondOp(#"{"name": "y", "op": "slice", "axis": 1, "start": 4, "end": 20, "inputs": ["h"]}"#),
                    .invalidValue, [#"ops[1] "y""#, "slice [4, 20)", "size 16"]),
        BrokenGraph("an axis out of range", secondOp(#"{"name": "y", "op": "softmax", "axis": 2, "inputs": ["h"]}"#),
                    .invalidValue, [#"ops[1] "y""#, "softmax axis 2 is out of range for rank 2"]),
        BrokenGraph("an op with too many inputs", secondOp(#"{"name": "y", "op": "gelu", "inputs": ["h", "x"]}"#),
                    .invalidValue, [#"ops[1] "y""#, "gelu takes 1 input, found 2"]),
        BrokenGraph("an unknown dtype", valid.with { $0.inputs = #"[{"name": "x", "shape": [8, 16], "dtype": "bfloat16"}]"# },
                    .invalidValue, [#"inputs[0] "x".dtype"#, "unknown dtype \"bfloat16\"", "bf16"]),
        BrokenGraph("a scalar input, whose default batch_dim 0 it lacks: the shape is at fault",
                    valid.with { $0.inputs = #"[{"name": "x", "shape": [], "dtype": "bf16"}]"# },
                    .invalidValue, [#"inputs[0] "x".shape: "#, "a scalar has no batch dimension"]),
        BrokenGraph("a batch_dim out of range",
                    valid.with { $0.inputs = #"[{"name": "x", "shape": [8, 16], "dtype": "bf16", "batch_dim": 2}]"# },
                    .invalidValue, [#"inputs[0] "x".batch_dim"#, "batch_dim 2 is out of range"]),
        BrokenGraph("inputs that disagree on the global batch",
                    valid.with { $0.inputs = #"[{"name": "x", "shape": [8, 16], "dtype": "bf16"}, {"name": "t", "shape": [4], "dtype": "i32"}]"# },
                    .shapeMismatch, [#"inputs[1] "t".shape"#, "4 samples", "\"x\" has 8"]),
        BrokenGraph("a shape written as a string", valid.with { $0.inputs = #"[{"name": "x", "shape": "8x16", "dtype": "bf16"}]"# },
                    .wrongType, [#"inputs[0] "x".shape"#, "expected an array of integers, found the string \"8x16\""]),
        BrokenGraph("a fractional dimension", valid.with { $0.inputs = #"[{"name": "x", "shape": [8.5, 16], "dtype": "bf16"}]"# },
                    .wrongType, [#"inputs[0] "x".shape[0]"#, "expected an integer, found the number 8.5"]),
        BrokenGraph("op inputs that are not an array", secondOp(#"{"name": "y", "op": "gelu", "inputs": "h"}"#),
                    .wrongType, [#"ops[1] "y".inputs"#, "expected an array of strings"]),
        BrokenGraph("a missing attribute", secondOp(#"{"name": "y", "op": "reduce", "kind": "sum", "inputs": ["h"]}"#),
                    .missingField, [#"ops[1] "y""#, "missing required member \"axes\""]),
        BrokenGraph("a declared shape that disagrees with inference",
                    secondOp(#"{"name": "y", "op": "einsum", "equation": "bd,df->bf", "inputs": ["h", "w"], "shape": [8, 33]}"#),
                    .shapeMismatch, [#"ops[1] "y".shape"#, "[8, 33]", "einsum of its inputs gives [8, 32]"]),
        BrokenGraph("a declared dtype that disagrees with inference",
                    secondOp(#"{"name": "y", "op": "einsum", "equation": "bd,df->bf", "inputs": ["h", "w"], "dtype": "f32"}"#),
                    .dtypeMismatch, [#"ops[1] "y".dtype"#, "states dtype f32", "gives bf16"]),
    ]

    @Test("each mistake has its kind, path and explanation", arguments: cases)
    func reportsMistake(_ broken: BrokenGraph) throws {
        let error = #expect(throws: InputError.self) { try Graph(jsonBytes: Array(broken.text.utf8)) }
        #expect(error?.kind == broken.kind)
        let description = error?.description ?? ""
        for fragment in broken.fragments {
            #expect(description.contains(fragment), "\"\(description)\" should contain \"\(fragment)\"")
        }
    }

    @Test("there are at least 30 distinct mistakes covered")
    func coverage() {
        #expect(Self.cases.count >= 30)
        #expect(Set(Self.cases.map(\.testDescription)).count == Self.cases.count)
    }

    @Test("an error names the document it came from")
    func documentName() {
        let error = #expect(throws: InputError.self) {
            try Graph(jsonBytes: Array(Self.secondOp(#"{"name": "y", "op": "gelu2", "inputs": ["h"]}"#).text.utf8),
                      document: "model.json")
        }
        #expect(error?.description.hasPrefix(#"model.json: ops[1] "y".op: unknown op"#) == true)
        let malformed = #expect(throws: InputError.self) { try Graph(jsonBytes: Array("{".utf8), document: "model.json") }
        #expect(malformed?.description.hasPrefix("model.json: malformed JSON at line 1, column 2") == true)
    }

    @Test("the valid document these mistakes start from decodes")
    func baseIsValid() throws {
        let graph = try Graph(jsonBytes: Array(Self.valid.text.utf8))
        #expect(graph.operations.map(\.name) == ["h", "y"])
        #expect(graph[graph.outputs[0]].type == TensorType([8, 32], .bf16))
    }
}
