extension ModelCatalog {
    /// Tiny graphs for tests and examples: SPEC §1's two-layer MLP and two-layer GPT and Llama models that
    /// build and plan in milliseconds.
    static let examples: [Entry] = [
        Entry(id: "mlp-2", description: "SPEC section 1's example: x [1024, 4096] through a 4096-16384-4096 GELU MLP, mean loss",
              publishedParameterCount: nil, source: "SPEC.md section 1") { () throws(InputError) -> Graph in
            try twoLayerPerceptron()
        },
        Entry(id: "gpt-tiny", description: "A 2-layer GPT: hidden 64, 4 heads, vocabulary 256, 32 tokens, batch 8",
              publishedParameterCount: nil, source: "test model",
              transformer: .gpt(layers: 2, hidden: 64, heads: 4, vocabulary: 256, sequenceLength: 32, globalBatch: 8)),
        Entry(id: "llama-tiny", description: "A 2-layer Llama: hidden 64, 4 query / 2 key-value heads, SwiGLU 176, vocabulary 256, 32 tokens, batch 8",
              publishedParameterCount: nil, source: "test model",
              transformer: .llama(layers: 2, hidden: 64, heads: 4, keyValueHeads: 2, feedForwardHidden: 176,
                                  vocabulary: 256, sequenceLength: 32, globalBatch: 8)),
    ]

    /// Exactly the graph of SPEC §1's example document.
    private static func twoLayerPerceptron() throws(InputError) -> Graph {
        var graph = GraphBuilder(name: "mlp-2")
        let x = try graph.input("x", [1024, 4096], .bf16)
        let w1 = try graph.parameter("w1", [4096, 16384])
        let w2 = try graph.parameter("w2", [16384, 4096])
        graph.currentLayer = "mlp"
        let h = try graph.einsum("h", "bd,df->bf", x, w1)
        graph.currentLayer = nil
        let a = try graph.unary("a", .gelu, h)
        let y = try graph.einsum("y", "bf,fd->bd", a, w2)
        let loss = try graph.add("loss", .reduce(.mean, axes: [0, 1], keepDimensions: false), [y])
        graph.output(loss)
        return try graph.build()
    }
}
