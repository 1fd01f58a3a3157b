import Foundation

/// The measured runs most like a plan (`RunProfile.distance`) and how far the cost model's predictions of them
/// were from what they measured: how far to trust the plan's own predicted time. A file without a run of the plan's
/// kind (a mixture of experts or dense) is said to be so. The runs are a published-runs
/// file replayed (`CalibrationRun`): the repository's calibration rows, or a user's own measurements in that
/// format, which say how the model does on the user's cluster and software.
public struct CalibrationEvidence: Sendable {
    /// One measured run: its profile, how unlike the plan it is, and the model's error on it.
    public struct Run: Sendable, Equatable {
        public var id: String
        public var profile: RunProfile
        /// `predicted / measured - 1`: negative where the model predicted the run faster than it ran.
        public var relativeError: Double
        /// `RunProfile.distance` to the plan's profile.
        public var distance: Double

        public init(id: String, profile: RunProfile, relativeError: Double, distance: Double = 0) {
            self.id = id
            self.profile = profile
            self.relativeError = relativeError
            self.distance = distance
        }
    }

    /// The plan's profile.
    public var profile: RunProfile
    /// The `count` runs nearest the plan, nearest first; runs at the same distance keep their order in the file.
    public var nearest: [Run]
    /// How many of the runs compared are of the plan's kind (`RunProfile.mixtureOfExperts`), and how many in all.
    public var sameKindRuns: Int, runCount: Int

    /// The `count` runs of `runs` nearest `profile`.
    public init(profile: RunProfile, runs: [Run], count: Int = 5) {
        self.profile = profile
        let measured = runs.map { run in
            var run = run
            run.distance = profile.distance(to: run.profile)
            return run
        }
        // Swift's sort is not stable: the index breaks ties, so equal distances keep the file's order.
        nearest = measured.indices.sorted { (measured[$0].distance, $0) < (measured[$1].distance, $1) }
            .prefix(count).map { measured[$0] }
        sameKindRuns = runs.count { $0.profile.mixtureOfExperts == profile.mixtureOfExperts }
        runCount = runs.count
    }

    /// The `count` replayed runs nearest `plan`.
    public init(plan: TrainingPlan, runs: [CalibrationRun], count: Int = 5) {
        self.init(profile: RunProfile(plan: plan),
                  runs: runs.map { Run(id: $0.run.id, profile: RunProfile(plan: $0.plan), relativeError: $0.relativeError) },
                  count: count)
    }

    /// The median of the nearest runs' signed errors (the mean of the middle two for an even count); 0 without runs.
    public var medianError: Double { CalibrationReport.median(nearest.map(\.relativeError)) }

    /// What `plan` and `score` print under the plan: the nearest runs of `source`, their errors and why they are
    /// near, and the plan's predicted `seconds` as it would be were it off as they were.
    public func textReport(source: String, predictedSeconds seconds: Double) -> String {
        guard let first = nearest.first else { return "calibration evidence (\(source)): no measured runs to compare with\n" }
        func percent(_ value: Double) -> String { String(format: "%+.1f%%", 100 * value) }
        let errors = nearest.map(\.relativeError)
        let (fastest, slowest) = (errors.min()!, errors.max()!)
        let runs = nearest.count == 1 ? "measured run" : "\(nearest.count) measured runs"
        var lines = ["calibration evidence (\(source)): this plan is \(profile.description)."]
        lines.append("The \(runs) most like it were predicted \(percent(fastest)) to \(percent(slowest)) "
                     + "of their measured time (median \(percent(medianError)); negative: predicted faster than measured):")
        for run in nearest {
            lines.append("  \(percent(run.relativeError).leftPadded(7))  \(run.id): \(run.profile.description) "
                         + String(format: "(%.1f doublings away)", run.distance))
        }
        // predicted = measured x (1 + error), so a plan off as a run was takes predicted / (1 + error).
        lines.append("Off as they were, this plan's iteration would take \(PlanPrediction.seconds(seconds / (1 + medianError))) "
                     + "(\(PlanPrediction.seconds(seconds / (1 + slowest))) to \(PlanPrediction.seconds(seconds / (1 + fastest)))) "
                     + "against the predicted \(PlanPrediction.seconds(seconds)).")
        if sameKindRuns == 0 {
            // No distance says this as plainly: the other kind's errors come from terms this plan's price does or does not have.
            lines.append(profile.mixtureOfExperts
                ? "None of the \(runCount) runs in \(source) is a mixture of experts, as this plan is: dense runs' errors say little about its experts' all-to-alls, routing and grouped GEMMs."
                : "None of the \(runCount) runs in \(source) is dense, as this plan is: a mixture of experts' errors say little about it.")
        } else if case let alike = nearest.count(where: { $0.profile.mixtureOfExperts == profile.mixtureOfExperts }), alike < nearest.count {
            let which = alike == 0 ? "None of them is" : "Only \(alike) of them \(alike == 1 ? "is" : "are")"
            lines.append("\(which) \(profile.kind), as this plan is (\(source) holds \(sameKindRuns) such run\(sameKindRuns == 1 ? "" : "s")): "
                         + (alike == 0 ? "their" : "the others'") + " errors say little about it.")
        }
        if sameKindRuns > 0, first.distance > Self.farDistance {
            lines.append(String(format: "None is close (the nearest is %.1f doublings away): their errors say little about this plan.", first.distance))
        }
        return VisibleText.lines(lines)
    }

    /// Beyond this distance the nearest run is too unlike the plan to say much: three doublings is, for example,
    /// 8x the devices, or twice the devices with ZeRO-3 against without.
    public static let farDistance = 3.0
}
