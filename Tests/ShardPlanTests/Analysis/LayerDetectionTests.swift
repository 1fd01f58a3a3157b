import Testing
@testable import ShardPlan

@Suite("layer detection")
struct LayerDetectionTests {
    @Test("without hints, three identical blocks are found as three layers between a prologue and an epilogue")
    func repeatedBlocks() throws {
        let analysis = GraphAnalysis(try TinyGPT().graph())
        #expect(analysis.layers.map(\.name) == ["prologue", "layer0", "layer1", "layer2", "epilogue"])
        #expect(analysis.layers.map(\.operations) == [0..<2, 2..<18, 18..<34, 34..<50, 50..<53])
        #expect(analysis.layers.map(\.structureKey) == [0, 1, 1, 1, 2])
        let block = analysis.layers[1]
        #expect(block.origin == .repeatedBlock)
        // Two norms' scale and shift, four h x h projections, the 4h-wide MLP.
        #expect(block.parameterCount == 4 * 32 + 4 * 32 * 32 + 2 * 4 * 32 * 32)
        #expect(analysis.layers(identicalTo: block).map(\.name) == ["layer0", "layer1", "layer2"])
    }

    @Test("with hints, layers are the hinted runs, and identical ones share a structure key")
    func hintedLayers() throws {
        let analysis = GraphAnalysis(try TinyGPT(hinted: true).graph())
        #expect(analysis.layers.map(\.name) == ["prologue", "h0", "h1", "h2", "epilogue"])
        #expect(analysis.layers.map(\.origin) == [.remainder, .hint, .hint, .hint, .remainder])
        #expect(analysis.layers.map(\.structureKey) == [0, 1, 1, 1, 2])
    }

    @Test("SPEC's mlp-2 hints one op: the unhinted ops after it form the epilogue")
    func partialHints() throws {
        let analysis = GraphAnalysis(try FLOPCountTests.mlp2())
        #expect(analysis.layers.map(\.name) == ["mlp", "epilogue"])
        #expect(analysis.layers.map(\.operations) == [0..<1, 1..<4])
    }

    @Test("a graph without repeated structure is one group")
    func nothingRepeats() throws {
        var builder = GraphBuilder(name: "single")
        let x = try builder.input("x", [4, 8], .f32)
        let h = try builder.einsum("h", "ij,jk->ik", x, try builder.parameter("w", [8, 16], .f32))
        builder.output(try builder.unary("r", .relu, h))
        let analysis = GraphAnalysis(try builder.build())
        #expect(analysis.layers.map(\.name) == ["graph"])
        #expect(analysis.layers.map(\.operations) == [0..<2])
    }

    @Test("blocks that all read one tensor from the prologue are still identical")
    func sharedPrologueTensor() throws {
        var builder = GraphBuilder(name: "shared")
        let x = try builder.input("x", [4, 8], .f32)
        let table = try builder.add("table", .constant(shape: [4, 8], dtype: .f32, value: 0.5), [])
        var h = try builder.unary("start", .tanh, x)
        for layer in 0..<4 {
            let rotated = try builder.binary("rot\(layer)", .mul, h, table)
            let projected = try builder.einsum("proj\(layer)", "ij,jk->ik", rotated, try builder.parameter("w\(layer)", [8, 8], .f32))
            h = try builder.unary("act\(layer)", .tanh, projected)
        }
        builder.output(h)
        let analysis = GraphAnalysis(try builder.build())
        #expect(analysis.layers.map(\.name) == ["prologue", "layer0", "layer1", "layer2", "layer3"])
        // The first block's input carries no gradient (nothing trained lies below it), so it computes no input
        // gradient and is priced apart; the other three are one structure.
        let keys = analysis.layers.dropFirst().map(\.structureKey)
        #expect(Set(keys.dropFirst()).count == 1 && keys[0] != keys[1])
    }

    @Test("runs of different blocks are found one after another, longest first (a ResNet's stages)")
    func stages() throws {
        var builder = GraphBuilder(name: "stages")
        var h = try builder.unary("embed", .tanh, try builder.input("x", [4, 8], .f32))
        for (stage, width, blocks) in [(0, 8, 3), (1, 16, 4)] {
            if stage == 1 {
                h = try builder.einsum("widen", "ij,jk->ik", h, try builder.parameter("widen.w", [8, 16], .f32))
                h = try builder.unary("widen.act", .relu, h)
            }
            for block in 0..<blocks {
                let name = "s\(stage).b\(block)"
                h = try builder.einsum(name, "ij,jk->ik", h, try builder.parameter(name + ".w", [width, width], .f32))
                h = try builder.unary(name + ".act", .relu, h)
            }
        }
        builder.output(h)
        let analysis = GraphAnalysis(try builder.build())
        #expect(analysis.layers.map(\.name) == ["prologue", "layer0", "layer1", "layer2", "after layer2",
                                                "layer3", "layer4", "layer5", "layer6"])
        #expect(analysis.layers.map(\.operations.lowerBound) == [0, 1, 3, 5, 7, 9, 11, 13, 15])
        #expect(analysis.layers.map(\.structureKey) == [0, 1, 1, 1, 2, 3, 3, 3, 3])
    }

    @Test("the longest run wins; a block made of two identical halves is reported at its finest period")
    func finestPeriod() throws {
        let analysis = GraphAnalysis(try Self.perceptronStack(embedded: true))
        #expect(analysis.layers.map(\.name) == ["prologue"] + (0..<6).map { "layer\($0)" })
        #expect(analysis.layers.dropFirst().allSatisfy { $0.operations.count == 2 })
    }

    @Test("when blocks could start at several ops, the first block starts at an op that reads a weight")
    func blocksStartAtWeights() throws {
        // The first projection reads the graph input, not an op result, so it is no copy of the others.
        let analysis = GraphAnalysis(try Self.perceptronStack(embedded: false))
        #expect(analysis.layers.map(\.operations) == [0..<2, 2..<4, 4..<6, 6..<8, 8..<10, 10..<12])
        #expect(analysis.layers.dropFirst().allSatisfy { analysis.graph.operations[$0.operations.lowerBound].op.isContraction })
    }

    /// Six projection + relu pairs, after a tanh of the input when `embedded`.
    static func perceptronStack(embedded: Bool) throws -> Graph {
        var builder = GraphBuilder(name: "perceptrons")
        var h = try builder.input("x", [4, 8], .f32)
        if embedded { h = try builder.unary("embed", .tanh, h) }
        for index in 0..<6 {
            h = try builder.einsum("p\(index)", "ij,jk->ik", h, try builder.parameter("w\(index)", [8, 8], .f32))
            h = try builder.unary("a\(index)", .relu, h)
        }
        builder.output(h)
        return try builder.build()
    }
}
