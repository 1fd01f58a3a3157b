/// Context parallelism's key/value exchange (`ContextParallelCommunication`). The ring (Megatron-Core's CP with
/// `cp_comm_type p2p`, TransformerEngine's ring attention): an attention op whose query sequence is split over N devices while its keys and values
/// stay whole gathers the other N - 1 chunks of K and V, one per step of a ring, computing on the chunk it
/// holds while the next one arrives; in backward the gradients of K and V travel the ring back
/// (a reduce-scatter). A step's transfer hides behind that step's attention work, so of the exchange's time
/// only what exceeds the attention kernels of the N - 1 overlapped steps is exposed:
/// `max(0, exchange - attention x (N - 1) / N)`, K and V sharing the attention's time half each. With
/// Megatron's load-balanced causal chunks (each rank holds chunks i and 2N - 1 - i of 2N), every step does the
/// same work, which is what an even split of the query index prices. The all-gather (`cp_comm_type all_gather`)
/// moves the same bytes, exposed, and runs two kernels a rank (`gatheredSteps`). The all-to-all (`cp_comm_type a2a`)
/// re-splits each device's chunk of Q, K, V and the output by heads forward, and the output, its gradient and the
/// gradients of Q, K and V backward, exposed, and runs one kernel a rank over the whole sequence with its share of the
/// heads (`carry`, `allToAllBookkeeping`). PyTorch's ring (torchtitan's) runs the ring's kernels but gathers K and V
/// once, hidden only by the first step, merges in fp32, and passes fp32 gradients around the ring (`carry`,
/// `pytorchRingBookkeeping`). Hierarchical context parallelism (`a2a+p2p`) runs the all-to-all inside groups of the
/// innermost axis and the ring between them (`hierarchy(ringAxes:meshShape:)`, `carry`). "Ring" names the group of
/// devices that split the queries, whatever the exchange.
public enum ContextParallelExchange {
    /// The devices of the ring: the product of the mesh axes that split the attention's query index; 1 for an
    /// op that is not attention or whose queries are whole.
    public static func ringSize(_ operation: Operation, _ strategy: OpStrategy, meshShape: [Int]) -> Int {
        guard case .attention = operation.op,
              let query = operation.indexSpace.indices.firstIndex(where: { $0.name == "query" }) else { return 1 }
        return strategy.splitFactor(of: query, meshShape: meshShape)
    }

    /// The mesh axes that split an attention op's query index under `strategy`, in order; empty for any other op.
    public static func ringAxes(_ operation: Operation, _ strategy: OpStrategy) -> [Int] {
        guard case .attention = operation.op,
              let query = operation.indexSpace.indices.firstIndex(where: { $0.name == "query" }) else { return [] }
        return strategy.indexOfAxis.indices.filter { strategy.indexOfAxis[$0] == query }
    }

    /// Whether each device of attention op `operation` of `graph` under `strategy` holds whole query and key/value heads
    /// once the all-to-all exchange re-splits them over the devices that split its queries: the ring's size (under
    /// hierarchical context parallelism, `communication`, its all-to-all group's) times the split of the heads divides
    /// both head counts (TransformerEngine's `AttnFuncWithCPAndQKVOA2A` asserts it). True for attention whose queries
    /// are whole.
    public static func splitsWholeHeads(_ operation: Operation, _ strategy: OpStrategy, in graph: Graph, meshShape: [Int],
                                        communication: ContextParallelCommunication = .allToAll) -> Bool {
        let ring = ringSize(operation, strategy, meshShape: meshShape)
        guard ring > 1, let heads = operation.indexSpace.indices.firstIndex(where: { $0.name == "heads" }) else { return true }
        let group = communication == .hierarchical ? hierarchySizes(operation, strategy, meshShape: meshShape).allToAll : ring
        let ranks = group * strategy.splitFactor(of: heads, meshShape: meshShape)
        return AttentionHeads(of: operation, in: graph).divide(over: ranks)
    }

