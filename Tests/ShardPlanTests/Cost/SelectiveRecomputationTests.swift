import Testing
@testable import ShardPlan

/// Selective recomputation (Korthikanti et al. 2022) drops the tensors with two sequence dimensions, the attention
/// scores and probabilities, and reruns what made them. A hidden axis as long as the sequence is not one of them
/// (GPT-3 1.3B: hidden 2,048 at 2,048 tokens; Llama 2 7B: 4,096 at 4,096).
@Suite("Selective recomputation")
struct SelectiveRecomputationTests {
    static func rank(attention: TransformerConfiguration.AttentionImplementation, hidden: Int,
                     recompute: RecomputeMode) throws -> PlanPrediction.Rank {
        try evaluate(attention: attention, hidden: hidden, recompute: recompute).rank
    }

    /// The plan of a 2-layer GPT at 64 tokens (4 heads, microbatch 8) on one H100, and its one rank's prediction.
    static func evaluate(attention: TransformerConfiguration.AttentionImplementation, hidden: Int,
                         recompute: RecomputeMode) throws -> (plan: TrainingPlan, rank: PlanPrediction.Rank) {
        var configuration = TransformerConfiguration.gpt(layers: 2, hidden: hidden, heads: 4, vocabulary: 512,
                                                         sequenceLength: 64, globalBatch: 8)
        configuration.attentionImplementation = attention
        let graph = try TransformerBuilder(name: "gpt", configuration: configuration).build()
        let cluster = try Cluster.preset(named: "single-h100")
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "single-h100", configuration:
            MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1, microBatchSize: 8,
                                  options: TrainingOptions(recompute: recompute)))
        return (plan, PlanEvaluator(cluster: cluster).evaluate(plan).ranks[0])
    }

    /// Megatron-Core checkpoints the core attention whatever its kernel: beside a fused kernel selective
    /// recomputation drops the kernel's softmax statistics, 8 sequences x 64 queries x 4 heads x 4 bytes = 8,192
    /// bytes a layer (its inputs and output stay), and reruns the kernel's forward pass, whatever the hidden size.
    @Test("with fused attention selective recomputation drops the kernel's statistics and reruns it, a hidden axis as long as the sequence included")
    func fusedAttentionRerunsTheKernel() throws {
        for hidden in [64, 96] {
            let none = try Self.rank(attention: .fused, hidden: hidden, recompute: .none)
            let (plan, selective) = try Self.evaluate(attention: .fused, hidden: hidden, recompute: .selective)
            #expect(none.activationBytes - selective.activationBytes == 2 * 8_192, "hidden \(hidden)")
            let stage = plan.stages[0]
            let model = StageCostModel(graph: plan.graph, kernels: KernelModel(device: plan.cluster.device), options: plan.options,
                                       microbatches: plan.microbatches).operatorModel(meshShape: stage.mesh.shape)
            let attention = stage.operations.filter { if case .attention = plan.graph.operations[$0].op { true } else { false } }
            #expect(attention.count == 2)
            let kernels = attention.reduce(0.0) { $0 + model.cost($1, stage.strategy(of: $1)).forwardSeconds }
            #expect(abs(selective.recomputeSeconds - kernels) <= 1e-12 * kernels, "hidden \(hidden)")
        }
    }

    /// The stage search skips a variant at least as heavy as one that fits (`FittingVariants`); beside a fused kernel,
    /// which selective recomputation reruns and elementwise, selective-op and mlp keep, a fitting selective variant
    /// rules out only the modes that rerun attention too (all-but-qkv, full).
    @Test("a fitting selective variant does not make elementwise, selective-op or mlp needless; it does all-but-qkv and full")
    func selectiveDoesNotOrderOperatorModes() {
        let selective = StageSearchOracle.Layout(meshShape: [1, 8], layout: 0, zeroStage: 1, recompute: RecomputeMode.selective)
        var fitting = FittingVariants(prunes: true, recompute: .none)
        fitting.record(selective)
        for mode in RecomputeMode.allCases where mode.strength > RecomputeMode.selective.strength {
            var heavier = selective
            heavier.recompute = mode
            #expect(fitting.makesNeedless(heavier) == [.allButQKV, .full].contains(mode), "\(mode.rawValue)")
        }
    }

    /// Explicit attention at 64 tokens and 4 heads: the scores, the probabilities and their dropout mask are
    /// 8 x 4 x 64 x 64 each, whatever the hidden size; selective recomputation drops the same bytes at hidden 64
    /// as at hidden 96.
    @Test("with explicit attention the scores are dropped, and only they, whether or not the hidden size is the sequence length")
    func explicitAttentionDropsTheScores() throws {
        var dropped: [Double] = []
        for hidden in [64, 96] {
            let none = try Self.rank(attention: .explicit, hidden: hidden, recompute: .none)
            let selective = try Self.rank(attention: .explicit, hidden: hidden, recompute: .selective)
            #expect(selective.recomputeSeconds > 0, "hidden \(hidden)")
            dropped.append(none.activationBytes - selective.activationBytes)
        }
        #expect(dropped[0] > 0 && dropped[0] == dropped[1])
    }
}
