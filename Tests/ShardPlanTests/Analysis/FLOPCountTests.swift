import Testing
@testable import ShardPlan

@Suite("FLOP counts")
struct FLOPCountTests {
    /// SPEC section 1's example graph.
    static func mlp2() throws -> Graph { try Graph(jsonBytes: try GraphFixture.specMLP.bytes) }

    @Test("mlp-2: two matmuls at 2 FLOPs per multiply-add, gelu at 9 per element, the mean at 1 per element")
    func mlp2Forward() throws {
        let analysis = GraphAnalysis(try Self.mlp2())
        let matmul: Double = 2 * 1024 * 4096 * 16384
        let gelu: Double = 9 * 1024 * 16384
        let mean: Double = 1024 * 4096
        #expect(analysis.operations.map(\.forwardFLOPs) == [matmul, gelu, matmul, mean])
        #expect(analysis.forwardFLOPs == 275_033_096_192)
        #expect(analysis.batchSize == 1024)
        #expect(analysis.forwardFLOPsPerSample == 275_033_096_192 / 1024)
        let parameters = 2 * 4096 * 16384
        #expect(analysis.parameterCount == parameters)
        #expect(analysis.parameterBytes == 2 * parameters)
    }

    @Test("mlp-2 backward: the first matmul needs no gradient for its data input, so it costs 1x forward")
    func mlp2Backward() throws {
        let analysis = GraphAnalysis(try Self.mlp2())
        let matmul: Double = 2 * 1024 * 4096 * 16384
        let gelu: Double = 2 * 9 * 1024 * 16384
        let mean: Double = 1024 * 4096
        #expect(analysis.operations.map(\.backwardFLOPs) == [matmul, gelu, 2 * matmul, mean])
        #expect(analysis.backwardFLOPs == 412_623_044_608)
        #expect(analysis.trainingFLOPs == 275_033_096_192 + 412_623_044_608)
    }

    @Test("a contraction's backward pass is one contraction per operand that needs a gradient",
          arguments: [(true, false, 1.0), (false, true, 1.0), (true, true, 2.0), (false, false, 0.0)])
    func contractionBackward(firstIsParameter: Bool, secondIsParameter: Bool, multiple: Double) throws {
        var builder = GraphBuilder(name: "product")
        let a = firstIsParameter ? try builder.parameter("a", [8, 16]) : try builder.input("a", [8, 16], .bf16)
        let b = secondIsParameter ? try builder.parameter("b", [16, 8]) : try builder.input("b", [16, 8], .bf16, batchDimension: 1)
        builder.output(try builder.einsum("c", "ik,kj->ij", a, b))
        let analysis = GraphAnalysis(try builder.build())
        let forward: Double = 2 * 8 * 16 * 8
        #expect(analysis.forwardFLOPs == forward)
        #expect(analysis.backwardFLOPs == multiple * forward)
    }

    @Test("an einsum of three operands contracts pairwise from the left")
    func threeOperandEinsum() throws {
        var builder = GraphBuilder(name: "chain")
        let a = try builder.parameter("a", [2, 3])
        let b = try builder.parameter("b", [3, 5])
        let c = try builder.parameter("c", [5, 7])
        builder.output(try builder.einsum("abc", "ij,jk,kl->il", a, b, c))
        let analysis = GraphAnalysis(try builder.build())
        // (ij,jk->ik) over i, j, k, then (ik,kl->il) over i, k, l.
        let expected: Double = 2 * (2 * 3 * 5) + 2 * (2 * 5 * 7)
        #expect(analysis.forwardFLOPs == expected)
    }

    @Test("attention counts QK^T and AV dense, flags causal, and its backward pass is 2.5x")
    func attention() throws {
        var builder = GraphBuilder(name: "attention")
        let q = try builder.parameter("q", [2, 16, 8, 32])
        let kv = try builder.parameter("kv", [2, 16, 2, 32])
        builder.output(try builder.attention("o", q: q, k: kv, v: kv, causal: true))
        let analysis = GraphAnalysis(try builder.build())
        let dense: Double = 4 * 2 * 16 * 16 * 8 * 32
        #expect(analysis.forwardFLOPs == dense)
        #expect(analysis.operations[0].causal)
        #expect(analysis.causalAttentionForwardFLOPs == dense)
        #expect(analysis.backwardFLOPs == 2.5 * dense)
        // MFU's model FLOPs count 3 x the dense forward; a causal kernel computes half of each of the three.
        #expect(analysis.modelTrainingFLOPs == 3 * dense)
        #expect(analysis.causalHalvedTrainingFLOPs == 1.5 * dense)
    }

