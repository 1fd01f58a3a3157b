import Testing
@testable import ShardPlan

@Suite("Graph.rebatched(to:) changes the global batch along every dimension that carries it, and nothing else")
struct GraphRebatchingTests {
    @Test("a catalog transformer rebatched is the graph its builder makes at that batch, op for op",
          arguments: [("gpt-tiny", 12), ("gpt-tiny", 3), ("llama-tiny", 2), ("llama-tiny", 24), ("moe-tiny", 5), ("moe-gshard", 64)])
    func catalogTransformer(_ id: String, _ batch: Int) throws {
        let entry = try #require(ModelCatalog.model(id: id))
        var configuration = try #require(entry.transformer)
        configuration.globalBatch = batch
        let expected = try TransformerBuilder(name: id, configuration: configuration).build()
        let rebatched = try entry.build().rebatched(to: batch)
        #expect(rebatched.batchSize == batch)
        #expect(rebatched.jsonText == expected.jsonText, "\(id) at batch \(batch) differs from its builder's graph")
    }

    @Test("Wide-ResNet's images, labels, convolutions, pools and batch norms follow the batch")
    func wideResNet() throws {
        let builder = WideResNetBuilder(name: "wrn", blocksPerStage: [1, 1, 1, 1], imageSize: 32, classes: 10, globalBatch: 16)
        var smaller = builder
        smaller.globalBatch = 6
        #expect(try builder.build().rebatched(to: 6).jsonText == smaller.build().jsonText)
    }

    @Test("gpt-tiny at 3 sequences: hand-checked shapes; weights and the position table keep theirs")
    func gptTinyShapes() throws {
        let graph = try #require(ModelCatalog.model(id: "gpt-tiny")).build().rebatched(to: 3)
        func shape(_ name: String) -> [Int]? { graph.value(named: name).map { graph[$0].type.shape } }
        #expect(shape("tokens") == [3, 32])
        #expect(shape("labels") == [3, 32])
        #expect(shape("embed") == [3, 32, 64])
        #expect(shape("embed.position_table") == [32, 64])
        #expect(shape("h0.attn.qkv") == [3, 32, 3, 4, 16])
        #expect(shape("h0.attn.q") == [3, 32, 4, 16])
        #expect(shape("h0.attn.qkv.w") == [64, 3, 4, 16])
        #expect(shape("h1.mlp.up") == [3, 32, 256])
        let q = try #require(graph.value(named: "h0.attn.q"))
        #expect(graph.producer(of: q)?.op == .reshape(shape: [3, 32, 4, 16]))
        #expect(graph[graph.outputs[0]].type.shape == [])
    }

    @Test("llama-tiny at 5 sequences: the rotary table [32, 8, 2, 2] keeps its 8 frequency pairs though the old batch was 8")
    func llamaTinyShapes() throws {
        let graph = try #require(ModelCatalog.model(id: "llama-tiny")).build().rebatched(to: 5)
        func shape(_ name: String) -> [Int]? { graph.value(named: name).map { graph[$0].type.shape } }
        #expect(shape("tokens") == [5, 32])
        #expect(shape("h0.attn.rotary") == [32, 8, 2, 2])
        #expect(shape("h0.attn.q.pairs") == [5, 32, 4, 8, 2])
        #expect(shape("h0.attn.k.pairs") == [5, 32, 2, 8, 2])
        #expect(shape("h0.attn.k.rope") == [5, 32, 2, 16])
    }

    @Test("FLOPs scale by new / old batch; FLOPs per sample and parameters do not change",
          arguments: [("gpt-tiny", 16), ("llama-tiny", 3), ("mlp-2", 96)])
    func flopsScale(_ id: String, _ batch: Int) throws {
        let graph = try #require(ModelCatalog.model(id: id)).build()
        let before = GraphAnalysis(graph), after = GraphAnalysis(try graph.rebatched(to: batch))
        let ratio = Double(batch) / Double(before.batchSize)
        #expect(abs(after.forwardFLOPs / (before.forwardFLOPs * ratio) - 1) < 1e-12, "forward FLOPs \(before.forwardFLOPs) -> \(after.forwardFLOPs)")
        #expect(abs(after.trainingFLOPs / (before.trainingFLOPs * ratio) - 1) < 1e-12)
        #expect(after.forwardFLOPsPerSample == before.forwardFLOPsPerSample)
        #expect(after.parameterCount == before.parameterCount)
    }

