// Reads a saved shardplan.plan/1 file (what `shardplan plan --format json -o` or `plan-catalog-model`
// writes, or a hand-edited one) and prices it again with the cost model, as `shardplan score --plan` does.
// The plan names its graph and cluster; a catalog model and a cluster preset are found by name, any other
// graph or cluster is given as a file.
//
//     swift run rescore-saved-plan PLAN.json [GRAPH.json [CLUSTER]]
import Foundation
import ShardPlan

let arguments = Array(CommandLine.arguments.dropFirst())
guard let planPath = arguments.first else {
    FileHandle.standardError.write(Data("usage: rescore-saved-plan PLAN.json [GRAPH.json [CLUSTER]]\n".utf8))
    exit(2)
}

func contents(of path: String) throws(InputError) -> [UInt8] {
    guard let bytes = fileBytes(atPath: path) else { throw InputError(.invalidValue, at: .root, "cannot read the file", document: path) }
    return bytes
}

do {
    guard let planBytes = fileBytes(atPath: planPath) else { throw InputError(.invalidValue, at: .root, "cannot read the plan", document: planPath) }
    // The plan's own members name its graph and cluster, and its saved prediction.
    guard case .object(let plan) = try JSONValue.parseDocument(planBytes, document: planPath), case .string(let graphName)? = plan["graph"],
          case .string(let savedCluster)? = plan["cluster"] else {
        throw InputError(.missingField, at: .root, "\(planPath) is not a plan naming its graph and cluster")
    }
    let graph: Graph
    if arguments.count > 1 {
        graph = try Graph(jsonBytes: try contents(of: arguments[1]), document: arguments[1])
    } else if let model = ModelCatalog.model(id: graphName) {
        graph = try model.build()
    } else {
        throw InputError(.invalidReference, at: .root, "the plan's graph \"\(graphName)\" is not in the catalog; give its file")
    }
    let clusterName = arguments.count > 2 ? arguments[2] : savedCluster
    let cluster = try resolveCluster(clusterName)

    let saved = try TrainingPlan(jsonBytes: planBytes, document: planPath, graph: graph, cluster: cluster, clusterName: clusterName)
    let prediction = PlanEvaluator(cluster: cluster).evaluate(saved)
    if case .object(let predicted)? = plan["predicted"], case .number(let seconds)? = predicted["iteration_seconds"] {
        print(String(format: "saved prediction: %.6f s per iteration; re-scored: %.6f s", seconds, prediction.iterationSeconds))
    }
    print(prediction.textReport(for: saved))
} catch {
    FileHandle.standardError.write(Data("rescore-saved-plan: \(error)\n".utf8))
    exit(1)
}
