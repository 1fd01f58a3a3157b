import Testing
@testable import ShardPlan

/// DeepSeek's multi-head latent attention under Megatron's tensor parallelism, as Megatron-Core lays it out
/// (`megatron/core/transformer/multi_latent_attention.py`, `MLASelfAttention`; the modules picked in
/// `megatron/core/models/gpt/gpt_layer_specs.py`): the down-projections `q_a` and `kv_a` duplicated on every
/// rank, their norms on the whole latent, the up-projections column-parallel over heads, attention on the local
/// heads, the output projection row-parallel.
///
/// One block of hidden 64, 4 heads, query rank 32, key-value rank 16, 16 + 8 rotary per query and key head and
/// values of 16, on 16 sequences of 128 tokens (2,048 tokens).
@Suite("Megatron layout of latent attention")
struct LatentAttentionLayoutTests {
    static let tokens = 16 * 128
    static let (hidden, queryRank, keyValueRank, rotary) = (64, 32, 16, 8)

    let graph: Graph

    init() throws {
        var configuration = TransformerConfiguration.llama(layers: 1, hidden: Self.hidden, heads: 4, keyValueHeads: 4,
                                                           feedForwardHidden: 176, vocabulary: 512, sequenceLength: 128,
                                                           globalBatch: 16)
        configuration.headDimension = 16
        configuration.latentAttention = .init(queryRank: Self.queryRank, keyValueRank: Self.keyValueRank,
                                              positionlessDimension: 16, rotaryDimension: Self.rotary)
        graph = try TransformerBuilder(name: "mla-tiny", configuration: configuration).build()
    }

    /// The index each attention op splits on the tensor axis (nil: replicated), by name, on a `[1, size]` mesh.
    func tensorSplits(size: Int, sequenceParallel: Bool) -> [String: String?] {
        let strategies = MegatronLayout(sequenceParallel: sequenceParallel).strategies(for: graph, meshShape: [1, size])
        var splits: [String: String?] = [:]
        for (index, operation) in graph.operations.enumerated() where operation.name.hasPrefix("h0.attn") {
            splits.updateValue(strategies[index].indexOfAxis[MegatronLayout.tensorAxis].map { operation.indexSpace.indices[$0].name },
                               forKey: operation.name)
        }
        return splits
    }

    /// Without sequence parallelism: `q_a`, `kv_a`, their slices and norms and the rotary key replicated; the
    /// up-projections split heads (`h` of `rhk`), and so does everything after them up to the output
    /// projection, which is row-parallel (its summed `h`). With it: the input norm, `q_a`, `kv_a`, their norms and
    /// the rotary key's rotation split the sequence (`s`, `d1`, `g1`) and the rest is unchanged. The rotary key
    /// broadcast to every head splits heads (`d2`) either way.
    static let expected: [(name: String, plain: String?, sequenceParallel: String?)] = [
        ("h0.attn.norm", nil, "d1"),
        ("h0.attn.q_a", nil, "s"),
        ("h0.attn.q_a.norm", nil, "d1"),
        ("h0.attn.q_b", "h", "h"),
        ("h0.attn.q.free", "d2", "d2"),
        ("h0.attn.q.rotary", "d2", "d2"),
        ("h0.attn.q.rotated", "h", "h"),
        ("h0.attn.q", "d2", "d2"),
        ("h0.attn.kv_a", nil, "s"),
        ("h0.attn.kv.latent", nil, "d1"),
        ("h0.attn.k.shared_rotary", nil, "d1"),
        ("h0.attn.kv_a.norm", nil, "d1"),
        ("h0.attn.kv_b", "h", "h"),
        ("h0.attn.k.free", "d2", "d2"),
        ("h0.attn.v", "d2", "d2"),
        ("h0.attn.k.rotated", nil, "s"),
        ("h0.attn.k.rotary", "d2", "d2"),
        ("h0.attn.k", "d2", "d2"),
        ("h0.attn", "heads", "heads"),
        ("h0.attn.out", "h", "h"),
        ("h0.attn.residual", nil, "d1"),
    ]

    @Test("each latent-attention op's tensor split under tp 2 and 4, with and without sequence parallelism",
          arguments: [2, 4], [false, true])
    func strategies(size: Int, sequenceParallel: Bool) {
        let splits = tensorSplits(size: size, sequenceParallel: sequenceParallel)
        for (name, plain, withSequence) in Self.expected {
            let wanted = sequenceParallel ? withSequence : plain
            #expect(splits[name] == .some(wanted), "\(name) splits \(String(describing: splits[name] ?? nil)), expected \(String(describing: wanted))")
        }
    }

