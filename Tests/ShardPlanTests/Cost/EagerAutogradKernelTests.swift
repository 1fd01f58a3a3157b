import Testing
@testable import ShardPlan

/// The kernels eager PyTorch's autograd launches around the graph's ops: the sums of a tensor's gradient
/// contributions (`GradientAccumulation`), the add's backward that launches nothing, and the copy and group sum of
/// torchtitan's `repeat_kv`, on a device with round figures: 1 TB/s at 50% achievable, 10 us a kernel.
@Suite("Eager autograd kernels")
struct EagerAutogradKernelTests {
    let kernels = KernelModel(peakFLOPs: [.bf16: 100e12], memoryBandwidth: 1e12, multiprocessors: 100,
                              bestMatmulEfficiency: 1, memoryEfficiency: 0.5, launchSeconds: 10e-6)

    func cost(of name: String, in graph: Graph, fusion: KernelFusionLevel) throws -> OperatorCost {
        let index = try #require(graph.operations.firstIndex { $0.name == name })
        let model = OperatorCostModel(graph: graph, kernels: kernels, meshShape: [1], microbatches: 1, fusion: fusion)
        return model.cost(index, OpStrategy(indexOfAxis: [nil]))
    }

    /// `h = tanh(p)` over 10 x 100 bf16 elements read by three products, as a norm's output by wq, wk and wv; their
    /// results summed by two adds of equal shapes.
    func threeReaders() throws -> Graph {
        var builder = GraphBuilder(name: "readers")
        let p = try builder.parameter("p", [10, 100])
        let h = try builder.unary("h", .tanh, p)
        var products: [ValueID] = []
        for name in ["q", "k", "v"] {
            products.append(try builder.einsum(name, "bd,de->be", h, try builder.parameter("\(name).w", [100, 100])))
        }
        let partial = try builder.binary("partial", .add, products[0], products[1])
        builder.output(try builder.binary("sum", .add, partial, products[2]))
        return try builder.build()
    }

    @Test("a tensor read by three products gets two accumulation adds in eager backward, 6,000 bytes each; none fused or compiled")
    func accumulationAdds() throws {
        let graph = try threeReaders()
        let h = ValueID(try #require(graph.values.firstIndex { $0.name == "h" }))
        #expect(GradientAccumulation(graph, gradients: GradientFlow(graph), level: .eager)[h] == 2)
        #expect(GradientAccumulation(graph, gradients: GradientFlow(graph), level: .fused)[h] == 0)
        #expect(GradientAccumulation(graph, gradients: GradientFlow(graph), level: .compiled)[h] == 0)
        // tanh: forward reads and writes 2,000 bytes (10 us + 8 ns), backward twice that, and the two adds read two
        // 2,000-byte gradients and write one: 2 x (10 us + 12 ns).
        let eager = try cost(of: "h", in: graph, fusion: .eager)
        #expect(abs(eager.forwardSeconds - 10.008e-6) <= 1e-15)
        #expect(abs(eager.backwardSeconds - (2 * 10.008e-6 + 2 * 10.012e-6)) <= 1e-15)
        #expect(abs(try cost(of: "h", in: graph, fusion: .fused).backwardSeconds - 2 * 10.008e-6) <= 1e-15)
    }

    @Test("eager autograd hands an add's gradient to both operands: no backward kernel unless an operand is broadcast")
    func addBackward() throws {
        let graph = try threeReaders()
        let eager = try cost(of: "partial", in: graph, fusion: .eager)
        #expect(abs(eager.forwardSeconds - 10.012e-6) <= 1e-15)
        #expect(eager.backwardSeconds == 0)
        var builder = GraphBuilder(name: "bias")
        let x = try builder.parameter("x", [10, 100])
        let bias = try builder.parameter("bias", [100])
        builder.output(try builder.binary("biased", .add, x, bias))
        let biased = try cost(of: "biased", in: try builder.build(), fusion: .eager)
        #expect(biased.backwardSeconds == 2 * biased.forwardSeconds)
    }

    @Test("the slices of one tensor (a split) pass it one gradient: no accumulation")
    func slicesPassOneGradient() throws {
        var builder = GraphBuilder(name: "split")
        let t = try builder.unary("t", .tanh, try builder.parameter("p", [10, 300]))
        var parts: [ValueID] = []
        for index in 0 ..< 3 {
            let slice = try builder.add("s\(index)", .slice(axis: 1, start: 100 * index, end: 100 * (index + 1)), [t])
            parts.append(try builder.unary("r\(index)", .tanh, slice))
        }
        builder.output(try builder.binary("sum", .add, try builder.binary("pair", .add, parts[0], parts[1]), parts[2]))
        let graph = try builder.build()
        let value = ValueID(try #require(graph.values.firstIndex { $0.name == "t" }))
        #expect(GradientAccumulation(graph, gradients: GradientFlow(graph), level: .eager)[value] == 0)
    }

    @Test("an eager Llama block accumulates five gradients: the residual stream twice, the attention norm's output for q, k and v twice, the MLP norm's for gate and up once")
    func llamaBlock() throws {
        let graph = try TransformerBuilder(name: "llama", configuration: .llama(
            layers: 2, hidden: 64, heads: 4, keyValueHeads: 2, feedForwardHidden: 128, vocabulary: 256,
            sequenceLength: 16, globalBatch: 2)).build()
        let accumulation = GradientAccumulation(graph, gradients: GradientFlow(graph), level: .eager)
        // The last block's output is read by the final norm alone: 2 x 5 - 1, and the embedding's output once.
        #expect(accumulation.additions.reduce(0, +) == 10)
    }

    /// torchtitan's `repeat_kv` before SDPA, 4 query heads and 2 key/value heads of 8 over 2 x 16 tokens.
    func llama(repeating: Bool, keyValueHeads: Int = 2) throws -> Graph {
        var configuration = TransformerConfiguration.llama(layers: 1, hidden: 32, heads: 4, keyValueHeads: keyValueHeads,
                                                           feedForwardHidden: 64, vocabulary: 256, sequenceLength: 16,
                                                           globalBatch: 2)
        configuration.repeatsKeyValueHeads = repeating
        return try TransformerBuilder(name: "llama", configuration: configuration).build()
    }

    @Test("repeat_kv copies k and v to every query head: one kernel forward reading 1,024 bytes and writing 2,048, one group sum backward of the same bytes")
    func repeatedKeyValue() throws {
        let graph = try llama(repeating: true)
        for name in ["h0.attn.k.repeated", "h0.attn.v.repeated"] {
            let copy = try cost(of: name, in: graph, fusion: .eager)
            #expect(abs(copy.forwardSeconds - (10e-6 + 3_072 / 0.5e12)) <= 1e-15)
            #expect(copy.backwardSeconds == copy.forwardSeconds)
        }
        let attention = try #require(graph.operations.first { $0.name == "h0.attn" })
        #expect(graph[attention.inputs[1]].type.shape == [2, 16, 4, 8])
        #expect(!(try llama(repeating: false)).operations.contains { $0.name == "h0.attn.k.repeated" })
        #expect(!(try llama(repeating: true, keyValueHeads: 4)).operations.contains { $0.name == "h0.attn.k.repeated" })
    }
}