    /// Hierarchical context parallelism's two groups (`ContextParallelCommunication.hierarchical`) for a ring over
    /// `ringAxes` of a mesh of `meshShape` (axes of size 1 split nothing and are left out): the all-to-all over the
    /// innermost axis, whose devices are nearest (a node's, where the mesh puts them there), and the ring over the
    /// others; a ring over one axis is the all-to-all alone.
    public static func hierarchy(ringAxes: [Int], meshShape: [Int]) -> (allToAll: [Int], ring: [Int]) {
        let axes = ringAxes.filter { meshShape[$0] > 1 }
        guard let inner = axes.max() else { return ([], []) }
        return ([inner], axes.filter { $0 != inner })
    }

    /// The devices of `hierarchy`'s all-to-all group and of its ring for attention op `operation` under `strategy`
    /// (1 and 1 where its queries are whole; the ring 1 where they split over one axis).
    public static func hierarchySizes(_ operation: Operation, _ strategy: OpStrategy, meshShape: [Int]) -> (allToAll: Int, ring: Int) {
        let groups = hierarchy(ringAxes: ringAxes(operation, strategy), meshShape: meshShape)
        return (groups.allToAll.reduce(1) { $0 * meshShape[$1] }, groups.ring.reduce(1) { $0 * meshShape[$1] })
    }

    /// Whether `collectives` are the ring's exchange: every one of them of `kind` (all-gathers forward,
    /// reduce-scatters backward) along exactly the axes that split the queries.
    public static func isRingExchange(_ collectives: [Collective], kind: CollectiveKind, _ operation: Operation,
                                      _ strategy: OpStrategy) -> Bool {
        let axes = ringAxes(operation, strategy)
        return !axes.isEmpty && !collectives.isEmpty && collectives.allSatisfy { $0.kind == kind && $0.axes.sorted() == axes }
    }

