/// Group-limited routing of a mixture of experts (DeepSeek-V2's device-limited and DeepSeek-V3's node-limited
/// routing; Megatron-Core's `--moe-router-num-groups` and `--moe-router-group-topk`): the router's experts fall into
/// `count` equal contiguous groups, and each token takes its top k among the experts of its `chosen` best groups.
/// The `slice` that stands for a router's top k carries it (`expert_groups` and `group_top_k` in a graph document).
public struct ExpertGroups: Hashable, Sendable {
    /// The groups the experts fall into, each of experts / count contiguous experts.
    public var count: Int
    /// The groups each token's experts are taken from.
    public var chosen: Int

    public init(count: Int, chosen: Int) {
        self.count = count
        self.chosen = chosen
    }
}