    @Test("a reshape that merges the batch with the sequence as its outer factor rescales: [4, 6, 8] -> [24, 8] at 5 is [30, 8], and back")
    func mergedBatch() throws {
        var builder = GraphBuilder(name: "merge")
        let x = try builder.input("x", [4, 6, 8], .f32)
        let flat = try builder.add("flat", .reshape(shape: [24, 8]), [x])
        let back = try builder.add("back", .reshape(shape: [4, 6, 8]), [try builder.unary("act", .relu, flat)])
        builder.output(try builder.add("loss", .reduce(.mean, axes: [0, 1, 2], keepDimensions: false), [back]))
        let graph = try builder.build().rebatched(to: 5)
        #expect(graph[flat].type.shape == [30, 8])
        #expect(graph[back].type.shape == [5, 6, 8])
    }

    @Test("a broadcast and an iota that meet the batch only downstream grow with it (found backwards from the add)")
    func broadcastAndIotaMeetingTheBatch() throws {
        var builder = GraphBuilder(name: "positions")
        let x = try builder.input("x", [4, 16], .f32)
        let table = try builder.parameter("table", [16], .f32)
        let spread = try builder.add("spread", .broadcast(shape: [4, 16], dimensions: [1]), [table])
        let ramp = try builder.add("ramp", .iota(shape: [4, 16], dimension: 1, dtype: .f32), [])
        let scaled = try builder.unary("ramp.exp", .exp, ramp)
        let sum = try builder.add("sum", .binary(.add), [try builder.add("with.spread", .binary(.add), [x, spread]), scaled])
        builder.output(try builder.add("loss", .reduce(.sum, axes: [0, 1], keepDimensions: false), [sum]))
        let graph = try builder.build().rebatched(to: 6)
        #expect(graph[spread].type.shape == [6, 16])
        #expect(graph[ramp].type.shape == [6, 16])
        #expect(graph[scaled].type.shape == [6, 16])
        #expect(graph[table].type.shape == [16])
    }

    @Test("the same batch returns the graph unchanged")
    func sameBatch() throws {
        let graph = try #require(ModelCatalog.model(id: "gpt-tiny")).build()
        #expect(try graph.rebatched(to: 8) == graph)
    }

    /// A graph `x [4, 6, 8]` through `body`, then a mean.
    private static func refusal(_ batch: Int = 5, input: [Int] = [4, 6, 8],
                                _ body: (inout GraphBuilder, ValueID) throws -> ValueID) throws -> InputError? {
        var builder = GraphBuilder(name: "t")
        let x = try builder.input("x", input, .f32)
        let y = try body(&builder, x)
        let rank = builder.type(of: y).rank
        builder.output(try builder.add("loss", .reduce(.mean, axes: Array(0..<rank), keepDimensions: false), [y]))
        let graph = try builder.build()
        do {
            _ = try graph.rebatched(to: batch)
            return nil
        } catch {
            return error
        }
    }