    /// The collectives that carry K's or V's exchange, whose layout change into the op (`forward`: the gather of their
    /// `ringSize` chunks) or out of it (the reduce-scatter of their gradients) is `layoutChange`, and the seconds of
    /// them left exposed behind `attentionSeconds` of the op's kernels, each collective priced by `priced`; K and V
    /// share the kernels' time half each.
    /// - TransformerEngine's ring: the layout change itself; a step's transfer hides behind the step before, `(N - 1) / N`
    ///   of the kernels.
    /// - The all-gather: the layout change itself, exposed whole: the gather ends before the kernels start, and the
    ///   gradients' reduce-scatter begins after they end.
    /// - The all-to-all: an all-to-all of the chunk a device holds (the gather's bytes over N), which re-splits it from
    ///   sequence chunks to head groups, or the gradient's back; exposed whole.
    /// - PyTorch's ring: forward the gather, waited for at the second step, so that only the first step's kernel hides
    ///   it (`1 / N`). Backward the re-gather and the gradients' N passes around the ring in fp32 (`_AllToAllRotater`'s
    ///   permutes), each pass hidden by the next step's kernel but the last, which is waited for after the last kernel;
    ///   the re-gather and the passes are set against the backward kernels together (an approximation: the re-gather
    ///   is waited for at the second step). The passes move a device's fp32 chunk each, priced as the all-gather that moves as many
    ///   bytes: `w G N / (N - 1)` for a reduce-scatter of `G` bytes, `w` the `gradientWidening` to fp32.
    /// - PyTorch's ring with the all-to-all rotation: forward the gather's bytes as N - 1 permutes, each hidden by one
    ///   of the first N - 1 kernels (`(N - 1) / N`, as TransformerEngine's ring). Backward as the all-gather rotation:
    ///   K and V pass the ring again (the re-gather's bytes, behind the kernels) beside their gradients. Each permute is
    ///   priced as its share of the gather, without a latency of its own.
    /// - Hierarchical context parallelism (`hierarchy(ringAxes:meshShape:)`, a devices to the all-to-all group and b = N / a to
    ///   the ring): the all-to-all of the device's chunk over the group, exposed, then the ring's layout change over
    ///   its axes, of the chunks of b ranks (the gather's bytes over a), hidden as TransformerEngine's ring hides it,
    ///   behind `(b - 1) / b` of the kernels. Without ring axes (`meshShape` gives the sizes) it is the all-to-all.
    public static func carry(_ layoutChange: [Collective], ringSize: Int, communication: ContextParallelCommunication,
                             gradientWidening: Double, attentionSeconds: Double, forward: Bool, meshShape: [Int],
                             priced: (Collective) -> Double) -> (collectives: [Collective], exposedSeconds: Double) {
        func seconds(_ collectives: [Collective]) -> Double { collectives.reduce(0) { $0 + priced($1) } }
        guard ringSize > 1 else { return (layoutChange, seconds(layoutChange)) }
        let steps = Double(ringSize)
        switch communication {
        case .hierarchical:
            let groups = hierarchy(ringAxes: layoutChange.first?.axes.sorted() ?? [], meshShape: meshShape)
            let ring = groups.ring.reduce(1) { $0 * meshShape[$1] }
            let allToAll = layoutChange.map { Collective(.allToAll, axes: groups.allToAll, bytes: $0.bytes / steps) }
            guard ring > 1 else { return (allToAll, seconds(allToAll)) }
            let passes = layoutChange.map { Collective($0.kind, axes: groups.ring, bytes: $0.bytes * Double(ring) / steps) }
            let hidden = attentionSeconds * Double(ring - 1) / Double(ring) / 2
            return (allToAll + passes, seconds(allToAll) + max(0, seconds(passes) - hidden))
        case .ring:
            return (layoutChange, max(0, seconds(layoutChange) - attentionSeconds * (steps - 1) / steps / 2))
        case .allGather:
            return (layoutChange, seconds(layoutChange))
        case .allToAll:
            let carried = layoutChange.map { Collective(.allToAll, axes: $0.axes, bytes: $0.bytes / steps) }
            return (carried, seconds(carried))
        case .pytorchRing, .pytorchRingAllToAll:
            // Forward the gather hides behind the first step's kernel; the all-to-all rotation's N - 1 permutes each
            // behind one of the first N - 1 kernels, as TransformerEngine's ring.
            let hiding = communication == .pytorchRingAllToAll ? (steps - 1) / steps : 1 / steps
            guard !forward else { return (layoutChange, max(0, seconds(layoutChange) - attentionSeconds * hiding / 2)) }
            let regathers = layoutChange.map { Collective(.allGather, axes: $0.axes, bytes: $0.bytes) }
            let passes = layoutChange.map { Collective(.allGather, axes: $0.axes, bytes: gradientWidening * $0.bytes * steps / (steps - 1)) }
            let last = seconds(passes) / steps
            return (regathers + passes, max(0, seconds(regathers) + seconds(passes) - last - attentionSeconds / 2) + last)
        }
    }

