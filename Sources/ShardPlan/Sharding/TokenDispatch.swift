/// How a mixture of experts' layer routes its tokens, as far as the all-to-alls that carry them depend on it: each
/// token goes to `topK` of `experts` experts, which an expert-parallel group holds in equal contiguous shares, and
/// the dispatcher either sends one copy a chosen expert (NCCL's all-to-all of the permuted buffer, Megatron-Core's
/// `alltoall` dispatcher, torchtitan's standard one) or one copy a destination rank and, across nodes, one a
/// destination node, which that node's GPUs forward to their peers over NVLink (`deduplicates`: DeepEP, HybridEP;
/// `ExpertDispatcher`). Routing is taken as balanced and uniform: every set of `topK` distinct experts as likely.
public struct TokenDispatch: Hashable, Sendable {
    /// Experts the layer routes among.
    public var experts: Int
    /// Experts each token goes to: the copies of it the permuted buffer holds.
    public var topK: Int
    /// Whether the dispatcher sends a token once per destination rank and node rather than once per expert.
    public var deduplicates: Bool

    public init(experts: Int, topK: Int, deduplicates: Bool = false) {
        self.experts = experts
        self.topK = topK
        self.deduplicates = deduplicates
    }

    /// The chance that a token reaches none of the `held` experts of one rank or node: `topK` distinct experts drawn
    /// from `experts`, none of them among `held`, `prod_{i < k} (E - m - i) / (E - i)`.
    public func missChance(held: Double) -> Double {
        var chance = 1.0
        for draw in 0 ..< topK {
            let total = Double(experts - draw)
            guard total > 0 else { break }
            chance *= max(total - held, 0) / total
        }
        return chance
    }
}
