import Testing
@testable import ShardPlan

/// Full recomputation (`--recompute full`) reruns the transformer blocks and nothing else: Megatron-LM checkpoints
/// the layers of its transformer block, the FSDP stacks wrap each block in PyTorch's checkpoint, and the
/// embedding, the final norm, the output layer and the loss run once.
@Suite("Full recomputation")
struct FullRecomputationTests {
    /// A tiny GPT or Llama of `layers` identical blocks (hidden 64, 32 tokens, 8 sequences) on one A100.
    func stage(layers: Int, llama: Bool, attention: TransformerConfiguration.AttentionImplementation = .fused,
               recompute: RecomputeMode = .full) throws -> StageCost {
        var configuration: TransformerConfiguration = llama
            ? .llama(layers: layers, hidden: 64, heads: 4, keyValueHeads: 2, feedForwardHidden: 176, vocabulary: 256,
                     sequenceLength: 32, globalBatch: 8)
            : .gpt(layers: layers, hidden: 64, heads: 4, vocabulary: 256, sequenceLength: 32, globalBatch: 8)
        configuration.attentionImplementation = attention
        let graph = try TransformerBuilder(name: "tiny-\(layers)", configuration: configuration).build()
        let cluster = try Cluster.preset(named: "single-a100-80g")
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "single-a100-80g", configuration:
            MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1, options: TrainingOptions(recompute: recompute)))
        return PlanEvaluator(cluster: cluster).evaluate(plan).stageCosts[0]
    }

    /// One block's forward time is what a third block adds to two; the rerun of L blocks is L of them, where the
    /// forward pass also runs the embedding and the head.
    @Test("the rerun is the blocks' forward pass, not the embedding's or the head's: fused and explicit attention",
          arguments: [(true, TransformerConfiguration.AttentionImplementation.fused), (false, .explicit)])
    func rerunsTheBlocksOnly(llama: Bool, attention: TransformerConfiguration.AttentionImplementation) throws {
        let (two, three) = (try stage(layers: 2, llama: llama, attention: attention), try stage(layers: 3, llama: llama, attention: attention))
        let block = three.forwardSeconds - two.forwardSeconds
        #expect(abs(three.recomputeSeconds - 3 * block) < 1e-12 * three.forwardSeconds, "\(three.recomputeSeconds) against \(3 * block)")
        // The embedding and the head take a third of the two-block model's forward pass at this size.
        #expect(two.forwardSeconds - two.recomputeSeconds > 0.2 * two.forwardSeconds)
    }

    /// GPT's embedding runs outside the checkpointed blocks, so what its backward pass reads stays from the forward
    /// pass: the dropout mask after the token and position embeddings, one byte an element (a microbatch of one
    /// sequence: 32 x 64 = 2,048 bytes), which Llama, without dropout, does not have. Each block keeps only its
    /// input, 32 x 64 x 2 = 4,096 bytes.
    @Test("GPT's embedding dropout mask is kept, not rerun; each block keeps its input")
    func keepsTheEmbeddingsDropoutMask() throws {
        let (two, three) = (try stage(layers: 2, llama: false), try stage(layers: 3, llama: false))
        #expect(three.activationBytesPerMicrobatch - two.activationBytesPerMicrobatch == 4_096)
        let llama = try stage(layers: 2, llama: true)
        #expect(two.activationBytesPerMicrobatch - llama.activationBytesPerMicrobatch == 2_048,
                "\(two.activationBytesPerMicrobatch) against Llama's \(llama.activationBytesPerMicrobatch)")
    }
}
