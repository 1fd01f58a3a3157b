import Testing
@testable import ShardPlan

/// Collectives an op needs of its own when a coupled index is split, and the loss's reduction, on a [2, 2]
/// mesh (axis 0 "x", axis 1 "y"); the counts are those of the JAX check's HLO (Docs/jax.md).
@Suite("Coupled statistics and the loss")
struct CoupledStatisticsCostTests {
    let kernels = KernelModel(peakFLOPs: [.f32: 100e12], memoryBandwidth: 1e12, multiprocessors: 100,
                              bestMatmulEfficiency: 1, memoryEfficiency: 0.5, launchSeconds: 10e-6)

    func cost(of name: String, in graph: Graph, _ axes: [String?]) throws -> OperatorCost {
        let index = try #require(graph.operations.firstIndex { $0.name == name })
        let space = graph.operations[index].indexSpace
        let strategy = OpStrategy(indexOfAxis: try axes.map { try $0.map { try #require(space.position(of: $0)) } })
        return OperatorCostModel(graph: graph, kernels: kernels, meshShape: [2, 2], microbatches: 1).cost(index, strategy)
    }

    @Test("softmax of [8, 4, 16, 32] scores with keys split by y: rows [8, 4, 16] are 2,048 bytes; max and sum forward (4,096), one sum backward (2,048)")
    func softmaxOverSplitKeys() throws {
        var builder = GraphBuilder(name: "scores")
        let scores = try builder.input("scores", [8, 4, 16, 32], .f32)
        let w = try builder.parameter("w", [32, 32], .f32)
        let mixed = try builder.einsum("mixed", "bhqk,kl->bhql", scores, w)
        builder.output(try builder.add("probs", .softmax(axis: 3), [mixed]))
        let cost = try cost(of: "probs", in: try builder.build(), [nil, "d3"])
        #expect(cost.forwardCollectives == [Collective(.allReduce, axes: [1], bytes: 4096)])
        #expect(cost.backwardCollectives == [Collective(.allReduce, axes: [1], bytes: 2048)])
    }

    @Test("cross-entropy of [8, 32, 256] logits, vocabulary split by x and batch by y: rows [4, 32] are 512 bytes; three statistics forward, one backward, and the 4-byte loss all-reduced over y")
    func vocabularyParallelCrossEntropy() throws {
        var builder = GraphBuilder(name: "head")
        let hidden = try builder.input("hidden", [8, 32, 64], .f32)
        let w = try builder.parameter("w", [64, 256], .f32)
        let logits = try builder.einsum("logits", "bsd,dv->bsv", hidden, w)
        let labels = try builder.input("labels", [8, 32], .i32)
        builder.output(try builder.add("loss", .crossEntropy, [logits, labels]))
        let cost = try cost(of: "loss", in: try builder.build(), ["class", "d0"])
        #expect(cost.forwardCollectives == [Collective(.allReduce, axes: [0], bytes: 1536), Collective(.allReduce, axes: [1], bytes: 4)])
        #expect(cost.backwardCollectives == [Collective(.allReduce, axes: [0], bytes: 512)])
    }

    @Test("layer norm over a split axis keeps two statistics each way")
    func layerNormOverSplitAxis() throws {
        var builder = GraphBuilder(name: "norm")
        let x = try builder.input("x", [8, 32, 64], .f32)
        let w = try builder.parameter("w", [64, 64], .f32)
        let h = try builder.einsum("h", "bsd,de->bse", x, w)
        let g = try builder.parameter("g", [64], .f32), b = try builder.parameter("b", [64], .f32)
        builder.output(try builder.layerNorm("norm", h, scale: g, shift: b))
        // Rows [8, 32] = 1,024 bytes a statistic.
        let cost = try cost(of: "norm", in: try builder.build(), [nil, "d2"])
        #expect(cost.forwardCollectives == [Collective(.allReduce, axes: [1], bytes: 2048)])
        #expect(cost.backwardCollectives == [Collective(.allReduce, axes: [1], bytes: 2048)])
    }
}
