import ArgumentParser
import ShardPlan

/// `plan --recompute`: one recomputation mode for every stage, or `auto`: none unless a stage only fits
/// with selective or full recomputation, chosen per stage.
enum RecomputeChoice: String, ExpressibleByArgument, CaseIterable {
    case none, selective, full, auto
    case selectiveOperators = "selective-op"

    /// The mode every stage starts from.
    var baseMode: RecomputeMode { RecomputeMode(rawValue: rawValue) ?? .none }

    /// Whether the planner may raise recomputation per stage.
    var choosesPerStage: Bool { self == .auto }
}
