/// A plan written as a training framework's launch settings (`plan --emit` and `score --emit`).
///
/// The plan is first read back as a uniform layout (`LayoutRecognition`), then brought within what the
/// framework runs (`TrainingFramework.expressible`). When either step changes anything, the settings run
/// the nearest layout instead of the plan: the header lists every change and the nearest layout's own
/// prediction from the same cost model next to the plan's.
public struct FrameworkExport: Sendable {
    public var framework: TrainingFramework
    /// The layout the settings run.
    public var layout: ParallelLayout
    /// Where those settings depart from the plan, a sentence each; empty when they run the plan itself.
    public var differences: [String]
    /// The prediction for `layout`: the plan's own when nothing differs.
    public var prediction: PlanPrediction
    /// The plan's prediction.
    public var planPrediction: PlanPrediction
    /// The settings, with a comment block saying what they run and what they are predicted to cost.
    public var text: String

    public init(plan: TrainingPlan, prediction: PlanPrediction, framework: TrainingFramework) throws(InputError) {
        try self.init(recognition: LayoutRecognition(plan), of: plan, prediction: prediction, framework: framework)
    }

    /// The settings for `plan`, already recognised (one recognition serves every framework).
    public init(recognition: LayoutRecognition, of plan: TrainingPlan, prediction: PlanPrediction,
                framework: TrainingFramework) throws(InputError) {
        self.framework = framework
        planPrediction = prediction
        let (configuration, changes) = framework.expressible(recognition.layout.configuration)
        var nearest = (layout: recognition.layout, plan: recognition.plan)
        if !changes.isEmpty {
            nearest = try ParallelLayout.megatron(configuration, graph: plan.graph, cluster: plan.cluster, clusterName: plan.clusterName)
        }
        layout = nearest.layout
        differences = recognition.differences + changes
        self.prediction = differences.isEmpty ? prediction : PlanEvaluator(cluster: plan.cluster).evaluate(nearest.plan)

        var header = ["ShardPlan: \(framework.displayName) settings for \(plan.graph.name) on \(plan.clusterName), "
                      + "\(layout.worldSize) of \(plan.cluster.deviceCount) devices: "
                      + layout.configuration.summary(dataParallel: layout.dataParallel)]
        if differences.isEmpty {
            header.append("They run the plan as it is; predicted: \(Self.costLine(prediction)).")
        } else {
            header.append("The plan is not a layout \(framework.displayName) runs; these settings run the nearest one, which differs so:")
            header += differences.map { "  - \($0)" }
            let change = PlanPrediction.percent(self.prediction.iterationSeconds / prediction.iterationSeconds - 1)
            header.append("Predicted for these settings: \(Self.costLine(self.prediction)); "
                          + "\(PlanPrediction.seconds(self.prediction.iterationSeconds)) is \(change.hasPrefix("-") ? "" : "+")\(change) "
                          + "against the plan's \(PlanPrediction.seconds(prediction.iterationSeconds)).")
        }
        if !self.prediction.fitsInMemory, let worst = self.prediction.ranks.max(by: { $0.peakMemoryBytes < $1.peakMemoryBytes }) {
            header.append("Warning: \(self.prediction.memoryShortfall(worst)).")
        }
        if let split = framework.unexpressedSplit(layout) { header.append("Warning: \(split).") }
        text = framework.render(layout, header: header)
    }

    /// "30.2 s per iteration, MFU 45.1%, peak memory 71.2 GB of 80.0 GB per device".
    static func costLine(_ prediction: PlanPrediction) -> String {
        "\(PlanPrediction.seconds(prediction.iterationSeconds)) per iteration, MFU \(PlanPrediction.percent(prediction.modelFLOPsUtilization)), "
            + "peak memory \(PlanPrediction.bytes(prediction.peakMemoryBytesPerDevice)) of \(PlanPrediction.bytes(prediction.deviceMemoryBytes)) per device"
    }
}
