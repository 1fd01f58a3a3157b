import Testing
@testable import ShardPlan

/// Op-level selective recomputation (`--recompute selective-op`, torchtitan's `selective_ac_option = "op"`).
@Suite("Op-level selective recomputation")
struct OperatorRecomputationTests {
    let graph: Graph
    let model: StageCostModel

    init() throws {
        graph = try #require(ModelCatalog.model(id: "llama-tiny")).build()
        let cluster = try Cluster.preset(named: "single-a100-80g")
        model = StageCostModel(graph: graph, kernels: KernelModel(device: cluster.device),
                               options: TrainingOptions(recompute: .selectiveOperators), microbatches: 1)
    }

    func recomputed(_ name: String) throws -> Bool {
        model.operatorRecomputation.contains(try #require(graph.operations.firstIndex { $0.name == name }))
    }

    @Test("in each block, every second product with a weight and every other op but attention rerun")
    func whatReruns() throws {
        // Products with a weight in block order: q (1), k (2), v (3), out (4), gate (5), up (6), down (7).
        for name in ["h0.attn.q", "h0.attn.v", "h0.mlp.gate", "h0.mlp.down", "h0.attn"] { #expect(try !recomputed(name)) }
        for name in ["h0.attn.k", "h0.attn.out", "h0.mlp.up", "h0.attn.norm", "h0.mlp.norm", "h0.mlp.silu", "h0.mlp.gated",
                     "h0.attn.residual"] { #expect(try recomputed(name)) }
        // The rotary embedding's product has no weight: not an `mm`, not on torchtitan's list.
        #expect(try recomputed("h0.attn.q.rotated") && recomputed("h0.attn.k.rotated"))
        // Embeddings and the output layer are not checkpointed.
        #expect(try !recomputed("head.logits") && !recomputed("head.norm"))
    }

    @Test("a block keeps its input and every result the policy stores, read in the backward pass or not")
    func whatABlockKeeps() throws {
        let cluster = try Cluster.preset(named: "single-a100-80g")
        func activations(layers: Int) throws -> Double {
            let graph = try TransformerBuilder(name: "llama-\(layers)", configuration: .llama(
                layers: layers, hidden: 64, heads: 4, keyValueHeads: 2, feedForwardHidden: 176,
                vocabulary: 256, sequenceLength: 32, globalBatch: 8)).build()
            let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "single-a100-80g", configuration: MegatronConfiguration(
                tensorParallel: 1, pipelineParallel: 1, options: TrainingOptions(recompute: .selectiveOperators)))
            return PlanEvaluator(cluster: cluster).evaluate(plan).stageCosts[0].activationBytesPerMicrobatch
        }
        // One block of llama-tiny's shape, a microbatch of one 32-token sequence in bf16 (head size 16): its input
        // (32·64·2 = 4,096), q (32·4·16·2 = 4,096), v (two heads: 2,048), attention's output (4,096) and
        // log-sum-exp (32·4 in f32: 512), gate (32·176·2 = 11,264) and down (4,096, which no backward kernel
        // reads) = 30,208 bytes. The rotated q and k, rerun, are not kept.
        let block = try activations(layers: 3) - activations(layers: 2)
        #expect(block == 30_208, "\(block)")
    }

    @Test("keeps less than no recomputation and more than full recomputation, and reruns less than full")
    func betweenNoneAndFull() throws {
        let cluster = try Cluster.preset(named: "single-a100-80g")
        func cost(_ mode: RecomputeMode) throws -> StageCost {
            let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "single-a100-80g", configuration: MegatronConfiguration(
                tensorParallel: 1, pipelineParallel: 1, options: TrainingOptions(recompute: mode)))
            return PlanEvaluator(cluster: cluster).evaluate(plan).stageCosts[0]
        }
        let none = try cost(.none), op = try cost(.selectiveOperators), full = try cost(.full)
        #expect(op.activationBytesPerMicrobatch < none.activationBytesPerMicrobatch)
        #expect(op.activationBytesPerMicrobatch > full.activationBytesPerMicrobatch)
        #expect(op.recomputeSeconds > 0 && op.recomputeSeconds < full.recomputeSeconds)
    }
}
