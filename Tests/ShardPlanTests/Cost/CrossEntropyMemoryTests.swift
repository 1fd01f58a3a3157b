import Testing
@testable import ShardPlan

/// An output layer and its loss: `h [1024, 256] -> logits = h w [1024, 4096] -> cross_entropy(logits, labels)`,
/// bf16, one microbatch, so the logits are 4,194,304 elements (8 MiB in bf16).
private func outputLayer() throws -> Graph {
    var builder = GraphBuilder(name: "output-layer")
    let h = try builder.input("h", [1024, 256], .bf16)
    let labels = try builder.input("labels", [1024], .i32)
    let w = try builder.parameter("w", [256, 4096])
    let logits = try builder.einsum("logits", "td,dv->tv", h, w)
    builder.output(try builder.add("loss", .crossEntropy, [logits, labels]))
    return try builder.build()
}

@Suite("What the loss holds in memory")
struct CrossEntropyMemoryTests {
    @Test("per logit: Megatron's losses 4 kept + 2, eager PyTorch over fp32 4 + 8, flash-attn's 2 + 2, torch.compile 2 + 2, llm.c's classifier 2 + 0")
    func perKind() {
        #expect(CrossEntropyMemory(fusion: .fused, fusedKernel: false, logitBytes: 2) == .init(savedBytesPerElement: 4, workingBytesPerElement: 2))
        #expect(CrossEntropyMemory(fusion: .fused, fusedKernel: false, logitBytes: 4) == .init(savedBytesPerElement: 4, workingBytesPerElement: 0))
        #expect(CrossEntropyMemory(fusion: .fused, fusedKernel: true, logitBytes: 2) == .init(savedBytesPerElement: 4, workingBytesPerElement: 2))
        #expect(CrossEntropyMemory(fusion: .eager, fusedKernel: false, logitBytes: 2) == .init(savedBytesPerElement: 4, workingBytesPerElement: 8))
        #expect(CrossEntropyMemory(fusion: .eager, fusedKernel: true, logitBytes: 2) == .init(savedBytesPerElement: 2, workingBytesPerElement: 2))
        #expect(CrossEntropyMemory(fusion: .compiled, fusedKernel: false, logitBytes: 2) == .init(savedBytesPerElement: 2, workingBytesPerElement: 2))
        #expect(CrossEntropyMemory(fusion: .compiled, fusedKernel: true, logitBytes: 2) == .init(savedBytesPerElement: 2, workingBytesPerElement: 0))
    }

    /// The stage keeps h for the weight's gradient (1024 x 256 x 2 = 524,288 bytes), the loss's share of the
    /// 4,194,304 logits, the labels and the per-row log-sum-exp (1024 x 4 bytes each); the loss's gradient
    /// buffers are the working set of the backward pass.
    @Test("a stage's activations and backward working set follow the loss's kernels")
    func stage() throws {
        let graph = try outputLayer()
        let cluster = try Cluster.preset(named: "single-h100")
        let stage = try StageLayout.unsharded(graph, on: cluster)
        func cost(_ fusion: KernelFusionLevel, fused: Bool = false) -> (kept: Double, working: Double) {
            let options = TrainingOptions(kernelFusion: fusion, fusedCrossEntropy: fused)
            let cost = StageCostModel(graph: graph, kernels: KernelModel(device: cluster.device), options: options, microbatches: 1)
                .cost(of: stage)
            return (cost.activationBytesPerMicrobatch, cost.backwardWorkingBytes)
        }
        let (h, logits, statistics) = (524_288.0, 4_194_304.0, 2 * 4_096.0)
        #expect(cost(.fused) == (h + 4 * logits + statistics, 2 * logits))
        #expect(cost(.fused, fused: true) == (h + 4 * logits + statistics, 2 * logits))
        #expect(cost(.eager) == (h + 4 * logits + statistics, 8 * logits))
        #expect(cost(.eager, fused: true) == (h + 2 * logits + statistics, 2 * logits))
        #expect(cost(.compiled) == (h + 2 * logits + statistics, 2 * logits))
        #expect(cost(.compiled, fused: true) == (h + 2 * logits + statistics, 0))
    }
}
