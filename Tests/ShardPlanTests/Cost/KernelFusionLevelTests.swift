import Testing
@testable import ShardPlan

/// What eager PyTorch, hand-fused kernels and a compiled step pay for the same ops (`TrainingOptions.kernelFusion`,
/// `fusedCrossEntropy`), on a device with round figures: 1 TB/s at 50% achievable, 10 us per kernel.
@Suite("Kernel fusion levels")
struct KernelFusionLevelTests {
    let kernels = KernelModel(peakFLOPs: [.bf16: 100e12], memoryBandwidth: 1e12, multiprocessors: 100,
                              bestMatmulEfficiency: 1, memoryEfficiency: 0.5, launchSeconds: 10e-6)

    func cost(of name: String, in graph: Graph, fusion: KernelFusionLevel, fusedLoss: Bool = false) throws -> OperatorCost {
        let index = try #require(graph.operations.firstIndex { $0.name == name })
        let model = OperatorCostModel(graph: graph, kernels: kernels, meshShape: [1], microbatches: 1,
                                      fusion: fusion, fusedCrossEntropy: fusedLoss)
        return model.cost(index, OpStrategy(indexOfAxis: [nil]))
    }

    @Test("eager RMSNorm over 1000 bf16 elements: the reference implementation's 8 kernels and 36 bytes an element forward, 16 and 92 backward; fused: one kernel of 4")
    func eagerRMSNorm() throws {
        var builder = GraphBuilder(name: "norm")
        let x = try builder.input("x", [10, 100], .bf16)
        let scale = try builder.parameter("scale", [100])
        let y = try builder.rmsNorm("norm", x, scale: scale)
        builder.output(y)
        let graph = try builder.build()
        // Upcast 2 + 4, square 8, mean 4, scale 8, downcast 4 + 2, weight 2 + 2 bytes an element, and the row's
        // + eps and rsqrt, 8 bytes a row (10 rows), each a kernel: 8 x 10 us + (36 x 1000 + 160) / 0.5e12 s.
        // Autograd's backward, as traced: 6 + 2 + 4 + 6 + 12 + 8 + 4 + 4 + 8 + 8 + 12 + 12 + 6 = 92 bytes an
        // element and 8 + 8 + 12 a row, 16 kernels. The fused kernel reads x and the scale and writes y.
        let eager = try cost(of: "norm", in: graph, fusion: .eager)
        #expect(abs(eager.forwardSeconds - (80e-6 + 36_160 / 0.5e12)) <= 1e-15)
        #expect(abs(eager.backwardSeconds - (160e-6 + 92_280 / 0.5e12)) <= 1e-15)
        let fused = try cost(of: "norm", in: graph, fusion: .fused)
        #expect(abs(fused.forwardSeconds - (10e-6 + (2000 + 200 + 2000) / 0.5e12)) <= 1e-15)
    }

    /// The rotary embedding's 2 x 2 rotation of each pair (`bshpj,spij->bshpi`, depth 2) is no tensor-core GEMM.
    @Test("a rotary rotation of 128 bf16 elements: one memory-bound kernel fused, three through fp32 eager")
    func rotaryRotation() throws {
        var builder = GraphBuilder(name: "rope")
        let x = try builder.parameter("x", [1, 8, 2, 4, 2])
        let table = try builder.add("table", .constant(shape: [8, 4, 2, 2], dtype: .bf16, value: 0), [])
        let rotated = try builder.einsum("rotated", "bshpj,spij->bshpi", x, table)
        builder.output(rotated)
        let graph = try builder.build()
        // Fused: reads 128 + 128 elements, writes 128, 2 bytes each; backward the same for x's gradient only.
        let fused = try cost(of: "rotated", in: graph, fusion: .fused)
        #expect(fused.category == .memoryBound)
        #expect(abs(fused.forwardSeconds - (10e-6 + 768 / 0.5e12)) <= 1e-15)
        #expect(fused.backwardSeconds == fused.forwardSeconds)
        // Eager: upcast 128 x (2 + 4), complex multiply 128 x 4 + 128 x 2 (the table) + 128 x 4, downcast
        // 128 x (4 + 2): 2816 bytes in three kernels.
        let eager = try cost(of: "rotated", in: graph, fusion: .eager)
        #expect(abs(eager.forwardSeconds - (30e-6 + 2816 / 0.5e12)) <= 1e-15)
        #expect(eager.backwardSeconds == eager.forwardSeconds)
    }