    @Test("the down-projections' weights stay whole on every rank; the up-projections read the whole latent; under SP the latent, not the hidden state, is gathered")
    func operandLayouts() throws {
        for sequenceParallel in [false, true] {
            let strategies = MegatronLayout(sequenceParallel: sequenceParallel).strategies(for: graph, meshShape: [1, 4])
            for name in ["h0.attn.q_a", "h0.attn.kv_a"] {
                let index = try #require(graph.operations.firstIndex { $0.name == name })
                #expect(strategies[index].operandSpec(1, in: graph.operations[index].indexSpace) == ShardingSpec(dimensionAxes: [[], []]))
                // The hidden state is read as it comes: whole, or split along the sequence under SP.
                #expect(strategies[index].operandSpec(0, in: graph.operations[index].indexSpace)
                    == ShardingSpec(dimensionAxes: [[], sequenceParallel ? [1] : [], []]))
            }
            for name in ["h0.attn.q_b", "h0.attn.kv_b"] {
                let index = try #require(graph.operations.firstIndex { $0.name == name })
                let space = graph.operations[index].indexSpace
                #expect(strategies[index].operandSpec(0, in: space) == ShardingSpec(dimensionAxes: [[], [], []]))
                #expect(strategies[index].operandSpec(1, in: space) == ShardingSpec(dimensionAxes: [[], [1], []]))
            }
        }
    }

    /// QK-norm normalizes each head, not the whole projection: Qwen3-style attention with 2 key-value heads on 4
    /// ranks keeps q column-parallel over heads and k over the head dimension (the heads do not divide), as
    /// before the rule for latents.
    @Test("QK-norm's per-head norms leave the query and key projections column-parallel")
    func queryKeyNormUnaffected() throws {
        var configuration = TransformerConfiguration.llama(layers: 1, hidden: 64, heads: 4, keyValueHeads: 2, feedForwardHidden: 176,
                                                           vocabulary: 512, sequenceLength: 128, globalBatch: 16)
        configuration.headDimension = 16
        configuration.queryKeyNorm = true
        let graph = try TransformerBuilder(name: "qk-norm", configuration: configuration).build()
        let strategies = MegatronLayout().strategies(for: graph, meshShape: [1, 4])
        for (name, index) in [("h0.attn.q", "h"), ("h0.attn.k", "k"), ("h0.attn.v", "k")] {
            let position = try #require(graph.operations.firstIndex { $0.name == name })
            let split = strategies[position].indexOfAxis[MegatronLayout.tensorAxis].map { graph.operations[position].indexSpace.indices[$0].name }
            #expect(split == index, "\(name)")
        }
    }

    /// The cost of the attention block alone (from its input norm to its residual add) on one node of
    /// `size` H100s, one microbatch of all 2,048 tokens.
    func attentionBlockCost(size: Int, sequenceParallel: Bool) throws -> StageCost {
        let cluster = try Cluster.preset(named: "dgx-h100")
        let first = try #require(graph.operations.firstIndex { $0.name == "h0.attn.norm" })
        let last = try #require(graph.operations.firstIndex { $0.name == "h0.attn.residual" })
        let strategies = MegatronLayout(sequenceParallel: sequenceParallel).strategies(for: graph, meshShape: [1, size])
        let mesh = try DeviceMesh(devices: Array(0 ..< size), shape: [1, size], in: cluster)
        let stage = StageLayout(operations: first ..< last + 1, mesh: mesh, strategies: Array(strategies[first ... last]))
        let model = StageCostModel(graph: graph, kernels: KernelModel(device: cluster.device), options: TrainingOptions(), microbatches: 1)
        return model.cost(of: stage)
    }

    /// Megatron-Core without sequence parallelism: the row-parallel output projection all-reduces the
    /// 2,048 x 64 hidden state forward (262,144 bytes in bf16); backward, the column-parallel up-projections
    /// all-reduce their inputs' gradients, 2,048 x 32 and 2,048 x 16, and the rotary key shared by the heads
    /// sums its per-rank gradient, 2,048 x 8: 2,048 x 56 x 2 = 229,376 bytes. Nothing else moves: the
    /// duplicated down-projections give every rank the whole gradient of the hidden state.
    @Test("tensor-parallel traffic of one latent-attention block without SP: all-reduces of 2,048 x (64 + 32 + 16 + 8) x 2 bytes",
          arguments: [2, 4])
    func trafficWithoutSequenceParallelism(size: Int) throws {
        let cost = try attentionBlockCost(size: size, sequenceParallel: false)
        let hiddenBytes = Double(Self.tokens * Self.hidden * 2)
        let latentBytes = Double(Self.tokens * (Self.queryRank + Self.keyValueRank + Self.rotary) * 2)
        #expect(hiddenBytes == 262_144 && latentBytes == 229_376)
        #expect(cost.communicationBytesByAxes == [[1]: [.allReduce: hiddenBytes + latentBytes]])
        #expect(cost.gradientSynchronizationBytesByAxes.isEmpty)
    }

    /// Megatron-Core with sequence parallelism: forward, the normed latents (2,048 x 32 and 2,048 x 16, gathered
    /// by the column-parallel up-projections) and the rotary key (2,048 x 8, `gather_from_sequence_parallel_region`)
    /// are all-gathered, and the output projection reduce-scatters the 2,048 x 64 hidden state; backward, the
    /// output projection all-gathers the hidden state's gradient and the three gathers become reduce-scatters.
    /// The 64-wide hidden state is never gathered before the down-projections. The duplicated weights (and the
    /// three norms' scales) then hold partial gradients, summed over the tensor-parallel ranks (Megatron-Core
    /// marks duplicated weights `sequence_parallel`, so that `finalize_model_grads` all-reduces them).
    @Test("tensor-parallel traffic of one latent-attention block with SP: 2,048 x (64 + 32 + 16 + 8) x 2 bytes all-gathered and as many reduce-scattered",
          arguments: [2, 4])
    func trafficWithSequenceParallelism(size: Int) throws {
        let cost = try attentionBlockCost(size: size, sequenceParallel: true)
        let bytes = Double(Self.tokens * (Self.hidden + Self.queryRank + Self.keyValueRank + Self.rotary) * 2)
        #expect(bytes == 491_520)
        #expect(cost.communicationBytesByAxes == [[1]: [.allGather: bytes, .reduceScatter: bytes]])
        // q_a.w 64 x 32, kv_a.w 64 x 24, and the scales of 64, 32 and 16.
        let duplicated = Double(64 * 32 + 64 * 24 + 64 + 32 + 16)
        #expect(cost.gradientSynchronizationBytesByAxes == [[1]: [.allReduce: duplicated * 2]])
    }
}