    /// The memory-bound work TransformerEngine's ring attention does around its attention kernels on one device,
    /// per layer and microbatch, for a ring of `ringSize` steps: bytes moved and kernels launched, forward and
    /// backward. `query` is the bytes of the local query chunk (and of the output), `keyValue` those of the local
    /// K and V chunks together, `statistics` those of the fp32 log-sum-exp (`AttnFuncWithCP` in TE 1.8's
    /// `transformer_engine/pytorch/attention.py`, cuDNN's fused attention; the rank that copies query halves, the
    /// slower one). Forward: K and V are concatenated into the exchange buffer; each later step copies half a
    /// chunk into a contiguous buffer; the bf16 output accumulator is zeroed; the log-sum-exp is cloned, widened
    /// to fp64, corrected once per later step and narrowed back; after the loop every step's output is rescaled
    /// into the accumulator (read the step's output and the accumulator, write the accumulator). Backward: half
    /// the log-sum-exp and K and V are copied; each later step copies half of q, the output and its gradient;
    /// cuDNN's dk and dv are concatenated every step; dq and dk/dv are accumulated in bf16, a copy at the first
    /// step and an add (two reads, one write) at each later one.
    public static func bookkeeping(ringSize: Int, query: Double, keyValue: Double, statistics: Double)
        -> (forward: (bytes: Double, kernels: Int), backward: (bytes: Double, kernels: Int)) {
        guard ringSize > 1 else { return ((0, 0), (0, 0)) }
        let steps = Double(ringSize), later = Double(ringSize - 1)
        let forward = 2 * keyValue + later * max(query, keyValue) + query
            + (8 + 5 * later) * statistics + steps * (3 * query + 2 * statistics)
        let backward = statistics + 2 * keyValue + 3 * later * query + 2 * steps * keyValue
            + (2 + 3 * later) * query + (2 + 3 * later) * keyValue
        return ((forward, 5 + 2 * (ringSize - 1) + ringSize), (backward, 2 + 3 * (ringSize - 1) + 3 * ringSize))
    }

    /// One attention kernel call of a rank under the all-gather exchange, per batch row and head: the query-key
    /// pairs it computes, the keys it reads, and the mask edges (the causal diagonal, a window's far edge) its
    /// tiles cross, each of which costs part of a tile row as the causal kernel's overhead does.
    public struct GatheredStep: Equatable, Sendable {
        public var pairs: Double
        public var keyLength: Double
        public var maskEdges: Int
    }

    /// The two kernel calls rank `rank` of `ringSize` makes under the all-gather exchange over `keys` keys, as
    /// TransformerEngine's `AttnFuncWithCPAndKVAllGather` runs them: its load-balanced query chunks `rank` and
    /// `2N - 1 - rank` of `2N`, each of `c = keys / 2N` queries. Under a causal mask chunk k (first query
    /// `a = k c`) reads the keys before its end, `a + c`, from the first one, or under a window of `w` keys from the
    /// `w - 1` before its first query (`get_kv_seq_info_after_all_gather`); its pairs are the prefix's to its end less
    /// the prefix's to its start (`SlidingWindow.pairs`). It crosses the causal diagonal, and a window's far edge
    /// where its queries reach past the window's length. Without a mask every chunk reads every key.
    public static func gatheredSteps(rank: Int, ringSize: Int, keys: Double, causal: Bool, window: Int?) -> [GatheredStep] {
        let chunk = keys / Double(2 * ringSize)
        return [rank, 2 * ringSize - 1 - rank].map { index in
            guard causal else { return GatheredStep(pairs: chunk * keys, keyLength: keys, maskEdges: 0) }
            let first = Double(index) * chunk, end = first + chunk
            let width = window.map(Double.init) ?? .infinity
            let pairs = SlidingWindow.pairs(tokens: end, window: width) - SlidingWindow.pairs(tokens: first, window: width)
            let start = max(0, first - (width - 1))
            return GatheredStep(pairs: pairs, keyLength: end - start, maskEdges: end > width ? 2 : 1)
        }
    }

    /// The memory-bound work around the all-gather exchange's kernels on one device, per layer and microbatch (`AttnFuncWithCPAndKVAllGather`,
    /// TransformerEngine 2.x, `sbhd` as Megatron-Core lays q, k and v out, so that selecting a chunk copies nothing).
    /// `query` is the bytes of the local queries (and of the output), `keyValue` those of the local K and V chunks
    /// together, `readKeyValue` those of K and V over the keys both steps read, summed. Forward: the gathered K and V are
    /// reordered into sequence order (`index_select`: read and write N chunks each), and each step's output is copied
    /// into the output (read and write half of it). Backward: K and V are gathered and reordered again, the full-length
    /// gradients of K and V are zeroed, each step's dq copied into dq, its dk and dv added into their range (two reads,
    /// one write), and dk and dv reordered back before their reduce-scatter.
    public static func gatheredBookkeeping(ringSize: Int, query: Double, keyValue: Double, readKeyValue: Double)
        -> (forward: (bytes: Double, kernels: Int), backward: (bytes: Double, kernels: Int)) {
        guard ringSize > 1 else { return ((0, 0), (0, 0)) }
        let gathered = Double(ringSize) * keyValue
        return ((2 * gathered + 2 * query, 4), (5 * gathered + 2 * query + 3 * readKeyValue, 12))
    }

