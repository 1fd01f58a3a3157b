/// How a mixture of experts' layer routes its tokens, as far as the all-to-alls that carry them depend on it: each
/// token goes to `topK` of `experts` experts, which an expert-parallel group holds in equal contiguous shares, and
/// the dispatcher either sends one copy a chosen expert (NCCL's all-to-all of the permuted buffer, Megatron-Core's
/// `alltoall` dispatcher, torchtitan's standard one) or one copy a destination rank and, across nodes, one a
/// destination node, which that node's GPUs forward to their peers over NVLink (`deduplicates`: DeepEP, HybridEP;
/// `ExpertDispatcher`). Routing is taken as balanced and uniform: every set of `topK` distinct experts as likely, or,
/// under group-limited routing (`groups`), every set of `chosen` groups as likely and then every set of `topK` of
/// their experts.
public struct TokenDispatch: Hashable, Sendable {
    /// Experts the layer routes among.
    public var experts: Int
    /// Experts each token goes to: the copies of it the permuted buffer holds.
    public var topK: Int
    /// Whether the dispatcher sends a token once per destination rank and node rather than once per expert.
    public var deduplicates: Bool
    /// Group-limited routing: each token's experts come from its best `chosen` of `count` groups; nil for none.
    public var groups: ExpertGroups?

    public init(experts: Int, topK: Int, deduplicates: Bool = false, groups: ExpertGroups? = nil) {
        self.experts = experts
        self.topK = topK
        self.deduplicates = deduplicates
        self.groups = groups
    }

    /// How many of `units` equal contiguous shares of the experts (ranks, or nodes) hold at least one of a token's
    /// experts, on average. Without groups, `units (1 - missChance(held: E / units))`. With `G` groups of `q = E / G`
    /// experts of which a token takes `T`: a share overlapping groups `R` by `c_g` experts each is missed with chance
    /// `sum over S in R of P(the chosen groups meet R in S) prod_{i < k} (T q - sum_{g in S} c_g - i) / (T q - i)`, where
    /// `P = C(G - |R|, T - |S|) / C(G, T)`; the shares' chances of being reached add up. A contiguous share overlaps
    /// whole groups and at most two partly, so the subsets are counted by how many whole groups and which partial
    /// ones they hold: `C(f, j)` subsets hold `j` of the `f` whole groups. Exact where the shares divide the experts;
    /// a share with a fraction of an expert at each end (shares that do not divide them) counts fractional experts.
    public func reachedShares(of units: Int) -> Double {
        guard units > 1 else { return 1 }
        guard let groups, groups.count > 1 else { return Double(units) * (1 - missChance(held: Double(experts) / Double(units))) }
        let groupSize = Double(experts) / Double(groups.count), share = Double(experts) / Double(units)
        let pool = Double(groups.chosen) * groupSize
        var reached = 0.0
        for unit in 0 ..< units {
            let (low, high) = (Double(unit) * share, Double(unit + 1) * share)
            let overlaps = (0 ..< groups.count).compactMap { group -> Double? in
                let overlap = min(high, Double(group + 1) * groupSize) - max(low, Double(group) * groupSize)
                return overlap > 1e-9 ? overlap : nil
            }
            let whole = overlaps.filter { $0 > groupSize - 1e-9 }.count, partial = overlaps.filter { $0 <= groupSize - 1e-9 }
            let allChoices = Self.choose(groups.count, groups.chosen)
            var miss = 0.0
            for subset in 0 ..< (1 << partial.count) {
                let partlyHeld = partial.indices.filter { subset & (1 << $0) != 0 }.reduce(0.0) { $0 + partial[$1] }
                for wholeHeld in 0 ... whole {
                    let picked = subset.nonzeroBitCount + wholeHeld
                    let ways = Self.choose(whole, wholeHeld) * Self.choose(groups.count - overlaps.count, groups.chosen - picked) / allChoices
                    guard ways > 0 else { continue }
                    let held = partlyHeld + Double(wholeHeld) * groupSize
                    var chance = 1.0
                    for draw in 0 ..< topK {
                        let total = pool - Double(draw)
                        guard total > 0 else { break }
                        chance *= max(total - held, 0) / total
                    }
                    miss += ways * chance
                }
            }
            reached += 1 - miss
        }
        return reached
    }

    /// The binomial coefficient `C(n, k)`, 0 outside `0 ... n`.
    private static func choose(_ n: Int, _ k: Int) -> Double {
        guard k >= 0, k <= n else { return 0 }
        return (0 ..< k).reduce(1.0) { $0 * Double(n - $1) / Double($1 + 1) }
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
