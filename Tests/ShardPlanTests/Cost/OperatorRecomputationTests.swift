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

/// What a checkpointed block keeps at its edges: an input it reads through a view, and the inputs of a pipeline
/// stage that starts inside a block.
@Suite("Op-level selective recomputation at a block's edges")
struct OperatorRecomputationEdgeTests {
    let cluster: Cluster

    init() throws { cluster = try Cluster.preset(named: "single-a100-80g") }

    /// llama-tiny's shape with three blocks, one 32-token sequence a microbatch.
    func llama() throws -> Graph {
        try TransformerBuilder(name: "llama-3", configuration: .llama(
            layers: 3, hidden: 64, heads: 4, keyValueHeads: 2, feedForwardHidden: 176,
            vocabulary: 256, sequenceLength: 32, globalBatch: 8)).build()
    }

    func cost(_ graph: Graph, _ operations: Range<Int>) throws -> (exact: StageCost, search: Double) {
        let model = StageCostModel(graph: graph, kernels: KernelModel(device: cluster.device),
                                   options: TrainingOptions(recompute: .selectiveOperators), microbatches: 8)
        let mesh = try DeviceMesh(devices: [0], shape: [1], in: cluster)
        let stage = StageLayout(operations: operations, mesh: mesh,
                                strategies: operations.map { _ in OpStrategy(indexOfAxis: [nil]) })
        let exact = model.cost(of: stage)
        let terms = StageCostTerms(model: model, operations: operations, mesh: mesh, inFlight: 1)
        // The search holds what a block drops once, beside what it keeps per microbatch, as the exact model does.
        let search = operations.reduce(0.0) { $0 + terms.nodeTerms($1, stage.strategy(of: $1)).memory } - exact.modelStateBytes
            - exact.backwardWorkingBytes
        return (exact, search)
    }

    @Test("a stage that starts after a block's attention keeps what it receives: attention's output and the residual")
    func stageInsideABlock() throws {
        let graph = try llama()
        let attention = try #require(graph.operations.firstIndex { $0.name == "h1.attn" })
        let block = graph.operations.indices.filter { graph.operations[$0].layer == "layer1" }
        let (exact, search) = try cost(graph, (attention + 1) ..< (block.last! + 1))
        // Received: attention's output (32·4·16·2 = 4,096) and the block's input, which the residual add reruns
        // from (32·64·2 = 4,096); stored: gate (32·176·2 = 11,264) and down (4,096).
        #expect(exact.activationBytesPerMicrobatch == 23_552)
        #expect(search == 23_552)
    }

    @Test("the search's per-op memory adds up to the exact model's for a whole block")
    func searchAgreesOnABlock() throws {
        let graph = try llama()
        let block = graph.operations.indices.filter { graph.operations[$0].layer == "layer1" }
        let (exact, search) = try cost(graph, block.first! ..< (block.last! + 1))
        #expect(exact.activationBytesPerMicrobatch == 30_208 && search == 30_208)
    }

    @Test("a block that reads its input through a view keeps the input once")
    func inputThroughAView() throws {
        func block(reshaped: Bool) throws -> Graph {
            var builder = GraphBuilder(name: "view")
            builder.currentLayer = "embed"
            let tokens = try builder.input("tokens", [2, 64], .i32)
            let x = try builder.add("x", .embedding, [tokens, try builder.parameter("table", [100, 128])])
            builder.currentLayer = "layer0"
            let input = reshaped ? try builder.reshape("x.view", x, [2, 64, 128]) : x
            let normed = try builder.rmsNorm("norm", input, scale: try builder.parameter("g", [128]))
            let q = try builder.einsum("q", "bsd,dhk->bshk", normed, try builder.parameter("wq", [128, 4, 32]))
            let k = try builder.einsum("k", "bsd,dhk->bshk", normed, try builder.parameter("wk", [128, 4, 32]))
            let v = try builder.einsum("v", "bsd,dhk->bshk", normed, try builder.parameter("wv", [128, 4, 32]))
            let context = try builder.attention("attention", q: q, k: k, v: v, causal: true)
            let out = try builder.einsum("out", "bshk,hkd->bsd", context, try builder.parameter("wo", [4, 32, 128]))
            let sum = try builder.binary("residual", .add, input, out)
            builder.currentLayer = "head"
            builder.output(try builder.add("loss", .reduce(.mean, axes: [0, 1, 2], keepDimensions: false), [sum]))
            return try builder.build()
        }
        let plain = try block(reshaped: false), viewed = try block(reshaped: true)
        let (withoutView, _) = try cost(plain, 0 ..< plain.operations.count)
        let (withView, _) = try cost(viewed, 0 ..< viewed.operations.count)
        #expect(withView.activationBytesPerMicrobatch == withoutView.activationBytesPerMicrobatch)
        #expect(withView.backwardWorkingBytes == withoutView.backwardWorkingBytes)
    }
}
