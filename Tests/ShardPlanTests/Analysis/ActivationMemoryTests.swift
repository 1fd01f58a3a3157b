import Testing
@testable import ShardPlan

@Suite("activation bytes")
struct ActivationMemoryTests {
    @Test("mlp-2 keeps x for dW1, h for gelu and a for dW2; the weights are not activations")
    func mlp2() throws {
        let analysis = GraphAnalysis(try FLOPCountTests.mlp2())
        let (x, h) = (1024 * 4096 * 2, 1024 * 16384 * 2)
        #expect(analysis.savedForBackwardBytes == x + h + h)
        // h, a, y and the bf16 scalar loss.
        #expect(analysis.activationBytes == h + h + x + 2)
    }

    @Test("norms keep their input and f32 statistics, dropout a byte per element, softmax its output")
    func normalizationChain() throws {
        var builder = GraphBuilder(name: "chain")
        let x = try builder.input("x", [4, 8], .f32)
        let w = try builder.parameter("w", [8, 8], .f32)
        let h = try builder.einsum("h", "ij,jk->ik", x, w)
        let normed = try builder.layerNorm("n", h, scale: try builder.parameter("g", [8], .f32),
                                           shift: try builder.parameter("b", [8], .f32))
        let dropped = try builder.dropout("d", normed, rate: 0.1)
        let probabilities = try builder.add("s", .softmax(axis: 1), [dropped])
        builder.output(try builder.add("loss", .reduce(.sum, axes: [0, 1], keepDimensions: false), [probabilities]))
        let analysis = GraphAnalysis(try builder.build())
        let tensor = 4 * 8 * 4
        #expect(analysis.operations.map(\.savedTensors.count) == [1, 1, 0, 1, 0])
        #expect(analysis.operations.map(\.auxiliarySavedBytes) == [0, 4 * 2 * 4, 4 * 8, 0, 0])
        // x for dW, h for the norm (+ mean and rstd per row), the dropout mask, softmax's output.
        #expect(analysis.savedForBackwardBytes == tensor + (tensor + 32) + 32 + tensor)
        #expect(analysis.savedForBackwardBytes(operations: 1..<3) == tensor + 32 + 32)
    }

    @Test("a tensor read by several backward passes is kept once")
    func sharedTensorCountsOnce() throws {
        var builder = GraphBuilder(name: "fan-out")
        let x = try builder.input("x", [4, 8], .bf16)
        let a = try builder.einsum("a", "ij,jk->ik", x, try builder.parameter("wa", [8, 8]))
        let b = try builder.einsum("b", "ij,jk->ik", x, try builder.parameter("wb", [8, 8]))
        builder.output(try builder.binary("sum", .add, a, b))
        let analysis = GraphAnalysis(try builder.build())
        #expect(analysis.savedForBackwardBytes == 4 * 8 * 2)
    }

    @Test("a GPT block keeps 34 s b h bytes less its two dropout masks (Korthikanti et al. 2022, Table 2, with FlashAttention)")
    func gptBlock() throws {
        let model = TinyGPT()
        let analysis = GraphAnalysis(try model.graph())
        let (b, s) = (model.batch, model.sequence)
        // bf16: the norms' inputs (2 x 2), the norm outputs the projections read (2 x 2), q, k, v (6), the
        // attention output the projection reads (2), the MLP's 4h-wide input and gelu output (8 + 8).
        let tensors = 32 * model.elements
        // f32 mean and rstd per row for each norm, and attention's f32 log-sum-exp per query and head.
        let statistics = 2 * (b * s * 2 * 4) + b * s * model.heads * 4
        for block in analysis.layers where block.origin == .repeatedBlock {
            #expect(block.savedForBackwardBytes == tensors + statistics)
        }
    }

    @Test("flash attention keeps q, k, v, its output and an f32 log-sum-exp per query and head")
    func attention() throws {
        var builder = GraphBuilder(name: "attention")
        let q = try builder.parameter("q", [2, 16, 4, 8])
        let o = try builder.attention("o", q: q, k: q, v: q, causal: false)
        builder.output(o)
        let analysis = GraphAnalysis(try builder.build())
        // q is a parameter here: only the output is an activation.
        #expect(analysis.savedForBackwardBytes == 2 * 16 * 4 * 8 * 2 + 2 * 16 * 4 * 4)
    }
}
