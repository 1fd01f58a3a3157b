import Testing
@testable import ShardPlan

/// Selective recomputation (Korthikanti et al. 2022) drops the tensors with two sequence dimensions, the attention
/// scores and probabilities, and reruns what made them. A hidden axis as long as the sequence is not one of them
/// (GPT-3 1.3B: hidden 2,048 at 2,048 tokens; Llama 2 7B: 4,096 at 4,096).
@Suite("Selective recomputation")
struct SelectiveRecomputationTests {
    static func rank(attention: TransformerConfiguration.AttentionImplementation, hidden: Int,
                     recompute: RecomputeMode) throws -> PlanPrediction.Rank {
        var configuration = TransformerConfiguration.gpt(layers: 2, hidden: hidden, heads: 4, vocabulary: 512,
                                                         sequenceLength: 64, globalBatch: 8)
        configuration.attentionImplementation = attention
        let graph = try TransformerBuilder(name: "gpt", configuration: configuration).build()
        let cluster = try Cluster.preset(named: "single-h100")
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "single-h100", configuration:
            MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1, microBatchSize: 8,
                                  options: TrainingOptions(recompute: recompute)))
        return PlanEvaluator(cluster: cluster).evaluate(plan).ranks[0]
    }

    @Test("with fused attention nothing has two sequence dimensions, a hidden axis as long as the sequence included")
    func fusedAttentionDropsNothing() throws {
        for hidden in [64, 96] {
            let none = try Self.rank(attention: .fused, hidden: hidden, recompute: .none)
            let selective = try Self.rank(attention: .fused, hidden: hidden, recompute: .selective)
            #expect(selective.activationBytes == none.activationBytes, "hidden \(hidden)")
            #expect(selective.recomputeSeconds == 0, "hidden \(hidden)")
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