    /// The memory-bound work around the all-to-all exchange's kernel on one device, per layer and microbatch
    /// (`AttnFuncWithCPAndQKVOA2A` and `flash_attn_a2a_communicate`, TransformerEngine 2.x, `sbhd`). `query` is the
    /// bytes of the local queries (and of the output), `keyValue` those of the local K and V chunks together. Each
    /// tensor that crosses the all-to-all is copied twice: before it, its heads are moved in front of the sequence
    /// (a `contiguous` copy), and after it, the load-balanced sequence chunks are put in order (an `index_select`);
    /// read and written, 4 bytes a byte. Forward: q, k, v and the output; backward: the output (kept split by
    /// sequence) and its gradient, and the gradients of q, k and v.
    public static func allToAllBookkeeping(query: Double, keyValue: Double)
        -> (forward: (bytes: Double, kernels: Int), backward: (bytes: Double, kernels: Int)) {
        ((4 * (2 * query + keyValue), 8), (4 * (3 * query + keyValue), 10))
    }

    /// The memory-bound work around PyTorch's ring attention's kernels on one device, per layer and microbatch, for a
    /// ring of `ringSize` steps (`_templated_ring_attention` and its backward, `torch/distributed/tensor/experimental/
    /// _attention.py`, eager ATen ops; the last rank, whose later steps merge whole outputs, the slower one forward; backward the
    /// first rank's updates of half the queries move `1.5 (Q - KV)` more a later step where K and V are grouped, unpriced). `query` is
    /// the bytes of the local queries (and of the output, 16-bit), `keyValue` those of the local K and V chunks together,
    /// `statistics` those of the fp32 log-sum-exp. Forward: K and V made contiguous (torchtitan hands SDPA transposed
    /// views) and concatenated into the send buffer before each step but the last; the first step's output widened to fp32; at each later step the step's output widened and merged
    /// (`out - sigmoid(lse_step - lse) * (out - out_step)`, `lse - logsigmoid(lse - lse_step)`: 9 kernels, 19 output
    /// bytes and 14 statistics bytes a 16-bit output byte and statistics byte); the result narrowed. Backward: fp32 dq,
    /// dk and dv zeroed; K and V made contiguous and concatenated again; the first step's dk and dv added into the fp32 ones, each later
    /// step's added into the first half of the received ones and concatenated back (`_partial_update`); dk and dv
    /// concatenated in fp32 to be sent each step; dq accumulated in fp32 each step; dq and the last received dk and dv
    /// narrowed.
    public static func pytorchRingBookkeeping(ringSize: Int, query: Double, keyValue: Double, statistics: Double)
        -> (forward: (bytes: Double, kernels: Int), backward: (bytes: Double, kernels: Int)) {
        guard ringSize > 1 else { return ((0, 0), (0, 0)) }
        let steps = Double(ringSize), later = Double(ringSize - 1)
        let forward = 2 * keyValue * steps + 6 * query + later * (19 * query + 14 * statistics)
        let backward = (5 * steps + 5) * query + (12 + 8.5 * later + 4 * steps) * keyValue
        return ((forward, 10 * (ringSize - 1) + 4), (backward, 9 + 5 * (ringSize - 1) + 2 * ringSize))
    }
}
