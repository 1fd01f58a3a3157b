import Testing
@testable import ShardPlan

/// Full recomputation (`--recompute full`) reruns the transformer blocks and nothing else: Megatron-LM checkpoints
/// the layers of its transformer block, the FSDP stacks wrap each block in PyTorch's checkpoint, and the
/// embedding, the final norm, the output layer and the loss run once.
@Suite("Full recomputation")
struct FullRecomputationTests {
    /// A tiny GPT or Llama of `layers` identical blocks (hidden 64, 32 tokens, 8 sequences) on one A100.
    func stage(layers: Int, llama: Bool, attention: TransformerConfiguration.AttentionImplementation = .fused,
               recompute: RecomputeMode = .full, vocabulary: Int = 256) throws -> StageCost {
        var configuration: TransformerConfiguration = llama
            ? .llama(layers: layers, hidden: 64, heads: 4, keyValueHeads: 2, feedForwardHidden: 176, vocabulary: vocabulary,
                     sequenceLength: 32, globalBatch: 8)
            : .gpt(layers: layers, hidden: 64, heads: 4, vocabulary: vocabulary, sequenceLength: 32, globalBatch: 8)
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
    /// sequence: 32 x 64 = 2,048 bytes), which Llama, without dropout, does not have. The head's layer, which runs
    /// once too, keeps its tensors per microbatch: GPT's final LayerNorm keeps a mean beside the inverse deviation
    /// that Llama's RMSNorm keeps alone, 4 bytes a row more (32 x 4 = 128 bytes). Each block keeps only its input,
    /// 32 x 64 x 2 = 4,096 bytes.
    @Test("GPT's embedding dropout mask is kept, not rerun; each block keeps its input")
    func keepsTheEmbeddingsDropoutMask() throws {
        let (two, three) = (try stage(layers: 2, llama: false), try stage(layers: 3, llama: false))
        #expect(three.activationBytesPerMicrobatch - two.activationBytesPerMicrobatch == 4_096)
        let llama = try stage(layers: 2, llama: true)
        #expect(two.activationBytesPerMicrobatch - llama.activationBytesPerMicrobatch == 2_048 + 128,
                "\(two.activationBytesPerMicrobatch) against Llama's \(llama.activationBytesPerMicrobatch)")
    }

    /// The head's layer runs once and keeps what its backward pass reads per microbatch in flight, as GPipe's
    /// every microbatch holds it until the backward passes start: the loss's fp32 softmax, 4 bytes a logit (a
    /// microbatch of one sequence: 256 more classes are 32 x 256 x 4 = 32,768 bytes more). Before, the head's
    /// layer was counted once whatever the microbatches in flight, as if it reran.
    @Test("the head's layer keeps the loss's fp32 softmax per microbatch in flight")
    func headKeptPerMicrobatch() throws {
        let (narrow, wide) = (try stage(layers: 2, llama: true), try stage(layers: 2, llama: true, vocabulary: 512))
        #expect(wide.activationBytesPerMicrobatch - narrow.activationBytesPerMicrobatch == 32 * 256 * 4)
        // The buffers of the loss's backward pass (a 16-bit gradient of the logits, 2 bytes each) are held once, or a
        // block's rerun less the head's kept tensors of the microbatch whose backward pass runs, whichever is more.
        #expect(wide.backwardWorkingBytes >= 32 * 512 * 2)
    }

