// Plans a model of ShardPlan's catalog on a cluster preset with `PipelinePlanner`, as `shardplan plan` does,
// and saves the plan as shardplan.plan/1 JSON if given a path.
//
//     swift run plan-catalog-model [MODEL [CLUSTER [STAGES [PLAN.json]]]]
//
// The default, GPT-3 125M on one H100 NVL pair (2 GPUs) in at most 2 pipeline stages, takes seconds in a
// debug build: the stage DP over the layers, the sharding ILP of each stage on each of its meshes, the
// microbatch count (one microbatch of 256 sequences does not fit) and Megatron-LM's configurations. Larger
// clusters have many more submeshes to search: `gpt3-2.7b dgx-a100-80g:2 4` takes minutes in a debug build
// and about 2 s in a release build (Docs/pipeline-search.md).
import Foundation
import ShardPlan

let arguments = Array(CommandLine.arguments.dropFirst())
let modelID = arguments.count > 0 ? arguments[0] : "gpt3-125m"
let clusterName = arguments.count > 1 ? arguments[1] : "h100-nvl:1"
let maximumStages = arguments.count > 2 ? Int(arguments[2]) : 2
let output = arguments.count > 3 ? arguments[3] : nil

do {
    guard let model = ModelCatalog.model(id: modelID) else {
        throw InputError(.invalidReference, at: .root,
                         "unknown model \"\(modelID)\"; the catalog has \(ModelCatalog.all.map(\.id).joined(separator: ", "))")
    }
    let graph = try model.build()
    let cluster = try Cluster.preset(named: clusterName)
    print("\(model.description): \(GraphAnalysis(graph).parameterCount) parameters, batch \(graph.batchSize ?? 1)")

    guard let maximumStages, maximumStages >= 1 else {
        throw InputError(.invalidValue, at: .root, "STAGES must be a positive number, found \(arguments[2])")
    }
    // The context-parallel exchange the command line takes for this graph (`TrainingOptions`' own default is the ring).
    var options = TrainingOptions()
    options.contextParallelCommunication = .standard(for: graph)
    var planner = PipelinePlanner(graph: graph, cluster: cluster, clusterName: clusterName, options: options)
    planner.maximumStageCount = maximumStages
    let found = try planner.plan { step in print("  \(step)") }
    let (plan, prediction, attempts) = (found.plan, found.prediction, found.attempts)
    for attempt in attempts {
        let time = attempt.iterationSeconds.map { String(format: "%.3f s", $0) } ?? "nothing fits"
        print("  \(attempt.microbatches) microbatches: \(time), \(attempt.oracleSolves) stage searches")
    }
    print(prediction.textReport(for: plan))

    if let output {
        try plan.jsonText(prediction: prediction).write(toFile: output, atomically: true, encoding: .utf8)
        print("wrote \(output)")
    }
} catch {
    FileHandle.standardError.write(Data("plan-catalog-model: \(error)\n".utf8))
    exit(1)
}
