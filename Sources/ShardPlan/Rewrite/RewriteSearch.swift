import Foundation

/// Unity's joint search of graph substitutions and parallelization (Unger et al., OSDI'22, section 5), as
/// a layer around the planners: starting from the planner's best plan for the graph as given, it prices
/// rewritten graphs under that plan's stages and meshes, the ops each rewrite adds sharded by the ILP around
/// the layout of the rest (`PinnedStagePricing`), and explores them best first, keeping any within `relaxation` of the best
/// found (Unity's backtracking: a rewrite that costs a little may enable one that pays), until `budget`
/// candidates are priced. Each candidate applies one more site class (`RewriteSiteClass`): a rule at the
/// same place of every block of one structure, so blocks stay identical and the planner's reuse holds.
///
/// The answer is never slower than the plan it starts from: it returns a plan only when one prices faster.
public struct RewriteSearch: Sendable {
    public var rules: [RewriteRule]
    /// The most rewritten graphs priced (0 or more; 0 prices none).
    public var budget: Int
    /// Candidates within this factor of the best cost are explored further (Unity's alpha, 1.05 there); 1 or more.
    public var relaxation: Double
    public var search: IntraOperatorSearch

    /// A search over `rules`. The planners' `plan(rewriting:)` refuses a negative `budget` and a `relaxation` below 1
    /// or NaN with an `InputError` (`check(at:)`).
    public init(rules: [RewriteRule], budget: Int = 16, relaxation: Double = 1.05, search: IntraOperatorSearch = IntraOperatorSearch()) {
        self.rules = rules
        self.budget = budget
        self.relaxation = relaxation
        self.search = search
    }

    /// Refuses a negative budget and a relaxation below 1 (under which not even the starting plan is explored) or NaN,
    /// each an error at the member under `path` (`rewriting.budget` from the planners' `plan(rewriting:)`).
    func check(at path: JSONPath) throws(InputError) {
        guard budget >= 0 else {
            throw InputError(.invalidValue, at: path.appending("budget"), "the budget is a count of rewritten graphs, 0 or more; found \(budget)")
        }
        guard relaxation >= 1 else {
            throw InputError(.invalidValue, at: path.appending("relaxation"),
                             "the relaxation is a factor of 1 or more over the best cost (1.05 by default); found \(relaxation)")
        }
    }

    /// What the search found.
    public struct Result: Sendable {
        /// The fastest plan of a rewritten graph (its `rewrites` say which), priced exactly, when one is
        /// faster than the plan the search started from.
        public var improvement: (plan: TrainingPlan, prediction: PlanPrediction)?
        /// Rewritten graphs priced.
        public var candidatesPriced: Int
        /// Whether `isCancelled` stopped the search before its budget or its frontier ran out.
        public var stoppedEarly = false
    }

    /// One rewritten graph the search has priced.
    private struct Candidate {
        var graph: Graph
        var rewrites: [GraphRewrite]
        var stageOf: [String: Int]
        /// The rule that made each new op and parameter, by name.
        var madeBy: [String: String]
        var plan: TrainingPlan
        var prediction: PlanPrediction
        var seconds: Double { prediction.iterationSeconds }
    }

