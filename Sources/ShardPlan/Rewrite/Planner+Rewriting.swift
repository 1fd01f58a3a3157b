import Foundation

/// What the joint rewrite search did for `plan --rewrites` (for `--timings` and the tests).
public struct RewriteSearchReport: Sendable {
    /// Rewritten graphs priced under the base plan's stages.
    public var candidatesPriced: Int
    /// Plans the search started from: the answer, and the stage DP's other plans close to it
    /// (`PipelinePlanner.Result.runnersUp`).
    public var plansRefined = 1
    /// The predicted iteration seconds, as given, of the plan whose rewrites won when it is one of those others.
    public var rewrittenFromSeconds: Double?
    /// Rewrites in the answer (0: the graph as given won).
    public var rewritesApplied: Int
    /// Predicted iteration seconds of the plan of the graph as given, and of the answer.
    public var baseSeconds: Double
    public var seconds: Double
    /// Wall seconds the search took.
    public var searchSeconds: Double
    /// Whether the time limit stopped the search before its budget or its frontier ran out.
    public var stoppedEarly = false
}

extension RewriteSearch {
    /// `improve` around `base`: its answer, or `base` when nothing prices faster.
    func refine(_ base: (plan: TrainingPlan, prediction: PlanPrediction), isCancelled: @Sendable () -> Bool = { false })
        -> (plan: TrainingPlan, prediction: PlanPrediction, report: RewriteSearchReport) {
        let start = Date()
        let result = improve(base.plan, prediction: base.prediction, isCancelled: isCancelled)
        var best = result.improvement ?? base
        // The rewritten stages' own summary, as `score --plan` reads it back: the ops a rewrite adds may store
        // their parameters under another ZeRO stage, and a Megatron configuration's line no longer describes them.
        if result.improvement != nil { best.plan.summary = best.plan.stageSummary }
        let report = RewriteSearchReport(candidatesPriced: result.candidatesPriced, rewritesApplied: best.plan.rewrites.count,
                                         baseSeconds: base.prediction.iterationSeconds, seconds: best.prediction.iterationSeconds,
                                         searchSeconds: Date().timeIntervalSince(start), stoppedEarly: result.stoppedEarly)
        return (best.plan, best.prediction, report)
    }

    /// `refine` around `answer` and around each of `others` (plans close to it that rewrites may take further): the
    /// fastest result, with one report of every search, against `answer`'s time before rewrites and, where one of
    /// `others` won, with that plan's own time before them.
    func refine(_ answer: (plan: TrainingPlan, prediction: PlanPrediction), others: [(plan: TrainingPlan, prediction: PlanPrediction)],
                isCancelled: @Sendable () -> Bool = { false }) -> (plan: TrainingPlan, prediction: PlanPrediction, report: RewriteSearchReport) {
        var refined = refine(answer, isCancelled: isCancelled)
        guard !rules.isEmpty else { return refined }
        for start in others {
            let other = refine(start, isCancelled: isCancelled)
            let earlier = refined.report
            if other.prediction.iterationSeconds < refined.prediction.iterationSeconds {
                refined = other
                refined.report.rewrittenFromSeconds = start.prediction.iterationSeconds
            }
            refined.report.baseSeconds = answer.prediction.iterationSeconds
            refined.report.candidatesPriced = earlier.candidatesPriced + other.report.candidatesPriced
            refined.report.plansRefined = earlier.plansRefined + 1
            refined.report.searchSeconds = earlier.searchSeconds + other.report.searchSeconds
            refined.report.stoppedEarly = earlier.stoppedEarly || other.report.stoppedEarly
        }
        return refined
    }
}

