// Scores Megatron-LM layouts of a catalog model with ShardPlan's cost model, as `shardplan score --tp --pp`
// does: iteration time, MFU and memory per GPU of each, and which ones fit.
//
//     swift run score-megatron-layouts [MODEL [CLUSTER]]      (default: gpt3-1.3b dgx-a100-80g:2)
import Foundation
import ShardPlan

let arguments = Array(CommandLine.arguments.dropFirst())
let modelID = arguments.count > 0 ? arguments[0] : "gpt3-1.3b"
let clusterName = arguments.count > 1 ? arguments[1] : "dgx-a100-80g:2"

do {
    guard let model = ModelCatalog.model(id: modelID) else {
        throw InputError(.invalidReference, at: .root,
                         "unknown model \"\(modelID)\"; the catalog has \(ModelCatalog.all.map(\.id).joined(separator: ", "))")
    }
    let graph = try model.build()
    let cluster = try Cluster.preset(named: clusterName)
    let evaluator = PlanEvaluator(cluster: cluster)
    print("\(model.description) on \(clusterName), global batch \(graph.batchSize ?? 1)")

    // Tensor parallelism within a node, pipeline stages across, data parallelism over the rest; four
    // samples a microbatch, and interleaving and recomputation where they are Megatron's usual choices.
    let layouts = [
        MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1, microBatchSize: 4),
        MegatronConfiguration(tensorParallel: 2, pipelineParallel: 1, microBatchSize: 4),
        MegatronConfiguration(tensorParallel: 8, pipelineParallel: 1, microBatchSize: 4, sequenceParallel: true),
        MegatronConfiguration(tensorParallel: 2, pipelineParallel: 2, microBatchSize: 4),
        MegatronConfiguration(tensorParallel: 2, pipelineParallel: 2, microBatchSize: 4, virtualStages: 2),
        MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1, microBatchSize: 16,
                              options: TrainingOptions(recompute: .full)),
    ]
    var best: (summary: String, plan: TrainingPlan, prediction: PlanPrediction)?
    for layout in layouts {
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: clusterName, configuration: layout)
        let prediction = evaluator.evaluate(plan)
        let summary = layout.summary(dataParallel: layout.dataParallel ?? cluster.deviceCount / (layout.tensorParallel * layout.pipelineParallel))
        let memory = prediction.peakMemoryBytesPerDevice / 1e9
        print(summary.padding(toLength: 44, withPad: " ", startingAt: 0)
              + String(format: "%8.3f s  MFU %5.1f%%  %6.1f GB", prediction.iterationSeconds,
                       100 * prediction.modelFLOPsUtilization, memory)
              + (prediction.fitsInMemory ? "" : "  does not fit"))
        if prediction.fitsInMemory, best.map({ prediction.iterationSeconds < $0.prediction.iterationSeconds }) ?? true {
            best = (summary, plan, prediction)
        }
    }
    guard let best else { throw InputError(.invalidValue, at: .root, "none of the layouts fits in device memory") }
    print("\nfastest that fits: \(best.summary)\n")
    print(best.prediction.textReport(for: best.plan))
} catch {
    FileHandle.standardError.write(Data("score-megatron-layouts: \(error)\n".utf8))
    exit(1)
}
