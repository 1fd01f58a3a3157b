import Testing
@testable import ShardPlan

@Suite("graph documents decode, and encode back to equal graphs")
struct GraphRoundTripTests {
    @Test("the SPEC's example decodes with the shapes the SPEC implies")
    func specExample() throws {
        let graph = try Graph(jsonBytes: try GraphFixture.specMLP.bytes)
        #expect(graph.name == "mlp-2")
        #expect(graph.batchSize == 1024)
        #expect(graph.operations.map(\.name) == ["h", "a", "y", "loss"])
        #expect(graph.operations.map(\.layer) == ["mlp", nil, nil, nil])
        #expect(graph[graph.value(named: "h")!].type == TensorType([1024, 16384], .bf16))
        #expect(graph[graph.outputs[0]].type == TensorType([], .bf16))
        #expect(graph.operations[0].indexSpace.names(withRole: .summed) == ["d"])
    }

    @Test("the every-op fixture uses each op of the catalog")
    func everyOpCoversCatalog() throws {
        let graph = try Graph(jsonBytes: try GraphFixture.everyOp.bytes)
        #expect(Set(graph.operations.map(\.op.kindName)) == Set(Operator.catalogNames))
        #expect(graph[graph.value(named: "loss")!].type == TensorType([], .f32))
        #expect(graph[graph.value(named: "att")!].type == TensorType([4, 16, 4, 8], .bf16))
        #expect(graph[graph.value(named: "avgpool")!].type == TensorType([4, 8, 3, 3], .f32))
    }

    @Test("attributes are stored normalised: negative axes, a -1 size, single-number windows")
    func normalisedAttributes() throws {
        let graph = try Graph(jsonBytes: try GraphFixture.everyOp.bytes)
        func op(_ name: String) -> Operator? { graph.producer(of: graph.value(named: name)!)?.op }
        #expect(op("v") == .slice(axis: 2, start: 6, end: 8))
        #expect(op("qkv.heads") == .reshape(shape: [4, 16, 8, 8]))
        #expect(op("row.sum") == .reduce(.sum, axes: [2], keepDimensions: true))
        #expect(op("ln") == .layerNorm(axes: [2]))
        #expect(op("conv") == .conv2d(stride: [1, 1], padding: [1, 1], groups: 1))
        #expect(op("pool") == .pool2d(.max, window: [2, 2], stride: [2, 2], padding: [0, 0]))
    }

    @Test("decode, encode, decode gives an equal graph and the same text", arguments: GraphFixture.allCases)
    func roundTrip(_ fixture: GraphFixture) throws {
        let graph = try Graph(jsonBytes: try fixture.bytes)
        let text = graph.jsonText
        let again = try Graph(jsonBytes: Array(text.utf8))
        #expect(again == graph)
        #expect(again.jsonText == text)
    }

    @Test("a graph built in code round-trips through JSON")
    func builtGraphRoundTrips() throws {
        var builder = GraphBuilder(name: "built")
        let x = try builder.input("x", [8, 16], .bf16)
        let w = try builder.parameter("w", [16, 32])
        builder.currentLayer = "mlp"
        let h = try builder.einsum("h", "bd,df->bf", x, w)
        let a = try builder.unary("a", .gelu, h)
        let loss = try builder.add("loss", .reduce(.mean, axes: [-1, 0], keepDimensions: false), [a])
        builder.output(loss)
        let graph = try builder.build()
        let decoded = try Graph(jsonBytes: Array(graph.jsonText.utf8))
        #expect(decoded == graph)
        #expect(decoded.operations.allSatisfy { $0.layer == "mlp" })
    }

    @Test("the encoded text starts with the format and writes one op per line")
    func encodedLayout() throws {
        let graph = try Graph(jsonBytes: try GraphFixture.everyOp.bytes)
        let lines = graph.jsonText.split(separator: "\n")
        #expect(lines[1] == #"  "format": "shardplan.graph/1","#)
        #expect(lines.filter { $0.hasPrefix(#"    {"name": ""#) }.count == graph.values.count)
    }
}
