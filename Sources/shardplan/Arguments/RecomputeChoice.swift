import ArgumentParser
import ShardPlan

/// `plan --recompute`: one recomputation mode for every stage, or `auto`: each stage takes whichever of none,
/// selective, elementwise, selective-op and full makes the plan fastest (recomputing only where memory asks for it).
enum RecomputeChoice: String, ExpressibleByArgument, CaseIterable {
    case none, selective, elementwise, full, auto
    case selectiveOperators = "selective-op"

    /// The mode every stage starts from.
    var baseMode: RecomputeMode { RecomputeMode(rawValue: rawValue) ?? .none }

    /// The modes a stage may take.
    var modes: [RecomputeMode] { self == .auto ? RecomputeMode.allCases : [baseMode] }
}
