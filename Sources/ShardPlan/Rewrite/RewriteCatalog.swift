/// Every rewrite rule ShardPlan knows, and the sets `plan --rewrites` chooses between.
public enum RewriteCatalog {
    /// All rules, in the order of the rules table (Docs/rewrites.md).
    public static let rules: [RewriteRule] = [
        .mergeParallelContractions, .concatenateParallelContractions, .splitContraction,
        .reassociateContraction,
        .batchParallelBranches,
        .composeTransposes, .composeReshapes, .foldTransposeIntoContraction, .foldTransposeOfContraction,
        .sinkTranspose, .hoistTranspose, .sinkReshape, .hoistReshape, .cancelSliceOfConcat, .cancelConcatOfSlices,
        .mergeSharedIdEmbeddings, .splitEmbeddingByHidden, .mergeEmbeddingTables,
        .removeIdentity, .mergeScales, .moveScaleIntoContraction, .hoistScaleOutOfContraction,
    ]

    /// The rules of `plan --rewrites safe`: each removes work or merges it without adding FLOPs, and none
    /// only moves an op (the moves, re-association, branch batching and table merging widen the search).
    public static let safeRuleNames: Set<String> = [
        "merge-parallel-contractions", "concatenate-parallel-contractions", "split-contraction",
        "compose-transposes", "compose-reshapes", "fold-transpose-into-contraction", "fold-transpose-of-contraction",
        "cancel-slice-of-concat", "cancel-concat-of-slices", "merge-shared-id-embeddings", "split-embedding-by-hidden",
        "remove-identity", "merge-scales", "move-scale-into-contraction",
    ]

    /// The rules `safeRuleNames` names, in catalog order: what `shardplan plan` searches by default (`--rewrites
    /// safe`). `PipelinePlanner.plan(rewriting: RewriteSearch(rules: RewriteCatalog.safeRules))` plans as it does.
    public static let safeRules: [RewriteRule] = rules.filter { safeRuleNames.contains($0.name) }

    /// The rule called `name`, if there is one.
    public static func rule(named name: String) -> RewriteRule? { rules.first { $0.name == name } }
}

/// Which rewrites the planner may apply (`plan --rewrites`).
public enum RewriteSelection: String, CaseIterable, Sendable {
    /// Plan the graph as given.
    case none
    /// `RewriteCatalog.safeRules`.
    case safe
    /// Every rule of the catalog.
    case all

    public var rules: [RewriteRule] {
        switch self {
        case .none: []
        case .safe: RewriteCatalog.safeRules
        case .all: RewriteCatalog.rules
        }
    }
}