    @Test("a reshape that makes the batch the inner factor ([6, 4, 8] -> [24, 8] with batch_dim 1) is refused at the reshape")
    func innerBatch() throws {
        var builder = GraphBuilder(name: "t")
        let x = try builder.input("x", [6, 4, 8], .f32, batchDimension: 1)
        builder.output(try builder.add("flat", .reshape(shape: [24, 8]), [x]))
        let error = #expect(throws: InputError.self) { try builder.build().rebatched(to: 5) }
        #expect(error?.path.description == #"ops[0] "flat""#, "\(String(describing: error))")
        #expect(error?.message.hasPrefix("cannot change the global batch from 4 to 5: reshape holds dimension 1 of \"x\"") == true,
                "\(String(describing: error))")
    }

    @Test("a reshape that splits the batch of 4 over two dimensions ([4, 6] -> [2, 12]) is refused at the reshape")
    func splitBatch() throws {
        let error = try Self.refusal(input: [4, 6]) { builder, x in try builder.add("split", .reshape(shape: [2, 12]), [x]) }
        #expect(error?.path.description == #"ops[0] "split""#, "\(String(describing: error))")
        #expect(error?.message.contains("size is not a multiple of 4") == true, "\(String(describing: error))")
    }

    @Test("a slice or a concatenation along the batch is refused at that op")
    func sliceAndConcat() throws {
        let slice = try Self.refusal { builder, x in try builder.add("half", .slice(axis: 0, start: 0, end: 2), [x]) }
        #expect(slice?.path.description == #"ops[0] "half""#, "\(String(describing: slice))")
        let concat = try Self.refusal { builder, x in try builder.add("twice", .concat(axis: 0), [x, x]) }
        #expect(concat?.path.description == #"ops[0] "twice""#, "\(String(describing: concat))")
        #expect(slice?.message.contains("slice cuts dimension 0 of \"x\"") == true, "\(String(describing: slice))")
        #expect(concat?.message.contains("concat joins tensors along dimension 0 of \"x\"") == true, "\(String(describing: concat))")
    }

    @Test("a parameter combined with the batch along its dimension is refused at the op that combines them")
    func parameterAlongTheBatch() throws {
        let error = try Self.refusal { builder, x in
            let bias = try builder.parameter("per.sample", [4, 6, 8], .f32)
            return try builder.add("biased", .binary(.add), [x, bias])
        }
        #expect(error?.path.description == #"ops[0] "biased""#, "\(String(describing: error))")
        #expect(error?.message.contains("parameter \"per.sample\"") == true, "\(String(describing: error))")
    }

    @Test("a batch of 1 that a reshape drops cannot be followed, and says so")
    func batchOfOne() throws {
        let error = try Self.refusal(8, input: [1, 6, 8]) { builder, x in try builder.add("squeeze", .reshape(shape: [6, 8]), [x]) }
        #expect(error?.path.description == #"ops[0] "squeeze""#, "\(String(describing: error))")
        #expect(error?.message.contains("a batch of 1") == true, "\(String(describing: error))")
    }

    @Test("a graph refused at several ops names the first in graph order: gpt-tiny at batch 1, whose every attention reshape drops the batch")
    func firstRefusalInGraphOrder() throws {
        var configuration = try #require(ModelCatalog.model(id: "gpt-tiny")?.transformer)
        configuration.globalBatch = 1
        let graph = try TransformerBuilder(name: "gpt-tiny", configuration: configuration).build()
        let error = #expect(throws: InputError.self) { try graph.rebatched(to: 8) }
        // The first reshape of the graph, the first layer's query heads (last in, first out, the work list named the last layer's value heads).
        #expect(graph.operations.firstIndex { if case .reshape = $0.op { true } else { false } } == 7)
        #expect(error?.path.description == #"ops[7] "h0.attn.q""#, "\(String(describing: error))")
        #expect(error?.message.contains("a batch of 1") == true, "\(String(describing: error))")
    }

    @Test("a size that would grow past 2^53 is refused at its tensor, before the multiplication overflows")
    func sizeOverflow() throws {
        // c [8 x 2^20] comes before the reshape that ties it to the batch, so no earlier shape bounds its growth.
        var builder = GraphBuilder(name: "wide")
        let x = try builder.input("x", [8, 1], .f32)
        let c = try builder.add("c", .constant(shape: [8 << 20], dtype: .f32, value: 0), [])
        let wide = try builder.add("wide", .broadcast(shape: [8, 1 << 20], dimensions: [0, 1]), [x])
        let flat = try builder.add("flat", .reshape(shape: [8 << 20]), [wide])
        let sum = try builder.add("sum", .binary(.add), [flat, c])
        builder.output(try builder.add("loss", .reduce(.mean, axes: [0], keepDimensions: false), [sum]))
        let graph = try builder.build()
        #expect(try graph.rebatched(to: 16)[c].type.shape == [16 << 20])
        let error = #expect(throws: InputError.self) { try graph.rebatched(to: 1 << 50) }
        #expect(error?.path.description == #"ops[0] "c""#, "\(String(describing: error))")
        #expect(error?.message.contains("would hold 1048576 x 1125899906842624 elements, more than 2^53") == true, "\(String(describing: error))")
    }

    @Test("a graph without inputs has no batch to set; a batch below 1 is refused")
    func noBatch() throws {
        var builder = GraphBuilder(name: "weights-only")
        let w = try builder.parameter("w", [4, 4])
        builder.output(try builder.add("loss", .reduce(.sum, axes: [0, 1], keepDimensions: false), [w]))
        let error = #expect(throws: InputError.self) { try builder.build().rebatched(to: 4) }
        #expect(error?.description == "inputs: cannot set the global batch to 4: the graph has no inputs, so no batch_dim to set")
        let gpt = try #require(ModelCatalog.model(id: "gpt-tiny")).build()
        #expect(throws: InputError.self) { try gpt.rebatched(to: 0) }
    }
}
