/// Which search produced a plan and how the other did: the stage DP's best plan and the best Megatron-LM
/// configuration of the grid, each priced by the same model, so a reader sees by how much the loser trailed.
public struct SearchProvenance: Sendable, Equatable {
    /// The two searches `shardplan plan` runs.
    public enum Search: String, Sendable {
        /// The stage DP over the intra-operator search (`PipelinePlanner`'s programs).
        case stageDynamicProgram = "stage DP"
        /// Megatron-LM's configurations (`MegatronGrid`).
        case megatronGrid = "Megatron grid"
    }

    public var foundBy: Search
    /// The predicted iteration time of the stage DP's best plan that fits, seconds, when it found one.
    public var stageDynamicProgramSeconds: Double?
    /// The predicted iteration time of the grid's best configuration that fits, when the grid was priced.
    public var megatronGridSeconds: Double?
    /// Wall-clock seconds the search took.
    public var searchSeconds: Double
    /// Whether the search stopped at its time limit with the best plan found so far.
    public var stoppedEarly: Bool
    /// The predicted iteration time of the plan after the graph rewrites the joint rewrite search applied to the
    /// winner, when it applied any: the two searches' times above are of the graph as given.
    public var rewrittenSeconds: Double?
    /// The predicted iteration time, before the rewrites, of the plan they rewrote when it is not the search's best
    /// but another of the stage DP's plans close to it (`PipelinePlanner.Result.runnersUp`), which they took further.
    public var rewrittenFromSeconds: Double?
    /// Where the Megatron grid's plan, when it is the answer, runs options Megatron-LM does not (`megatronDepartures`):
    /// it is then Megatron-LM's layout, not a configuration Megatron-LM runs as it was priced. Empty otherwise.
    public var departures: [String] = []
    /// The degrees the search kept, where `plan` pinned some (`--tp 8 --pp 2`); both searches' times are then of
    /// plans that keep them. The plan document writes them as `search.pinned` (Docs/plan-format.md).
    public var pinned: ParallelPins?
    /// Whether the pins left the stage DP nothing to search (`PipelinePlanner.Result.dynamicProgramLeftOut`).
    public var dynamicProgramLeftOut = false

    public init(foundBy: Search, stageDynamicProgramSeconds: Double?, megatronGridSeconds: Double?, searchSeconds: Double,
                stoppedEarly: Bool) {
        self.foundBy = foundBy
        self.stageDynamicProgramSeconds = stageDynamicProgramSeconds
        self.megatronGridSeconds = megatronGridSeconds
        self.searchSeconds = searchSeconds
        self.stoppedEarly = stoppedEarly
    }

    /// `seconds` to four significant digits in s, ms or us, as the report's times (`PlanPrediction.seconds`).
    static func time(_ seconds: Double) -> String {
        seconds >= 1 ? String(format: "%.4g s", seconds)
            : seconds >= 1e-3 ? String(format: "%.4g ms", seconds * 1e3) : String(format: "%.4g us", seconds * 1e6)
    }

    /// Whether two searches' times round to the same tenth of a percent, as `description` calls them "as fast".
    public static func asFast(_ seconds: Double, as other: Double) -> Bool {
        other > 0 && abs((seconds / other - 1) * 100) < 0.05
    }

    /// "found by the stage DP; the Megatron grid's best is 4.2% slower (8.12 s against 7.79 s)", or "is as fast" where
    /// the two times round to the same tenth of a percent.
    ///
    /// Times keep four significant digits, in the unit the report's other times take (`time`), so that two close
    /// plans' times still differ where their percentage does.
    public var description: String {
        var text = "found by the \(foundBy.rawValue)" + (pinned.map { " keeping \($0.flags)" } ?? "")
        if foundBy == .megatronGrid && !departures.isEmpty {
            text += " (Megatron-LM's layout, but with \(departures.joined(separator: " and ")), which Megatron-LM does not run; "
                + "--emit megatron searches with its options)"
        }
        let (winner, other, otherName) = foundBy == .stageDynamicProgram
            ? (stageDynamicProgramSeconds, megatronGridSeconds, "the Megatron grid's best")
            : (megatronGridSeconds, stageDynamicProgramSeconds, "the stage DP's best")
        if let winner, let other, winner > 0 {
            let slower = (other / winner - 1) * 100
            text += Self.asFast(other, as: winner) ? "; \(otherName) is as fast (\(Self.time(other)))"
                : String(format: "; %@ is %.1f%% slower (%@ against %@)", otherName, slower, Self.time(other), Self.time(winner))
        } else if foundBy == .stageDynamicProgram, megatronGridSeconds == nil {
            text += "; no Megatron grid configuration fits or none was priced"
        } else if foundBy == .megatronGrid {
            text += dynamicProgramLeftOut ? "; the stage DP has no program that keeps the pins and was left out"
                : stoppedEarly ? "; the stage DP found no plan that fits before the time limit"
                : pinned != nil ? "; no stage DP plan that keeps the pins fits" : "; no stage DP plan fits"
        }
        if let rewrittenSeconds {
            let compared = stageDynamicProgramSeconds != nil && megatronGridSeconds != nil ? "both" : "the search's plan"
            let rewritten = rewrittenFromSeconds.map { "another of the stage DP's plans (\(Self.time($0)) as given)" } ?? "the plan"
            text += "; \(compared) of the graph as given, before the graph rewrites that take \(rewritten) to \(Self.time(rewrittenSeconds))"
        }
        if stoppedEarly { text += "; stopped at the time limit with the best plan found so far" }
        return text
    }

    /// What `plan`, a Megatron grid configuration, runs that Megatron-LM does not: a recomputation mode outside those
    /// it runs as priced (`TrainingFramework.automaticRecomputeModes`), a gradient buffer in another type than the one
    /// it reduces in, or other kernels than TransformerEngine's fused ones (`TrainingFramework.searchedOptions`). The
    /// grid searched without `--emit` lays out `plan`'s options, ShardPlan's defaults.
    public static func megatronDepartures(of plan: TrainingPlan) -> [String] {
        let options = plan.options
        let runs = TrainingFramework.megatron.searchedOptions(options, gradientBufferGiven: false, optimizerStateGiven: true,
                                                              fusionGiven: false, exchangeGiven: true)
        let modes = TrainingFramework.megatron.automaticRecomputeModes(under: options)
        var departures: [String] = []
        var unrun: [RecomputeMode] = []
        for mode in plan.stages.map({ $0.recompute ?? options.recompute }) where !modes.contains(mode) && !unrun.contains(mode) { unrun.append(mode) }
        if !unrun.isEmpty { departures.append("\(unrun.map(\.rawValue).joined(separator: ", ")) recomputation") }
        if runs.gradientPrecision != options.gradientPrecision {
            departures.append("\(options.reduceGradientsInFP32 ? "fp32" : "16-bit") gradient reductions into "
                              + "\(options.gradientPrecision == .fp32 ? "an" : "a") \(options.gradientPrecision.rawValue) buffer")
        }
        if runs.kernelFusion != options.kernelFusion { departures.append("\(options.kernelFusion.rawValue) kernels") }
        return departures
    }
}
