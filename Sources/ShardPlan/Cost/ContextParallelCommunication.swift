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
    /// PyTorch's own ring attention (`torch.distributed.tensor.experimental.context_parallel`, torchtitan's context
    /// parallelism) with its default all-gather rotation: K and V gathered once, behind only the first step's kernel,
    /// the ring's kernels as TransformerEngine's, each step's output merged into an fp32 accumulator by eager ops; in
    /// the backward pass K and V gathered again, and the gradients of K and V accumulated in fp32 and passed around the
    /// ring a step at a time behind the kernels (`_templated_ring_attention`). Megatron-Core has none: its
    /// frameworks run their own ring instead.
    case pytorchRing = "pytorch-ring"
    /// PyTorch's ring attention with its all-to-all rotation (torchtitan's `context_parallel_rotate_method =
    /// "alltoall"`, `_AllToAllRotater`): the same kernels, merges and backward as `pytorchRing`, but K and V pass to
    /// the next rank a step at a time (a permute issued before each step's kernel and waited for at the next), so that
    /// every step but the last hides a transfer, forward as TransformerEngine's ring does, and backward K and V travel
    /// the ring again beside their gradients rather than being gathered once more.
    case pytorchRingAllToAll = "pytorch-ring-all-to-all"
    /// Hierarchical context parallelism (`a2a+p2p`, Megatron-Core's with `--hierarchical-context-parallel-sizes`;
    /// TransformerEngine's `AttnFuncWithCPAndKVP2P` over two groups): queries, keys, values and outputs re-split by
    /// heads over an all-to-all group (the ring's innermost mesh axis, the devices of a node where the layout puts
    /// them there), exposed, then TransformerEngine's ring over the other axes, its steps' transfers hidden behind
    /// their kernels over longer chunks of fewer heads. Needs each tensor-parallel rank's heads to divide over the
    /// all-to-all group; refuses sliding windows and attention sinks, as the ring does. A ring over one mesh axis is
    /// the all-to-all alone.
    case hierarchical = "a2a+p2p"

    /// The exchange that runs `graph`'s attention where none is named (`plan` without `--cp-comm-type`): the all-to-all
    /// where some attention has sinks, which TransformerEngine runs under no other; the all-gather where some attention
    /// reads a sliding window, which its ring refuses; else the ring, Megatron-Core's default.
    public static func standard(for graph: Graph) -> ContextParallelCommunication {
        MegatronConfiguration.hasAttentionSinks(graph) ? .allToAll : MegatronConfiguration.hasWindowedAttention(graph) ? .allGather : .ring
    }

    /// The exchange named `name`: its own name (`all-gather`) or Megatron-Core's (`all_gather`, `a2a`), as a
    /// Megatron user writes it on a command line or in a plan document.
    public init?(name: String) {
        // `p2p` names the ring, not PyTorch's ring (whose Megatron-Core value it also is): the ring comes first.
        guard let value = Self.allCases.first(where: { $0.rawValue == name || $0.megatronValue == name }) else { return nil }
        self = value
    }

    /// Whether this is PyTorch's ring attention, under either rotation (torchtitan's only exchange).
    public var isPyTorchRing: Bool { self == .pytorchRing || self == .pytorchRingAllToAll }

    /// The value of torchtitan's `context_parallel_rotate_method` for PyTorch's ring under this rotation; nil for
    /// TransformerEngine's exchanges.
    public var torchTitanRotateMethod: String? {
        switch self {
        case .pytorchRing: "allgather"
        case .pytorchRingAllToAll: "alltoall"
        case .ring, .allGather, .allToAll, .hierarchical: nil
        }
    }

    /// The names `init(name:)` takes, for an error message: "p2p, all-gather, all-to-all, pytorch-ring,
    /// pytorch-ring-all-to-all (Megatron's all_gather, a2a)".
    public static var knownNames: String {
        let names = allCases.map(\.rawValue)
        return names.joined(separator: ", ") + " (Megatron's "
            + allCases.map(\.megatronValue).filter { !names.contains($0) }.joined(separator: ", ") + ")"
    }

    /// The value of Megatron-Core's `cp_comm_type` (`--cp-comm-type`, NeMo's and Megatron-Bridge's `cp_comm_type`) for
    /// the exchange Megatron-Core runs in its place: its own ring, `p2p`, for PyTorch's ring
    /// (`TrainingFramework.expressible` says so where it exports one).
    public var megatronValue: String {
        switch self {
        case .ring, .pytorchRing, .pytorchRingAllToAll: "p2p"
        case .allGather: "all_gather"
        case .allToAll: "a2a"
        case .hierarchical: "a2a+p2p"
        }
    }
}
