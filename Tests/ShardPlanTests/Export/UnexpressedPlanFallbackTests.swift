import Foundation
import Testing
@testable import ShardPlan

/// A searched plan that no framework layout expresses gives way to a runnable alternative (`FrameworkExport.choosing`).
/// QA's graph: a 2-layer model with grouped-query attention and tied embeddings at batch 4 on one DGX H100, whose
/// `--emit torchtitan` search found 3 stages (layers 1, 2, 1: the embedding, both blocks, the loss); read back as a
/// framework layout that is 3 pipeline chunks of 2 repeated layers, which no framework lays out. `plan` exited 1
/// though the grid's tp = 1, pp = 2, dp = 4 runs in torchtitan as priced.
@Suite("Framework settings: a plan no framework layout expresses gives way to the alternatives")
struct UnexpressedPlanFallbackTests {
    static func fixture(_ name: String) throws -> [UInt8] {
        let url = try #require(Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Fixtures/plans"))
        return Array(try Data(contentsOf: url))
    }

    @Test("the searched 3-stage plan of a 2-layer model is refused alone, and the grid's configuration is written instead")
    func gridStandsInForAnUnexpressedPlan() throws {
        let graph = try Graph(jsonBytes: try Self.fixture("gqa-2-layers"))
        let cluster = try Cluster.preset(named: "dgx-h100:1")
        let plan = try TrainingPlan(json: try JSONParser.parse(try Self.fixture("gqa-2-layers-pp3")), graph: graph, cluster: cluster,
                                    clusterName: "dgx-h100:1")
        let prediction = PlanEvaluator(cluster: cluster).evaluate(plan)
        #expect(plan.stages.count == 3)
        #expect(throws: InputError.self) { try FrameworkExport(plan: plan, prediction: prediction, framework: .torchtitan) }
        #expect(throws: InputError.self) {
            try FrameworkExport.choosing(plan, prediction: prediction, alternatives: [], requiresFit: true, framework: .torchtitan)
        }
        var options = plan.options
        options.zeroStage = 2
        let grid = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-h100:1", configuration: MegatronConfiguration(
            tensorParallel: 1, pipelineParallel: 2, dataParallel: 4, options: options))
        let gridPrediction = PlanEvaluator(cluster: cluster).evaluate(grid)
        let chosen = try FrameworkExport.choosing(plan, prediction: prediction, alternatives: [.grid(grid, prediction: gridPrediction)],
                                                  requiresFit: true, framework: .torchtitan)
        #expect(chosen.plan.summary == grid.summary && chosen.export.unrunnable.isEmpty && chosen.export.prediction.fitsInMemory)
        #expect(chosen.export.text.contains("runs in torchtitan in no layout (no framework layout expresses this plan"))
        #expect(chosen.export.text.contains("too few for 3 pipeline chunks"))
        #expect(chosen.export.text.contains("pipeline_parallel_degree = 2"))
    }
}
