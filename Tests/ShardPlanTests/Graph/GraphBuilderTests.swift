import Testing
@testable import ShardPlan

@Suite("GraphBuilder checks what a graph built in code gets wrong")
struct GraphBuilderTests {
    @Test("batch_dim may count from the end and is stored non-negative")
    func negativeBatchDimension() throws {
        var builder = GraphBuilder(name: "t")
        let x = try builder.input("x", [16, 8], .f32, batchDimension: -1)
        let graph = try builder.build(adding: x)
        #expect(graph.batchSize == 8)
        #expect(graph[x].origin == .input(batchDimension: 1))
    }

    @Test("every input carries the same global batch along its batch_dim")
    func batchAgreement() throws {
        var builder = GraphBuilder(name: "t")
        try builder.input("tokens", [8, 128], .i32)
        try builder.input("images", [3, 32, 32, 8], .f32, batchDimension: 3)
        let error = #expect(throws: InputError.self) { try builder.input("mask", [128, 128], .bool) }
        #expect(error?.kind == .shapeMismatch)
        #expect(error?.path == JSONPath.root.appending("inputs").appending(index: 2, label: "mask").appending("shape"))
        #expect(throws: InputError.self) { try builder.input("scalar", [], .f32) }
    }

    @Test("ids from another builder are reported, not trapped on")
    func foreignIDs() throws {
        var builder = GraphBuilder(name: "t")
        let x = try builder.input("x", [4], .f32)
        let error = #expect(throws: InputError.self) { try builder.unary("y", .exp, ValueID(7)) }
        #expect(error?.kind == .undefinedName)
        #expect(error?.description.hasPrefix(#"ops[0] "y".inputs[0]"#) == true)
        try builder.unary("y", .exp, x)
        builder.output(ValueID(42))
        #expect(throws: InputError.self) { try builder.build() }
    }

    @Test("a result with more than 2^53 elements is an error, not an overflow")
    func hugeResult() throws {
        var builder = GraphBuilder(name: "t")
        let a = try builder.input("a", [1 << 30], .f32)
        let b = try builder.parameter("b", [1 << 30], .f32)
        let error = #expect(throws: InputError.self) { try builder.einsum("outer", "i,j->ij", a, b) }
        #expect(error?.kind == .invalidValue)
        #expect(error?.message.contains("2^53") == true)
        let reshape = #expect(throws: InputError.self) {
            try builder.add("wide", .reshape(shape: [1 << 40, 1 << 40]), [a])
        }
        #expect(reshape?.kind == .shapeMismatch)
        #expect(reshape?.message.contains("more than 2^53 elements") == true)
    }

    /// Every tensor may hold 2^53 elements, but 128 such tensors of 8-byte elements overflowed the sums of parameter
    /// bytes (a trap in `GraphAnalysis`); the graph's total is capped where the tensor that passes it is named.
    @Test("tensors of more than 2^58 bytes together are an error at the tensor that passes the total")
    func hugeTotal() throws {
        var builder = GraphBuilder(name: "t")
        _ = try builder.input("x", [8, 8], .f32)
        // 2^53 one-byte elements each: the 32nd parameter reaches 2^58 bytes with the input's 256 over it.
        for index in 0 ..< 31 { _ = try builder.parameter("w\(index)", [1 << 26, 1 << 27], .bool) }
        let error = #expect(throws: InputError.self) { try builder.parameter("w31", [1 << 26, 1 << 27], .bool) }
        #expect(error?.kind == .invalidValue)
        #expect(error?.path == JSONPath.root.appending("parameters").appending(index: 31, label: "w31"))
        #expect(error?.message.contains("2^58 bytes") == true)
    }

    @Test("a bad equation in the einsum shorthand points at the op's equation")
    func einsumShorthandPath() throws {
        var builder = GraphBuilder(name: "t")
        let x = try builder.input("x", [4, 8], .f32)
        let error = #expect(throws: InputError.self) { try builder.einsum("h", "ab->abc", x) }
        #expect(error?.kind == .invalidEinsum)
        #expect(error?.description.hasPrefix(#"ops[0] "h".equation: einsum: bad equation 'ab->abc'"#) == true)
    }

    @Test("names are unique across inputs, parameters and ops, and not empty")
    func uniqueNames() throws {
        var builder = GraphBuilder(name: "t")
        let x = try builder.input("x", [4], .f32)
        let duplicate = #expect(throws: InputError.self) { try builder.parameter("x", [4], .f32) }
        #expect(duplicate?.kind == .duplicateName)
        #expect(duplicate?.message == #"the name "x" is already used by an input"#)
        #expect(throws: InputError.self) { try builder.unary("", .exp, x) }
    }

    @Test("a graph needs an op and an output")
    func emptyGraph() throws {
        var builder = GraphBuilder(name: "t")
        let x = try builder.input("x", [4], .f32)
        #expect(throws: InputError.self) { try builder.build() }
        try builder.unary("y", .exp, x)
        let error = #expect(throws: InputError.self) { try builder.build() }
        #expect(error?.kind == .missingField)
    }
}

private extension GraphBuilder {
    /// The graph with one more op reading `id`, marked as the output, so that `build` has what it needs.
    func build(adding id: ValueID) throws -> Graph {
        var copy = self
        copy.output(try copy.unary("probe.output", .identity, id))
        return try copy.build()
    }
}