    @Test("eager PyTorch writes every pointwise result; fused kernels keep a pointwise chain in registers")
    func eagerPointwise() throws {
        var builder = GraphBuilder(name: "chain")
        let x = try builder.input("x", [1000], .bf16)
        let a = try builder.unary("gelu", .gelu, x)
        let b = try builder.unary("tanh", .tanh, a)
        builder.output(b)
        let graph = try builder.build()
        #expect(KernelFusion(graph)[a] && !KernelFusion(graph, level: .eager)[a])
        // Fused, the GELU runs inside the tanh's kernel: reads 2000 bytes, no launch. Eager: reads and writes.
        #expect(try cost(of: "gelu", in: graph, fusion: .fused).forwardSeconds == 2000 / 0.5e12)
        #expect(try cost(of: "gelu", in: graph, fusion: .eager).forwardSeconds == 10e-6 + 4000 / 0.5e12)
    }

    @Test("a fused cross-entropy over 4 x 1000 bf16 logits reads them once forward, reads and writes them once backward")
    func fusedCrossEntropy() throws {
        var builder = GraphBuilder(name: "head")
        let x = try builder.input("x", [4, 16], .bf16)
        let w = try builder.parameter("w", [16, 1000])
        let logits = try builder.einsum("logits", "bd,dc->bc", x, w)
        let labels = try builder.input("labels", [4], .i32)
        let loss = try builder.add("loss", .crossEntropy, [logits, labels])
        builder.output(loss)
        let graph = try builder.build()
        let fused = try cost(of: "loss", in: graph, fusion: .fused, fusedLoss: true)
        #expect(abs(fused.forwardSeconds - (10e-6 + 2 * 4000 / 0.5e12)) <= 1e-15)
        #expect(abs(fused.backwardSeconds - (10e-6 + 4 * 4000 / 0.5e12)) <= 1e-15)
    }

    @Test("a compiled step launches kernels in 4 us and fuses the loss")
    func compiledStep() throws {
        var builder = GraphBuilder(name: "head")
        let x = try builder.input("x", [4, 16], .bf16)
        let w = try builder.parameter("w", [16, 1000])
        let logits = try builder.einsum("logits", "bd,dc->bc", x, w)
        let labels = try builder.input("labels", [4], .i32)
        let loss = try builder.add("loss", .crossEntropy, [logits, labels])
        builder.output(loss)
        let graph = try builder.build()
        let model = StageCostModel(graph: graph, kernels: kernels, options: TrainingOptions(kernelFusion: .compiled), microbatches: 1)
        #expect(model.kernels.launchSeconds == 4e-6)
        let index = try #require(graph.operations.firstIndex { $0.name == "loss" })
        let cost = model.operatorModel(meshShape: [1]).cost(index, OpStrategy(indexOfAxis: [nil]))
        #expect(abs(cost.forwardSeconds - (4e-6 + 2 * 4000 / 0.5e12)) <= 1e-15)
    }

