/// The collective operations the cost model prices (NCCL's vocabulary).
///
/// Shared by the cluster's collective cost functions and the sharding code that decides which
/// collectives a layout change needs.
public enum CollectiveKind: String, CaseIterable, Sendable, Hashable {
    case allReduce = "all_reduce"
    case allGather = "all_gather"
    case reduceScatter = "reduce_scatter"
    case allToAll = "all_to_all"
    /// A point-to-point send between two devices (pipeline stages).
    case sendReceive = "send_recv"
}