    @Test("conv2d costs 2 N O H' W' (C/groups) kh kw; pooling costs a window per output element")
    func convolutionAndPooling() throws {
        var builder = GraphBuilder(name: "conv")
        let x = try builder.input("x", [2, 8, 10, 10], .f32)
        let w = try builder.parameter("w", [16, 4, 3, 3], .f32)
        let y = try builder.add("y", .conv2d(stride: [1, 1], padding: [1, 1], groups: 2), [x, w])
        builder.output(try builder.add("p", .pool2d(.max, window: [2, 2], stride: [2, 2], padding: [0, 0]), [y]))
        let analysis = GraphAnalysis(try builder.build())
        let convolution: Double = 2 * 2 * 16 * 10 * 10 * 4 * 3 * 3
        let pooling: Double = 2 * 16 * 5 * 5 * 4
        #expect(analysis.operations.map(\.forwardFLOPs) == [convolution, pooling])
    }

    @Test("a tiny GPT block matches 24 B s h^2 + 4 B s^2 h in its matmuls and attention (Narayanan et al. 2021)")
    func gptBlock() throws {
        let model = TinyGPT()
        let analysis = GraphAnalysis(try model.graph())
        let (b, s, h) = (Double(model.batch), Double(model.sequence), Double(model.hidden))
        let matmuls: Double = 24 * b * s * h * h
        let scores: Double = 4 * b * s * s * h
        let tensorCore = matmuls + scores
        // Two layer norms at 7 per element, two residual adds at 1, gelu at 9 on the 4h-wide activation.
        let vector: Double = (2 * 7 + 2 * 1 + 9 * 4) * b * s * h
        let blocks = analysis.layers.filter { $0.origin == .repeatedBlock }
        #expect(blocks.count == model.layers)
        for block in blocks {
            let costs = analysis.operations[block.operations]
            let matmulAndAttention = costs.filter { $0.operationClass == .contraction || $0.operationClass == .attention }
            #expect(matmulAndAttention.reduce(0) { $0 + $1.forwardFLOPs } == tensorCore)
            #expect(block.forwardFLOPs == tensorCore + vector)
            // Matmuls 2x (activation and weight both need gradients), attention 2.5x, the rest 2x.
            let backward: Double = 2 * matmuls + 2.5 * scores + 2 * vector
            #expect(block.backwardFLOPs == backward)
        }
        let logits = analysis.operations[analysis.graph.operations.firstIndex { $0.name == "logits" }!]
        let logitFLOPs: Double = 2 * b * s * h * Double(model.vocabulary)
        #expect(logits.forwardFLOPs == logitFLOPs)
        #expect(analysis.causalAttentionForwardFLOPs == Double(model.layers) * scores)
        #expect(analysis.modelTrainingFLOPs - analysis.causalHalvedTrainingFLOPs == 3 * Double(model.layers) * scores / 2)
    }

    @Test("every op of the catalog gets finite, non-negative counts")
    func everyOp() throws {
        let analysis = GraphAnalysis(try Graph(jsonBytes: try GraphFixture.everyOp.bytes))
        for (operation, cost) in zip(analysis.graph.operations, analysis.operations) {
            #expect(cost.forwardFLOPs.isFinite && cost.forwardFLOPs >= 0, "\(operation.name)")
            #expect(cost.backwardFLOPs.isFinite && cost.backwardFLOPs >= 0, "\(operation.name)")
        }
        #expect(analysis.layers.map(\.operations.count).reduce(0, +) == analysis.graph.operations.count)
    }

    @Test("gradients stop at data inputs, integers and stop_gradient")
    func gradientFlow() throws {
        var builder = GraphBuilder(name: "flow")
        let x = try builder.input("x", [4, 8], .f32)
        let w = try builder.parameter("w", [8, 8], .f32)
        let scaled = try builder.unary("scaled", .exp, x)
        let product = try builder.einsum("product", "ij,jk->ik", scaled, w)
        let frozen = try builder.unary("frozen", .stopGradient, product)
        let compared = try builder.binary("compared", .gt, product, frozen)
        builder.output(compared)
        let graph = try builder.build()
        let flow = GradientFlow(graph)
        #expect(graph.operations.map { flow[$0.result] } == [false, true, false, false])
        let weightGradient: Double = 2 * 4 * 8 * 8
        #expect(GraphAnalysis(graph).operations.map(\.backwardFLOPs) == [0, weightGradient, 0, 0])
    }
}