    /// llm.c's `fused_residual_forward` and Inductor's multi-output reductions: the kernel that adds the residual
    /// also normalises the sum, so the norm reads nothing back and launches nothing of its own.
    @Test("a compiled step normalises a residual sum of 1000 bf16 elements in the add's kernel: the norm only writes")
    func compiledResidualNorm() throws {
        var builder = GraphBuilder(name: "residual")
        let x = try builder.input("x", [10, 100], .bf16)
        let branch = try builder.input("branch", [10, 100], .bf16)
        let sum = try builder.binary("sum", .add, x, branch)
        let normed = try builder.layerNorm("norm", sum, scale: try builder.parameter("gamma", [100]),
                                           shift: try builder.parameter("beta", [100]))
        let next = try builder.binary("next", .add, sum, normed)
        builder.output(next)
        let graph = try builder.build()
        // The sum has two readers, so it is written at every level. Fused: the norm reads it (2000 bytes), the
        // scale and shift (2 x 200) and writes 2000 bytes in a kernel of its own (10 us).
        let fused = try cost(of: "norm", in: graph, fusion: .fused)
        #expect(abs(fused.forwardSeconds - (10e-6 + 4400 / 0.5e12)) <= 1e-15)
        #expect(abs(fused.backwardSeconds - 2 * fused.forwardSeconds) <= 1e-15)
        // Compiled: 2400 bytes inside the add's kernel, no launch; the backward pass reads the sum again.
        let compiled = try cost(of: "norm", in: graph, fusion: .compiled)
        #expect(abs(compiled.forwardSeconds - 2400 / 0.5e12) <= 1e-15)
        #expect(abs(compiled.backwardSeconds - 2 * (10e-6 + 4400 / 0.5e12)) <= 1e-15)
        // A norm of a graph input (no pointwise producer) is its own kernel at every level.
        var plain = GraphBuilder(name: "plain")
        let input = try plain.input("x", [10, 100], .bf16)
        plain.output(try plain.layerNorm("norm", input, scale: try plain.parameter("gamma", [100]), shift: try plain.parameter("beta", [100])))
        #expect(try cost(of: "norm", in: try plain.build(), fusion: .compiled).forwardSeconds == fused.forwardSeconds)
    }

    /// llm.c's `matmul_forward_cublaslt` adds the QKV bias in cuBLASLt's epilogue and its cuDNN attention reads q, k
    /// and v through strides in the QKV buffer; the fused level keeps both kernels (Docs/cost-model.md, fourth pass).
    /// Eager PyTorch's `nn.Linear` runs `addmm`, which adds the bias in cuBLASLt's epilogue too (ATen's
    /// `gemm_and_bias`), and copies the slices (nineteenth pass).
    @Test("compiled and eager steps add a QKV bias of 192 bf16 elements in the GEMM's epilogue; a compiled one reads q, k and v in place")
    func biasInTheEpilogue() throws {
        var builder = GraphBuilder(name: "qkv")
        let x = try builder.input("x", [1, 4, 8], .bf16)
        let product = try builder.einsum("qkv", "bsd,dthk->bsthk", x, try builder.parameter("w", [8, 3, 2, 4]))
        let biased = try builder.binary("qkv.bias", .add, product, try builder.parameter("b", [3, 2, 4]))
        var parts: [ValueID] = []
        for (index, part) in ["q", "k", "v"].enumerated() {
            let slice = try builder.add("\(part).slice", .slice(axis: 2, start: index, end: index + 1), [biased])
            parts.append(try builder.reshape(part, slice, [1, 4, 2, 4]))
        }
        builder.output(try builder.add("attention", .attention(causal: false), parts))
        let graph = try builder.build()
        // Fused: the add reads the product (192 bytes) and the bias (48) and writes the sum (192) in a kernel of
        // its own; each slice copies 64 bytes in and out.
        let fused = try cost(of: "qkv.bias", in: graph, fusion: .fused)
        #expect(abs(fused.forwardSeconds - (10e-6 + 432 / 0.5e12)) <= 1e-15)
        #expect(try cost(of: "k.slice", in: graph, fusion: .fused).forwardSeconds > 0)
        func stepCost(_ name: String, _ level: KernelFusionLevel) throws -> OperatorCost {
            let model = StageCostModel(graph: graph, kernels: kernels, options: TrainingOptions(kernelFusion: level), microbatches: 1)
            return model.operatorModel(meshShape: [1]).cost(try #require(graph.operations.firstIndex { $0.name == name }),
                                                           OpStrategy(indexOfAxis: [nil]))
        }
        // Compiled: the GEMM writes the sum; backward, the bias gradient's reduction reads the sum's gradient
        // (192 bytes, one 4 us kernel). The slices are views.
        #expect(try stepCost("qkv.bias", .compiled).forwardSeconds == 0)
        #expect(abs(try stepCost("qkv.bias", .compiled).backwardSeconds - (4e-6 + 192 / 0.5e12)) <= 1e-15)
        for part in ["q", "k", "v"] {
            #expect(try stepCost("\(part).slice", .compiled).forwardSeconds == 0)
            #expect(try stepCost("\(part).slice", .compiled).backwardSeconds == 0)
        }
        // Eager: the same epilogue, and the bias gradient's reduction a 10 us kernel; the slices are copies.
        #expect(try stepCost("qkv.bias", .eager).forwardSeconds == 0)
        #expect(abs(try stepCost("qkv.bias", .eager).backwardSeconds - (10e-6 + 192 / 0.5e12)) <= 1e-15)
        #expect(try stepCost("k.slice", .eager).forwardSeconds > 0)
    }
}