    /// A softmax in an output layer is not explicit attention's: a perceptron of two layers under a softmax head,
    /// with no attention anywhere, has no transformer block, so its whole forward pass reruns (before, the head's
    /// softmax marked the head as the only block, and only the head reran: a third of the forward pass).
    @Test("a softmax head marks no block: a graph without attention reruns its whole forward pass")
    func softmaxHeadIsNoBlock() throws {
        var builder = GraphBuilder(name: "mlp-softmax-head")
        let x = try builder.input("x", [1024, 1024], .bf16)
        let (w1, w2, w3) = (try builder.parameter("w1", [1024, 4096]), try builder.parameter("w2", [4096, 1024]),
                            try builder.parameter("w3", [1024, 1024]))
        builder.currentLayer = "l0"
        let a = try builder.unary("a", .gelu, try builder.einsum("h", "bd,df->bf", x, w1))
        builder.currentLayer = "l1"
        let z = try builder.unary("z", .gelu, try builder.einsum("y", "bf,fd->bd", a, w2))
        builder.currentLayer = "head"
        let probabilities = try builder.add("p", .softmax(axis: -1), [try builder.einsum("logits", "bd,de->be", z, w3)])
        builder.output(try builder.add("loss", .reduce(.mean, axes: [0, 1], keepDimensions: false), [probabilities]))
        let graph = try builder.build()
        let cluster = try Cluster.preset(named: "single-a100-80g")
        let model = StageCostModel(graph: graph, kernels: KernelModel(device: cluster.device),
                                   options: TrainingOptions(recompute: .full), microbatches: 1)
        let operations = 0 ..< graph.operations.count
        let cost = model.cost(of: StageLayout(operations: operations, mesh: try DeviceMesh(devices: [0], shape: [1], in: cluster),
                                              strategies: operations.map { _ in OpStrategy(indexOfAxis: [nil]) }))
        #expect(model.checkpointedRuns.isEmpty)
        #expect(abs(cost.recomputeSeconds - cost.forwardSeconds) < 1e-12 * cost.forwardSeconds,
                "\(cost.recomputeSeconds) against \(cost.forwardSeconds)")
    }

    /// Over fp32 weights autocast casts each product's weight once a forward pass, and a full recomputation's rerun
    /// casts again only the weights the blocks' products read: a stage of gpt-tiny's head alone (final norm, the
    /// tied table's product, the loss) reruns nothing, in the exact model and the search's terms (before, the
    /// head's cast of the 256 x 64 table was charged again as recomputation in both).
    @Test("over fp32 weights the head's cast is not rerun: a stage of the head alone recomputes nothing")
    func headCastIsNotRerun() throws {
        let graph = try ModelCatalog.model(id: "gpt-tiny")!.build()
        let head = try #require(graph.operations.firstIndex { $0.layer == "head" })
        let operations = head ..< graph.operations.count
        let cluster = try Cluster.preset(named: "single-a100-80g")
        let mesh = try DeviceMesh(devices: [0], shape: [1], in: cluster)
        let layout = StageLayout(operations: operations, mesh: mesh, strategies: operations.map { _ in OpStrategy(indexOfAxis: [nil]) })
        func priced(_ recompute: RecomputeMode) -> (exact: StageCost, search: Double) {
            let model = StageCostModel(graph: graph, kernels: KernelModel(device: cluster.device),
                                       options: TrainingOptions(recompute: recompute, optimizerState: .fp32Weights), microbatches: 2)
            let terms = StageCostTerms(model: model, operations: operations, mesh: mesh, inFlight: 1)
            return (model.cost(of: layout), operations.reduce(0) { $0 + terms.nodeTerms($1, layout.strategy(of: $1)).seconds })
        }
        let (full, none) = (priced(.full), priced(.none))
        #expect(full.exact.recomputeSeconds == 0, "\(full.exact.recomputeSeconds) s recomputed")
        #expect(abs(full.exact.backwardSeconds - none.exact.backwardSeconds) < 1e-12 * none.exact.backwardSeconds)
        #expect(abs(full.search - none.search) < 1e-12 * none.search, "search \(full.search) s under full, \(none.search) s without")
    }

    /// An output layer apart from the loss's layer (a graph whose hints name the head's product and the loss
    /// apart): the head runs once, so autocast's 16-bit copy of the weight its product reads stays from the forward
    /// pass to the backward pass, one a microbatch in flight: gpt-tiny's tied 256 x 64 table, 32,768 bytes (before,
    /// it was counted nowhere under full recomputation).
    @Test("over fp32 weights an output layer outside the blocks keeps its weight's 16-bit copy a microbatch")
    func outputLayerKeepsItsCastCopy() throws {
        let built = try ModelCatalog.model(id: "gpt-tiny")!.build()
        var operations = built.operations
        for index in operations.indices where operations[index].op == .crossEntropy { operations[index].layer = "loss" }
        let graph = Graph(name: built.name, values: built.values, inputs: built.inputs, parameters: built.parameters,
                          operations: operations, outputs: built.outputs,
                          identifiers: Dictionary(uniqueKeysWithValues: built.values.indices.map { (built.values[$0].name, ValueID($0)) }))
        let cluster = try Cluster.preset(named: "single-a100-80g")
        let mesh = try DeviceMesh(devices: [0], shape: [1], in: cluster)
        let all = 0 ..< graph.operations.count
        let layout = StageLayout(operations: all, mesh: mesh, strategies: all.map { _ in OpStrategy(indexOfAxis: [nil]) })
        func activations(_ state: OptimizerStatePrecision) -> Double {
            StageCostModel(graph: graph, kernels: KernelModel(device: cluster.device),
                           options: TrainingOptions(recompute: .full, optimizerState: state), microbatches: 2)
                .cost(of: layout).activationBytesPerMicrobatch
        }
        #expect(activations(.fp32Weights) - activations(.fp32) == 32_768)
    }

    /// A weight resharded for a later reader every microbatch is part of that reader's forward pass: gpt-tiny's tied
    /// table stored split along the hidden index by the lookup (2 devices) and gathered whole by the head's product
    /// each microbatch. The head is outside every block, so full recomputation does not gather it again: the rerun
    /// is the same as with the table stored whole (before, the head's gather was counted as recomputation).
    @Test("a weight gathered for a reader outside the blocks is not charged again as recomputation")
    func weightReshardingOutsideBlocksIsNotRerun() throws {
        let graph = try ModelCatalog.model(id: "gpt-tiny")!.build()
        let cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        let mesh = try DeviceMesh(devices: [0, 1], shape: [2], in: cluster)
        let all = 0 ..< graph.operations.count
        let lookup = try #require(graph.operations.firstIndex { $0.name == "embed" })
        let model = StageCostModel(graph: graph, kernels: KernelModel(device: cluster.device),
                                   options: TrainingOptions(recompute: .full), microbatches: 2)
        let whole = StageLayout(operations: all, mesh: mesh, strategies: all.map { _ in OpStrategy(indexOfAxis: [nil]) })
        var split = whole
        split.strategies[lookup] = OpStrategy(indexOfAxis: [3])
        let (wholeCost, splitCost) = (model.cost(of: whole), model.cost(of: split))
        #expect(splitCost.forwardCommunicationSeconds > wholeCost.forwardCommunicationSeconds)
        #expect(abs(splitCost.recomputeSeconds - wholeCost.recomputeSeconds) < 1e-12 * wholeCost.recomputeSeconds,
                "\(splitCost.recomputeSeconds) against \(wholeCost.recomputeSeconds)")
    }
}
