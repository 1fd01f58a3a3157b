import ArgumentParser
import ShardPlan

/// `plan --recompute`: one recomputation mode for every stage, or `auto`: each stage takes whichever of none,
/// norm-act, selective, elementwise, selective-op and full makes the plan fastest (recomputing only where memory asks for it;
/// MaxText's `mlp` and `all-but-qkv` are priced when named, `RecomputeMode.automaticChoices`).
enum RecomputeChoice: String, ExpressibleByArgument, CaseIterable {
    // In strength order, as the help lists them.
    case none
    case normAct = "norm-act"
    case selective, elementwise
    case selectiveOperators = "selective-op"
    case mlp
    case allButQKV = "all-but-qkv"
    case full, auto

    /// The mode every stage starts from.
    var baseMode: RecomputeMode { RecomputeMode(rawValue: rawValue) ?? .none }

    /// The modes a stage may take.
    var modes: [RecomputeMode] { self == .auto ? RecomputeMode.automaticChoices : [baseMode] }
}