/// Which activations a gated feed-forward unit keeps for its backward pass at each fusion level.
@Suite("Fused backward kernels and the activations they keep")
struct FusedBackwardMemoryTests {
    /// SwiGLU on 10 tokens of width 8 with 32 hidden units: gate = x Wg, up = x Wu, a = silu(gate),
    /// p = a * up, y = p Wd; all bf16.
    static func activationBytes(fusion: KernelFusionLevel) throws -> Double {
        var builder = GraphBuilder(name: "swiglu")
        let x = try builder.input("x", [10, 8], .bf16)
        let gateWeight = try builder.parameter("wg", [8, 32]), upWeight = try builder.parameter("wu", [8, 32])
        let downWeight = try builder.parameter("wd", [32, 8])
        let gate = try builder.einsum("gate", "td,df->tf", x, gateWeight)
        let up = try builder.einsum("up", "td,df->tf", x, upWeight)
        let activated = try builder.unary("silu", .silu, gate)
        let product = try builder.binary("product", .mul, activated, up)
        let y = try builder.einsum("down", "tf,fd->td", product, downWeight)
        builder.output(y)
        let graph = try builder.build()
        let cluster = try Cluster.preset(named: "single-a100-80g")
        let model = StageCostModel(graph: graph, kernels: KernelModel(device: cluster.device),
                                   options: TrainingOptions(kernelFusion: fusion), microbatches: 1)
        let mesh = try DeviceMesh(devices: [0], shape: [1], in: cluster)
        let strategies = graph.operations.map { _ in OpStrategy.replicated(axisCount: 1) }
        return model.cost(of: StageLayout(operations: graph.operations.indices, mesh: mesh, strategies: strategies))
            .activationBytesPerMicrobatch
    }

    @Test("eager PyTorch keeps x, gate, silu(gate), up and the product (2,720 bytes); fused kernels recompute silu(gate) (2,080)")
    func swiGLU() throws {
        // x 10 x 8 x 2 = 160 bytes (read by both projections, kept once); gate, silu(gate), up and the product
        // 10 x 32 x 2 = 640 bytes each. Megatron's fused bias-SwiGLU keeps gate and up and recomputes the silu.
        #expect(try Self.activationBytes(fusion: .eager) == 160 + 4 * 640)
        #expect(try Self.activationBytes(fusion: .fused) == 160 + 3 * 640)
        #expect(try Self.activationBytes(fusion: .compiled) == 160 + 3 * 640)
    }
}
