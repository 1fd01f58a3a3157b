import Foundation
import Testing
@testable import ShardPlan

@Suite("Plan documents: score --plan re-scores a saved plan exactly")
struct PlanDocumentTests {
    let graph: Graph
    let cluster: Cluster

    init() throws {
        graph = try ModelCatalog.model(id: "gpt-tiny")!.build()
        cluster = try Cluster.preset(named: "dgx-a100-80g:1")
    }

    func roundTrip(_ plan: TrainingPlan) throws -> (PlanPrediction, PlanPrediction, TrainingPlan) {
        let evaluator = PlanEvaluator(cluster: cluster)
        let prediction = evaluator.evaluate(plan)
        let document = try JSONParser.parse(plan.jsonText(prediction: prediction))
        let decoded = try TrainingPlan(json: document, graph: graph, cluster: cluster, clusterName: plan.clusterName)
        return (prediction, evaluator.evaluate(decoded), decoded)
    }

    @Test("Megatron layouts decode to the same strategies and the same prediction",
          arguments: [(2, 2, 1), (4, 1, 1), (1, 2, 1), (8, 1, 1)])
    func megatron(tp: Int, pp: Int, virtualStages: Int) throws {
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1",
                                             configuration: MegatronConfiguration(tensorParallel: tp, pipelineParallel: pp,
                                                                                  sequenceParallel: tp > 1))
        let (before, after, decoded) = try roundTrip(plan)
        #expect(decoded.stages.map(\.strategies) == plan.stages.map(\.strategies))
        #expect(before.iterationSeconds == after.iterationSeconds)
        #expect(before.peakMemoryBytesPerDevice == after.peakMemoryBytesPerDevice)
    }

    @Test("a searched two-stage plan decodes to the same strategies and the same prediction")
    func searched() throws {
        let found = try PipelinePlanner(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1",
                                        maximumStageCount: 2, meshShape: [2, 2]).plan(microbatches: 2)
        let (before, after, decoded) = try roundTrip(found.plan)
        #expect(decoded.stages.map(\.strategies) == found.plan.stages.map(\.strategies))
        #expect(before.iterationSeconds == after.iterationSeconds)
    }

    @Test("a plan that leaves an op out or names an unknown axis is refused with its JSON path")
    func brokenPlans() throws {
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1",
                                             configuration: MegatronConfiguration(tensorParallel: 2, pipelineParallel: 1))
        let text = plan.jsonText(prediction: PlanEvaluator(cluster: cluster).evaluate(plan))
        guard case .object(var top) = try JSONParser.parse(text), case .array(var stages)? = top["stages"],
              case .object(var stage) = stages[0], case .array(let ops)? = stage["ops"] else {
            Issue.record("the plan document has stages with ops"); return
        }
        stage["ops"] = .array(Array(ops.dropLast()))
        stages[0] = .object(stage)
        top["stages"] = .array(stages)
        #expect(throws: InputError.self) { try TrainingPlan(json: .object(top), graph: graph, cluster: cluster, clusterName: "c") }
        do {
            _ = try TrainingPlan(json: .object(top), graph: graph, cluster: cluster, clusterName: "c")
        } catch {
            #expect(error.description.contains("is in none"))
        }
        let unknownAxis = text.replacingOccurrences(of: "[\"y\"]", with: "[\"z\"]")
        do {
            _ = try TrainingPlan(json: try JSONParser.parse(unknownAxis), graph: graph, cluster: cluster, clusterName: "c")
            Issue.record("an unknown axis must be refused")
        } catch let error as InputError {
            #expect(error.description.contains("stages[0]."))
            #expect(error.description.contains("unknown mesh axis \"z\""))
        }
    }
}