    /// A faster plan than `plan` (whose prediction is `prediction`) for a rewritten graph, if a candidate
    /// within the budget prices faster. `plan` must have no rewrites of its own. Once `isCancelled` says so (a
    /// search past its time limit) no more candidates are priced, and the answer is the best priced by then.
    public func improve(_ plan: TrainingPlan, prediction: PlanPrediction, isCancelled: @Sendable () -> Bool = { false }) -> Result {
        guard !rules.isEmpty, budget > 0 else { return Result(improvement: nil, candidatesPriced: 0) }
        let pricing = PinnedStagePricing(base: plan, search: search)
        var stageOf: [String: Int] = [:]
        for (index, stage) in plan.stages.enumerated() { for op in stage.operations { stageOf[plan.graph.operations[op].name] = index } }
        let root = Candidate(graph: plan.graph, rewrites: [], stageOf: stageOf, madeBy: [:], plan: plan, prediction: prediction)
        var best = root
        var frontier = [root]
        var seen: Set<String> = [root.graph.jsonText]
        var priced = 0
        var stoppedEarly = false
        while !frontier.isEmpty && priced < budget {
            if isCancelled() {
                stoppedEarly = true
                break
            }
            // Best first; ties to the earlier candidate, so the search is deterministic.
            let next = frontier.indices.min { frontier[$0].seconds < frontier[$1].seconds }!
            let node = frontier.remove(at: next)
            guard node.seconds <= relaxation * best.seconds else { break }
            let layers = GraphAnalysis(node.graph).layers
            let stageIndex = node.graph.operations.map { node.stageOf[$0.name] ?? -1 }
            // A rule does not undo what its inverse made: that only returns to an earlier graph under new names.
            let classes = RewriteSiteClass.classes(in: node.graph, rules: rules, layers: layers, stage: { stageIndex[$0] }) { rewrite in
                !(rewrite.anchors + rewrite.removedOperations).contains { name in
                    node.madeBy[name].map { Self.undoes(rewrite.rule, $0) } ?? false
                }
            }
            var children: [Child] = []
            for siteClass in classes where children.count + priced < budget {
                guard let child = try? apply(siteClass, to: node), seen.insert(child.graph.jsonText).inserted else { continue }
                children.append(child)
            }
            let results = SharedTable<Int, (plan: TrainingPlan, prediction: PlanPrediction)>()
            let pending = children
            DispatchQueue.concurrentPerform(iterations: pending.count) { index in
                let child = pending[index]
                results[index] = pricing.price(child.graph, stageOf: child.stageOf, added: child.added, touched: child.touched,
                                               parent: node.plan, isCancelled: isCancelled)
            }
            for (index, child) in children.enumerated() {
                // A child without a price once the search is cancelled may be one whose pricing was cut off
                // (`isCancelled` stays true once true): it is neither counted nor explored.
                if results[index] == nil && isCancelled() {
                    stoppedEarly = true
                    continue
                }
                priced += 1
                guard let result = results[index] else { continue }
                var plan = result.plan
                plan.rewrites = child.rewrites
                plan.graphBeforeRewrites = root.graph
                let candidate = Candidate(graph: child.graph, rewrites: child.rewrites, stageOf: child.stageOf,
                                          madeBy: child.madeBy, plan: plan, prediction: result.prediction)
                if candidate.seconds < best.seconds { best = candidate }
                if candidate.seconds <= relaxation * best.seconds { frontier.append(candidate) }
            }
        }
        let improvement = best.seconds < prediction.iterationSeconds ? (best.plan, best.prediction) : nil
        return Result(improvement: improvement, candidatesPriced: priced, stoppedEarly: stoppedEarly)
    }

    /// A candidate before it is priced: `added` names the ops its last site class added, `touched` the
    /// stages they fall in.
    private typealias Child = (graph: Graph, rewrites: [GraphRewrite], stageOf: [String: Int], added: Set<String>,
                               touched: Set<Int>, madeBy: [String: String])

    /// `node`'s graph with one more site class applied; each new op joins the stage of the op whose place
    /// it takes.
    private func apply(_ siteClass: RewriteSiteClass, to node: Candidate) throws(InputError) -> Child {
        let graph = try node.graph.applying(siteClass.rewrites)
        var stageOf = node.stageOf
        var added: Set<String> = []
        var touched: Set<Int> = []
        var madeBy = node.madeBy
        for rewrite in siteClass.rewrites {
            for name in rewrite.definedNames { madeBy[name] = rewrite.rule }
            guard let stage = stageOf[rewrite.insertionPoint ?? rewrite.anchors[0]] else { continue }
            touched.insert(stage)
            for operation in rewrite.addedOperations {
                stageOf[operation.name] = stage
                added.insert(operation.name)
            }
        }
        return (graph, node.rewrites + siteClass.rewrites, stageOf, added, touched, madeBy)
    }

    /// Whether rule `later` undoes rule `earlier` (one is declared the other's inverse).
    static func undoes(_ later: String, _ earlier: String) -> Bool {
        RewriteCatalog.rule(named: later)?.inverse == earlier || RewriteCatalog.rule(named: earlier)?.inverse == later
    }
}
