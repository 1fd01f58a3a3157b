/// The families of substitutions, after TASO (Jia et al., SOSP'19) and Unity (Unger et al., OSDI'22).
public enum RewriteFamily: String, CaseIterable, Sendable {
    /// Contractions that share an input merged into one wider contraction, or split back.
    case mergeContractions = "merge or split contractions"
    /// A chain of two contractions evaluated in the other order.
    case reassociation = "re-associate contractions"
    /// Parallel branches of the same shape run as one batched branch.
    case batching = "batch branches"
    /// Transposes and reshapes composed, folded into contractions or moved across elementwise ops.
    case layout = "layout"
    /// Embedding tables merged or split.
    case embedding = "embedding tables"
    /// Elementwise ops removed, combined or moved to a smaller tensor.
    case elementwise = "elementwise"
}

/// A condition a match must meet beyond its pattern, with the sentence the rules table prints.
struct SideCondition: Sendable {
    var text: String
    var holds: @Sendable (RewriteMatch, RewriteContext) -> Bool

    init(_ text: String, _ holds: @escaping @Sendable (RewriteMatch, RewriteContext) -> Bool) {
        self.text = text
        self.holds = holds
    }
}

/// One graph substitution: a pattern over ops and the index spaces they carry, side conditions, and a
/// replacement that computes the same tensors (the same loss and the same gradients with respect to the
/// original parameters, which any new parameter is computed from).
///
/// `rewrites(in:)` lists every place the rule applies; `rewrite(anchoredAt:choice:in:)` re-derives one
/// rewrite from the names a plan document records.
public struct RewriteRule: Sendable {
    /// The name plans record (`merge-parallel-contractions`).
    public let name: String
    public let family: RewriteFamily
    /// One sentence: what the rule does.
    public let summary: String
    /// Where the substitution comes from (a TASO or Unity family), in our words.
    public let source: String
    /// The rule that undoes this one (`split-contraction` for the merges), if any: the search does not apply
    /// it to what this one made, which would only return to an earlier graph under new names.
    public let inverse: String?
    let pattern: RewritePattern
    let conditions: [SideCondition]
    /// How many alternative replacements a match has (re-association can pair the third operand with
    /// either of the first two).
    let alternatives: @Sendable (RewriteMatch, RewriteContext) -> Int
    let replacement: @Sendable (RewriteMatch, Int, inout RewriteBuilder) throws(RewriteRefusal) -> Void

    init(_ name: String, family: RewriteFamily, inverse: String? = nil, summary: String, source: String, pattern: RewritePattern,
         conditions: [SideCondition] = [],
         alternatives: @escaping @Sendable (RewriteMatch, RewriteContext) -> Int = { _, _ in 1 },
         replacement: @escaping @Sendable (RewriteMatch, Int, inout RewriteBuilder) throws(RewriteRefusal) -> Void) {
        self.name = name
        self.family = family
        self.summary = summary
        self.source = source
        self.inverse = inverse
        self.pattern = pattern
        self.conditions = conditions
        self.alternatives = alternatives
        self.replacement = replacement
    }

    /// The side conditions, as the rules table writes them.
    public var conditionTexts: [String] { conditions.map(\.text) }

    /// Matches in `context` that meet every side condition.
    func matches(in context: RewriteContext, rootedAt root: Int? = nil) -> [RewriteMatch] {
        pattern.matches(in: context, rootedAt: root).filter { match in conditions.allSatisfy { $0.holds(match, context) } }
    }

    /// The rewrite of alternative `choice` at `match`, or why the rule does not apply there after all.
    func rewrite(at match: RewriteMatch, choice: Int, in context: RewriteContext) throws(RewriteRefusal) -> GraphRewrite {
        var builder = RewriteBuilder(context)
        try replacement(match, choice, &builder)
        return try builder.finish(rule: name, anchors: match.anchors, choice: choice)
    }

    /// Every rewrite the rule allows in `graph`: each match, each alternative, in op order.
    public func rewrites(in graph: Graph) -> [GraphRewrite] {
        rewrites(in: RewriteContext(graph))
    }

    func rewrites(in context: RewriteContext) -> [GraphRewrite] {
        matches(in: context).flatMap { match in
            (0..<alternatives(match, context)).compactMap { choice in try? rewrite(at: match, choice: choice, in: context) }
        }
    }

    /// The rewrite a document records as this rule at ops `anchors` with alternative `choice`, derived anew
    /// from the graph; nil when the rule does not apply there.
    public func rewrite(anchoredAt anchors: [String], choice: Int, in graph: Graph) -> GraphRewrite? {
        rewrite(anchoredAt: anchors, choice: choice, in: RewriteContext(graph))
    }

    func rewrite(anchoredAt anchors: [String], choice: Int, in context: RewriteContext) -> GraphRewrite? {
        guard let first = anchors.first, let id = context.graph.value(named: first),
              let root = context.graph[id].operationIndex else { return nil }
        for match in matches(in: context, rootedAt: root) where match.anchors.map({ context.operation($0).name }) == anchors {
            guard (0..<alternatives(match, context)).contains(choice) else { return nil }
            return try? rewrite(at: match, choice: choice, in: context)
        }
        return nil
    }
}
