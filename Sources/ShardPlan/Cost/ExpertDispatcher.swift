/// The kernels that send a mixture of experts' tokens to their experts' ranks and back (`--moe-dispatcher`;
/// Megatron-Core's `moe_token_dispatcher_type` and `moe_flex_dispatcher_backend`, torchtitan's
/// `expert_parallel_comm_backend`). The planner takes the one named and does not choose: DeepEP and HybridEP are
/// libraries a cluster has or lacks.
public enum ExpertDispatcher: String, CaseIterable, Sendable {
    /// NCCL's all-to-all of the permuted buffer, a copy of a token for each expert it goes to (Megatron-Core's
    /// `alltoall` dispatcher, torchtitan's `standard` backend).
    case allToAll = "alltoall"
    /// DeepSeek's DeepEP (Megatron-Core's `flex` dispatcher with the `deepep` backend, torchtitan's `deepep`): a token
    /// once to each rank that holds one of its experts and, across nodes, once over the network to each node that
    /// does, whose GPU forwards it over NVLink (`TokenDispatch.deduplicates`).
    case deepEP = "deepep"
    /// NVIDIA's HybridEP (Megatron-Core's `flex` dispatcher with the `hybridep` backend), built for NVLink domains of
    /// many GPUs (GB200 NVL72): priced as DeepEP, the same deduplicated traffic.
    case hybridEP = "hybridep"

    /// Whether the dispatcher sends a token once per destination rank and node rather than once per expert.
    public var deduplicates: Bool { self != .allToAll }

    /// Megatron-Core's `moe_token_dispatcher_type` for this dispatcher.
    public var megatronDispatcherType: String { self == .allToAll ? "alltoall" : "flex" }

    /// Megatron-Core's `moe_flex_dispatcher_backend`, for the flex dispatcher's two backends; nil for the all-to-all.
    public var megatronFlexBackend: String? { self == .allToAll ? nil : rawValue }

    /// The dispatcher torchtitan 0.2.2 runs in this one's place: its standard all-to-all where each expert is split
    /// over the tensor-parallel ranks (`expertsSplitOverTensor`), beside which its DeepEP refuses to run
    /// (`NotImplementedError` where expert tensor parallelism is on), DeepEP for HybridEP, which it lacks (priced the
    /// same), else this one.
    public func inTorchTitan(expertsSplitOverTensor: Bool) -> ExpertDispatcher {
        guard deduplicates else { return self }
        return expertsSplitOverTensor ? .allToAll : .deepEP
    }

    /// torchtitan's `expert_parallel_comm_backend`; nil where torchtitan has none (HybridEP: torchtitan 0.2.2 takes
    /// `standard` or `deepep`).
    public var torchTitanBackend: String? {
        switch self {
        case .allToAll: "standard"
        case .deepEP: "deepep"
        case .hybridEP: nil
        }
    }
}
