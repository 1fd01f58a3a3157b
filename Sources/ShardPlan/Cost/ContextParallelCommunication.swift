/// How context parallelism moves keys and values between the ranks that split a sequence (`--cp-comm-type`;
/// Megatron-Core's `cp_comm_type`, TransformerEngine's `attn_forward_func_with_cp`).
public enum ContextParallelCommunication: String, CaseIterable, Sendable {
    /// A ring of point-to-point exchanges, each step's transfer hidden behind the attention kernel of the chunk a
    /// rank holds (`p2p`, Megatron-Core's default; `AttnFuncWithCPAndKVP2P`). It refuses sliding windows.
    case ring = "p2p"
    /// Keys and values all-gathered before attention and their gradients reduce-scattered after it, exposed; each
    /// rank then attends with its two query chunks over the keys each one reads (`all_gather`, as Llama 3 trained,
    /// its section 3.3.2; `AttnFuncWithCPAndKVAllGather`). It runs sliding windows.
    case allGather = "all-gather"
    /// Queries, keys and values re-split from sequence chunks to head groups by an all-to-all before attention, and
    /// the output back after it, exposed; each rank then attends over the whole sequence with its share of the heads
    /// (`a2a`, DeepSpeed-Ulysses' scheme; `AttnFuncWithCPAndQKVOA2A`). It runs sliding windows, and needs each
    /// tensor-parallel rank's query and key/value heads to divide over the context-parallel ranks.
    case allToAll = "all-to-all"

    /// The exchange that runs `graph`'s attention where none is named (`plan` without `--cp-comm-type`): the all-gather
    /// where some attention reads a sliding window, which TransformerEngine's ring refuses; else the ring, Megatron-Core's
    /// default.
    public static func standard(for graph: Graph) -> ContextParallelCommunication {
        MegatronConfiguration.hasWindowedAttention(graph) ? .allGather : .ring
    }

    /// The exchange named `name`: its own name (`all-gather`) or Megatron-Core's (`all_gather`, `a2a`), as a
    /// Megatron user writes it on a command line or in a plan document.
    public init?(name: String) {
        guard let value = Self.allCases.first(where: { $0.rawValue == name || $0.megatronValue == name }) else { return nil }
        self = value
    }

    /// The names `init(name:)` takes, for an error message: "p2p, all-gather, all-to-all (Megatron's all_gather, a2a)".
    public static var knownNames: String {
        allCases.map(\.rawValue).joined(separator: ", ") + " (Megatron's "
            + allCases.filter { $0.megatronValue != $0.rawValue }.map(\.megatronValue).joined(separator: ", ") + ")"
    }

    /// The value of Megatron-Core's `cp_comm_type` (`--cp-comm-type`, NeMo's and Megatron-Bridge's `cp_comm_type`).
    public var megatronValue: String {
        switch self {
        case .ring: "p2p"
        case .allGather: "all_gather"
        case .allToAll: "a2a"
        }
    }
}
