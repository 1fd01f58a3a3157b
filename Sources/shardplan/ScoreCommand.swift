import ArgumentParser
import Foundation
import ShardPlan

/// `shardplan score`: the predicted cost of a hand-written Megatron-style plan.
struct ScoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Predict iteration time and memory of a Megatron-style plan (tp, pp, dp), or of a saved plan (--plan), with the search's cost model."
    )

    @OptionGroup var input: ModelAndCluster

    @Option(help: "Tensor-parallel size.")
    var tp: Int?

    @Option(help: "Pipeline-parallel size.")
    var pp: Int?

    @Option(help: "A shardplan.plan/1 file to re-score instead of a Megatron layout (--tp, --pp).")
    var plan: String?

    @Option(help: "Data-parallel size (default: devices / (tp x pp)).")
    var dp: Int?

    @Option(name: .customLong("micro-batch-size"), help: "Samples per microbatch per data-parallel replica (default 1).")
    var microBatchSize: Int?

    @Option(help: "Microbatches per iteration (instead of --micro-batch-size).")
    var microbatches: Int?

    @Option(name: .customLong("virtual-stages"), help: "Model chunks per pipeline rank (interleaved 1F1B when more than 1).")
    var virtualStages: Int = 1

    @Option(help: "Pipeline schedule: gpipe, 1f1b or interleaved-1f1b.")
    var schedule: PipelineSchedule?

    @Flag(name: .customLong("sequence-parallel"), help: "Split norms, dropout and residual adds along the sequence (Megatron SP).")
    var sequenceParallel = false

    @Option(help: "Activation recomputation: none, selective or full.")
    var recompute: RecomputeMode = .none

    @Option(help: "ZeRO stage 0-3 over the data-parallel devices.")
    var zero: Int = 0

    @Flag(name: .customLong("overlap-grad-reduce"), help: "Overlap the data-parallel gradient reduction with the backward pass.")
    var overlapGradReduce = false

    @Flag(name: .customLong("overlap-tp-comm"), help: "Overlap tensor-parallel collectives with GEMMs.")
    var overlapTPComm = false

    @OptionGroup var printing: PlanOutput

    @Flag(help: "Print where the command's time went to standard error.")
    var timings = false

    func validate() throws {
        if plan == nil && (tp == nil || pp == nil) { throw ValidationError("Give --tp and --pp, or --plan with a saved plan.") }
        if plan != nil && (tp != nil || pp != nil) { throw ValidationError("--plan re-scores a saved plan; leave out --tp and --pp.") }
    }

    func run() throws {
        try reportingInputErrors {
            var clock = CommandClock(enabled: timings)
            let (graph, cluster) = try input.load(&clock)
            let plan = try self.plan.map { path throws -> TrainingPlan in
                let document = try GraphLoading.document(path, what: "plan")
                do throws(InputError) {
                    return try TrainingPlan(json: document, graph: graph, cluster: cluster, clusterName: input.cluster)
                } catch {
                    throw error.inDocument(path)
                }
            } ?? megatronPlan(graph: graph, cluster: cluster)
            clock.lap("lay out plan")
            let prediction = PlanEvaluator(cluster: cluster).evaluate(plan)
            clock.lap("score")
            let text = printing.format == .json ? plan.jsonText(prediction: prediction) : prediction.textReport(for: plan)
            try writeOutput(text, to: printing.output)
            clock.lap("write output")
            if !prediction.fitsInMemory, let worst = prediction.ranks.max(by: { $0.peakMemoryBytes < $1.peakMemoryBytes }) {
                printError(prediction.memoryShortfall(worst))
                throw ExitCode.failure
            }
        }
    }

    private func megatronPlan(graph: Graph, cluster: Cluster) throws -> TrainingPlan {
        let (tp, pp) = (self.tp!, self.pp!)
        let dataParallel = dp ?? (tp * pp > 0 ? cluster.deviceCount / (tp * pp) : 0)
        var batchPerMicrobatch = microBatchSize ?? 1
        if let microbatches {
            let batch = graph.batchSize ?? 1
            guard microbatches >= 1, dataParallel >= 1, batch % (microbatches * dataParallel) == 0 else {
                throw InputError(.invalidValue, at: JSONPath([.key("--microbatches")]),
                                 "the global batch \(batch) does not split into \(microbatches) microbatches on each of \(dataParallel) data-parallel replicas")
            }
            batchPerMicrobatch = batch / (microbatches * dataParallel)
        }
        let configuration = MegatronConfiguration(
            tensorParallel: tp, pipelineParallel: pp, dataParallel: dp, microBatchSize: batchPerMicrobatch,
            virtualStages: virtualStages, sequenceParallel: sequenceParallel, schedule: schedule,
            options: TrainingOptions(recompute: recompute, zeroStage: zero, overlapGradientReduction: overlapGradReduce,
                                     overlapTensorParallelCommunication: overlapTPComm))
        return try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: input.cluster, configuration: configuration)
    }
}
