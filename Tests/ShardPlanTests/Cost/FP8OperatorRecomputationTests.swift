import Testing
@testable import ShardPlan

/// torchtitan's op-level policy under FP8: its save list holds `aten.mm`, and an FP8 linear layer runs torchao's
/// `_scaled_mm`, so every such product reruns.
@Suite("Op-level selective recomputation under FP8")
struct FP8OperatorRecomputationTests {
    @Test("every linear layer of a block reruns, and the block keeps its input and attention's output and log-sum-exp")
    func everyFP8ProductReruns() throws {
        let fixture = try RecomputationFixture(cluster: "dgx-h100:1")
        let model = { (precision: MatmulPrecision) in fixture.model(.selectiveOperators, precision: precision) }
        let names = { (ops: Set<Int>) in fixture.names(ops) }
        let bf16 = model(.bf16).operatorRecomputation, fp8 = model(.fp8).operatorRecomputation
        #expect(names(fp8.subtracting(bf16)) == ["h0.attn.q", "h0.attn.v", "h0.mlp.gate", "h0.mlp.down"])
        #expect(names(fp8).isSuperset(of: ["h0.attn.q", "h0.attn.k", "h0.attn.v", "h0.attn.out", "h0.mlp.gate", "h0.mlp.up", "h0.mlp.down"]))
        #expect(!names(fp8).contains("h0.attn"))
        // The output layer is not in a checkpointed block, and stays 16-bit.
        #expect(fp8.allSatisfy { fixture.graph.operations[$0].layer != "head" })
        // One block, one 32-token sequence: its input 32·64·2 = 4,096, attention's output 4,096 and log-sum-exp 512.
        #expect(try fixture.blockBytes(.selectiveOperators, precision: .fp8) == 8_704)
    }
}
