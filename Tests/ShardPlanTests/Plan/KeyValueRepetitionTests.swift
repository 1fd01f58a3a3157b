import Testing
@testable import ShardPlan

/// Grouped-query attention whose k and v are repeated to every query head before the attention op counts its
/// key/value heads before the repetition (`KeyValueRepetition`, `AttentionHeads`).
@Suite("Key/value head repetition")
struct KeyValueRepetitionTests {
    /// Attention of 8 query heads over k and v `[2, 6, kv, 4]` repeated as `repeat`'s lowering writes them, from
    /// PyTorch's `[batch, heads, seq, head_dim]`: `split` (a size-1 axis), a broadcast growing it to `shape`, the copy
    /// (an `identity`) and a reshape merging to 8 heads, then the transpose to the catalog's layout.
    func attention(keyValue: [Int], split: [Int], grown: [Int]) throws -> Graph {
        var g = GraphBuilder(name: "repeated")
        let q = try g.input("q", [2, 6, 8, 4], .f32)
        var kv: [ValueID] = []
        for name in ["k", "v"] {
            let x = try g.input(name, keyValue, .f32)
            let single = try g.reshape("\(name).split", x, split)
            let expanded = try g.add("\(name).expanded", .broadcast(shape: grown, dimensions: Array(grown.indices)), [single])
            let copy = try g.unary("\(name).copy", .identity, expanded)
            let heads = try g.reshape("\(name).heads", copy, [2, 8, 6, 4])
            kv.append(try g.add("\(name).t", .transpose(permutation: [0, 2, 1, 3]), [heads]))
        }
        g.output(try g.add("attention", .attention(causal: true), [q, kv[0], kv[1]]))
        return try g.build()
    }

    @Test("repeat_interleave and repeat_kv (each of 2 heads copied 4 times in a row) count 2 key/value heads; a tiling counts 8")
    func seesThroughGroupedCopies() throws {
        // repeat_interleave(4, dim=1) of [2, 2, 6, 4]: [2, 2, 1, 6, 4] grown to [2, 2, 4, 6, 4], merged to 8 heads;
        // query head h reads key/value head h / 4: 2 key/value heads.
        let interleaved = try attention(keyValue: [2, 2, 6, 4], split: [2, 2, 1, 6, 4], grown: [2, 2, 4, 6, 4])
        #expect(AttentionHeads.all(in: interleaved) == [AttentionHeads(query: 8, keyValue: 2)])
        // repeat(1, 4, 1, 1) tiles: [2, 1, 2, 6, 4] grown to [2, 4, 2, 6, 4]; query head h reads h mod 2, so no
        // group of consecutive query heads shares one: left at the 8 heads the attention reads.
        let tiled = try attention(keyValue: [2, 2, 6, 4], split: [2, 1, 2, 6, 4], grown: [2, 4, 2, 6, 4])
        #expect(AttentionHeads.all(in: tiled) == [AttentionHeads(query: 8, keyValue: 8)])
        // One key/value head expanded to all 8 (multi-query attention): 1.
        let shared = try attention(keyValue: [2, 1, 6, 4], split: [2, 1, 1, 6, 4], grown: [2, 1, 8, 6, 4])
        #expect(AttentionHeads.all(in: shared) == [AttentionHeads(query: 8, keyValue: 1)])
    }

    @Test("torchtitan's repeat_kv graph (4 query heads, 2 key/value heads) refuses tp = 4 as enable_gqa's does")
    func builderRepeatKeyValue() throws {
        var configuration = TransformerConfiguration.llama(layers: 1, hidden: 32, heads: 4, keyValueHeads: 2,
                                                           feedForwardHidden: 64, vocabulary: 256, sequenceLength: 16,
                                                           globalBatch: 2)
        configuration.repeatsKeyValueHeads = true
        let repeated = try TransformerBuilder(name: "llama", configuration: configuration).build()
        configuration.repeatsKeyValueHeads = false
        let grouped = try TransformerBuilder(name: "llama", configuration: configuration).build()
        let attention = try #require(repeated.operations.first { $0.name == "h0.attn" })
        #expect(repeated[attention.inputs[1]].type.shape[2] == 4, "the kernel reads 4 repeated heads")
        #expect(AttentionHeads.all(in: repeated) == [AttentionHeads(query: 4, keyValue: 2)])
        #expect(AttentionHeads.all(in: repeated) == AttentionHeads.all(in: grouped))
        let problem = MegatronConfiguration.headSplitProblem(tensorParallel: 4, heads: AttentionHeads.all(in: repeated))
        #expect(problem?.contains("tp = 4 does not divide the model's 2 key/value heads") == true)
        #expect(MegatronConfiguration.headSplitProblem(tensorParallel: 2, heads: AttentionHeads.all(in: repeated)) == nil)
    }

    @Test("a reshape's output axes map to the input axes between the places where both shapes' leading products agree")
    func mergedAxes() {
        // [2, 2, 4, 6, 4] to [2, 8, 6, 4]: output axis 1 (8) is input axes 1 and 2 (2 x 4).
        #expect(KeyValueRepetition.mergedAxes([1], from: [2, 2, 4, 6, 4], to: [2, 8, 6, 4]) == [1, 2])
        // [2, 12] to [2, 3, 4]: output axis 1 (3) splits input axis 1 across its edge: none.
        #expect(KeyValueRepetition.mergedAxes([1], from: [2, 12], to: [2, 3, 4]) == nil)
        #expect(KeyValueRepetition.mergedAxes([1, 2], from: [2, 12], to: [2, 3, 4]) == [1])
    }
}
