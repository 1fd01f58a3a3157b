import Testing
@testable import ShardPlan

/// torchtitan's op-level policy under FP8: its save list holds `aten.mm`, and an FP8 linear layer runs torchao's
/// `_scaled_mm`, so every such product reruns.
@Suite("Op-level selective recomputation under FP8")
struct FP8OperatorRecomputationTests {
    @Test("every linear layer of a block reruns, and the block keeps its input and attention's output and log-sum-exp")
    func everyFP8ProductReruns() throws {
        let graph = try TransformerBuilder(name: "llama-fp8", configuration: .llama(
            layers: 2, hidden: 64, heads: 4, keyValueHeads: 2, feedForwardHidden: 176,
            vocabulary: 256, sequenceLength: 32, globalBatch: 8)).build()
        let cluster = try Cluster.preset(named: "dgx-h100:1")
        func model(_ precision: MatmulPrecision) -> StageCostModel {
            StageCostModel(graph: graph, kernels: KernelModel(device: cluster.device),
                           options: TrainingOptions(recompute: .selectiveOperators, precision: precision), microbatches: 1)
        }
        let names = { (ops: Set<Int>) in Set(ops.filter { graph.operations[$0].layer == "layer0" }.map { graph.operations[$0].name }) }
        let bf16 = model(.bf16).operatorRecomputation, fp8 = model(.fp8).operatorRecomputation
        #expect(names(fp8.subtracting(bf16)) == ["h0.attn.q", "h0.attn.v", "h0.mlp.gate", "h0.mlp.down"])
        #expect(names(fp8).isSuperset(of: ["h0.attn.q", "h0.attn.k", "h0.attn.v", "h0.attn.out", "h0.mlp.gate", "h0.mlp.up", "h0.mlp.down"]))
        #expect(!names(fp8).contains("h0.attn"))
        // The output layer is not in a checkpointed block, and stays 16-bit.
        #expect(fp8.allSatisfy { graph.operations[$0].layer != "head" })
        // One block, one 32-token sequence: its input 32·64·2 = 4,096, attention's output 4,096 and log-sum-exp 512.
        func block(_ layers: Int) throws -> Double {
            let graph = try TransformerBuilder(name: "llama-\(layers)", configuration: .llama(
                layers: layers, hidden: 64, heads: 4, keyValueHeads: 2, feedForwardHidden: 176,
                vocabulary: 256, sequenceLength: 32, globalBatch: 8)).build()
            let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-h100:1", configuration: MegatronConfiguration(
                tensorParallel: 1, pipelineParallel: 1, options: TrainingOptions(recompute: .selectiveOperators, precision: .fp8)))
            return PlanEvaluator(cluster: cluster).evaluate(plan).stageCosts[0].activationBytesPerMicrobatch
        }
        #expect(try block(3) - block(2) == 8_704)
    }
}
