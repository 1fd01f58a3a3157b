@testable import ShardPlan

/// Shared set-ups of the tests that compare training options (gradient buffer, optimizer state, FP8) on one
/// model: its prediction on one device, and a plan document read back.
enum TrainingOptionsFixtures {
    /// The one rank of mlp-2 (SPEC section 1's perceptron) trained on one A100 80GB, 1,024 rows a microbatch.
    static func mlp2Rank(_ options: TrainingOptions) throws -> PlanPrediction.Rank {
        let graph = try ModelCatalog.model(id: "mlp-2")!.build()
        let cluster = try Cluster.preset(named: "single-a100-80g")
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "single-a100-80g", configuration:
            MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1, microBatchSize: 1024, options: options))
        return PlanEvaluator(cluster: cluster).evaluate(plan).ranks[0]
    }

    /// A `shardplan.plan/1` document's text read back against `graph` on the preset `clusterName`.
    static func decode(_ text: String, graph: Graph, clusterName: String) throws -> TrainingPlan {
        try TrainingPlan(json: try JSONValue.parseDocument(Array(text.utf8), document: "plan"), graph: graph,
                         cluster: try Cluster.preset(named: clusterName), clusterName: clusterName)
    }
}