extension PipelinePlanner {
    /// `plan(microbatches:progress:)`, then the joint rewrite search (`RewriteSearch`) around its answer and around
    /// each of the stage DP's other plans close to it (`Result.runnersUp`): the fastest of them all.
    ///
    /// A rewritten graph keeps the stages, meshes and microbatches of the plan it started from, with the ops the
    /// rewrites add sharded around that plan's layout of the rest; it is not cut into stages anew. A site class
    /// rewrites every block of one kind alike, so stage costs change together and the partition stays the DP's
    /// choice for them, and the stage DP stays untouched (Docs/rewrites.md).
    ///
    /// The time limit covers both: the rewrite search stops pricing candidates once it is reached, and the
    /// answer then says it stopped early. `others` are the stage DP's plans as found, fastest first: its answer where
    /// rewrites changed it, then its runners-up (what `plan --emit` may write where the answer's settings do not run).
    /// A search with a negative budget or a relaxation below 1 (`RewriteSearch.check(at:)`, at `rewriting.budget` or
    /// `rewriting.relaxation`) is an `InputError`, as are the settings `plan(microbatches:progress:)` refuses.
    public func plan(rewriting search: RewriteSearch, microbatches fixed: Int? = nil, progress: (SearchProgress) -> Void = { _ in })
        throws(InputError) -> (plan: TrainingPlan, prediction: PlanPrediction, attempts: [Attempt], grid: GridAttempt?,
                               gridPlan: (plan: TrainingPlan, prediction: PlanPrediction)?, stoppedEarly: Bool,
                               rewrites: RewriteSearchReport, others: [(plan: TrainingPlan, prediction: PlanPrediction)],
                               pinnedOutPlans: Int, dynamicProgramLeftOut: Bool) {
        try search.check(at: JSONPath([.key("rewriting")]))
        let deadline = timeLimit.map { Date().addingTimeInterval($0) }
        let found = try plan(microbatches: fixed, progress: progress)
        // A search stopped at its time limit answers at once, without rewrites.
        var search = search
        if found.stoppedEarly { search.rules = [] }
        if !search.rules.isEmpty {
            let done = found.attempts.count + (found.grid == nil ? 0 : 1)
            progress(SearchProgress(phase: "searching graph rewrites", completedSteps: done, totalSteps: done + 1))
        }
        let isCancelled: @Sendable () -> Bool = { deadline.map { Date() >= $0 } ?? false }
        var refined = search.refine((found.plan, found.prediction), others: found.runnersUp, isCancelled: isCancelled)
        // Rewritten ops may read as other degrees: where the rewritten plan breaks a pin, the answer stays unrewritten.
        if refined.report.rewritesApplied > 0 && pins.breach(of: refined.plan) != nil {
            search.rules = []
            refined = search.refine((found.plan, found.prediction))
        }
        // The search that found the partition the rewrites keep (the stage DP's, where they started from a runner-up).
        var answer = refined.plan
        if answer.provenance == nil { answer.provenance = found.plan.provenance }
        if refined.report.rewritesApplied > 0 {
            answer.provenance?.rewrittenSeconds = refined.prediction.iterationSeconds
            answer.provenance?.rewrittenFromSeconds = refined.report.rewrittenFromSeconds
        }
        let stoppedEarly = found.stoppedEarly || refined.report.stoppedEarly
        if stoppedEarly { answer.provenance?.stoppedEarly = true }
        // The grid's plan, where it is the answer, is `gridPlan` already.
        let unrewritten = refined.report.rewritesApplied > 0 && found.grid?.chosen != true ? [(found.plan, found.prediction)] : []
        return (answer, refined.prediction, found.attempts, found.grid, found.gridPlan, stoppedEarly, refined.report,
                unrewritten + found.runnersUp, found.pinnedOutPlans, found.dynamicProgramLeftOut)
    }
}

extension SingleStagePlanner {
    /// `plan(microbatches:progress:)`, then the joint rewrite search around its answer: the faster of the two.
    /// The search re-shards the rewritten graph on the answer's mesh with its microbatch count. A search with a
    /// negative budget or a relaxation below 1 is an `InputError` (`RewriteSearch.check(at:)`).
    public func plan(rewriting search: RewriteSearch, microbatches fixed: Int? = nil, progress: (SearchProgress) -> Void = { _ in })
        throws(InputError) -> (plan: TrainingPlan, prediction: PlanPrediction, attempts: [Attempt], stoppedEarly: Bool,
                               rewrites: RewriteSearchReport) {
        try search.check(at: JSONPath([.key("rewriting")]))
        let deadline = timeLimit.map { Date().addingTimeInterval($0) }
        let found = try self.search(microbatches: fixed, progress: progress)
        // A search stopped at its time limit answers at once, without rewrites.
        var search = search
        if found.stoppedEarly { search.rules = [] }
        if !search.rules.isEmpty {
            progress(SearchProgress(phase: "searching graph rewrites", completedSteps: found.attempts.count, totalSteps: found.attempts.count + 1))
        }
        let refined = search.refine((found.plan, found.prediction)) { deadline.map { Date() >= $0 } ?? false }
        return (refined.plan, refined.prediction, found.attempts, found.stoppedEarly || refined.report.stoppedEarly, refined.report)
    }
}
