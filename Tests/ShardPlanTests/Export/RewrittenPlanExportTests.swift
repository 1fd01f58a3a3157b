import Testing
@testable import ShardPlan

/// A plan of a rewritten graph exported to a framework: the framework builds the model's own modules, so the settings
/// are laid out and priced on the graph before the rewrites, and the header says so (QA found GPT-3 1.3B's header
/// promising 2.20 s for settings `score` priced at 2.35 s, the split QKV projection's saving).
@Suite("exports of rewritten plans")
struct RewrittenPlanExportTests {
    @Test("the settings of a rewritten plan are priced on the graph as given, and the header names the rewrites; read back from its document, the same")
    func pricedWithoutRewrites() throws {
        let (graph, cluster, plan, prediction) = try RewriteSearchTests.rewrittenPlan()
        let found = (plan: plan, prediction: prediction)
        #expect(!found.plan.rewrites.isEmpty && found.plan.graphBeforeRewrites == graph)
        let document = try JSONParser.parse(found.plan.jsonText(prediction: found.prediction))
        let decoded = try TrainingPlan(json: document, graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1")
        #expect(decoded.graphBeforeRewrites == graph)
        for plan in [found.plan, decoded] {
            for framework in TrainingFramework.allCases {
                let export = try FrameworkExport(plan: plan, prediction: found.prediction, framework: framework)
                #expect(export.differences.contains { $0.contains("graph rewrites (\(plan.rewriteCounts)) are not in these settings") },
                        "\(framework.rawValue): \(export.differences)")
                // What score prices for the same layout on the graph as given.
                let asGiven = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1",
                                                        configuration: export.layout.configuration)
                #expect(export.prediction.iterationSeconds == PlanEvaluator(cluster: cluster).evaluate(asGiven).iterationSeconds,
                        "\(framework.rawValue)")
            }
        }
    }

    /// Where the graph before the rewrites does not take the layout recognised on the rewritten one (here a graph of 4
    /// sequences, which 8 replicas cannot split), the alternatives stand in for the searched plan; without any, the
    /// refusal is the answer.
    @Test("a rewritten plan whose layout the graph as given does not take gives way to the alternatives, or is refused without them")
    func unlaidRewrittenPlan() throws {
        var (graph, cluster, plan, prediction) = try RewriteSearchTests.rewrittenPlan()
        #expect(try LayoutRecognition(plan).layout.dataParallel > 4)
        plan.graphBeforeRewrites = try graph.rebatched(to: 4)
        #expect(throws: InputError.self) { try FrameworkExport(plan: plan, prediction: prediction, framework: .megatron) }
        #expect(throws: InputError.self) { try FrameworkExport.choosing(plan, prediction: prediction, alternatives: [], framework: .megatron) }
        let unrewritten = try SingleStagePlanner(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1", recomputeModes: [.none])
            .plan(rewriting: RewriteSearch(rules: []), microbatches: 1)
        let chosen = try FrameworkExport.choosing(plan, prediction: prediction, alternatives: [
            .runnerUp(unrewritten.plan, prediction: unrewritten.prediction)], framework: .megatron)
        #expect(chosen.plan.rewrites.isEmpty)
        #expect(chosen.export.text.contains("in no layout: its model, without the plan's graph rewrites, does not take the plan's"))
    }
}
