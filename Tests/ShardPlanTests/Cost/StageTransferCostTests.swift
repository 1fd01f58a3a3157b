import Testing
@testable import ShardPlan

/// The activations that cross from one pipeline stage to the next, in plans whose stages differ in mesh shape:
/// a hand-edited plan may give each stage its own, and each side's replicated axes are its own mesh's.
@Suite("Point-to-point transfers between stages of different mesh shapes")
struct StageTransferCostTests {
    let graph: Graph
    let cluster: Cluster

    init() throws {
        graph = try ModelCatalog.model(id: "gpt-tiny")!.build()
        cluster = try Cluster.preset(named: "dgx-a100-80g:1")
    }

    /// `layout` without mesh axis "y": what a stage of mesh shape [4] and axis "x" reads and writes.
    static func withoutSecondAxis(_ layout: JSONValue) -> JSONValue {
        switch layout {
        case .array(let entries) where entries == ["y"]: return .null
        case .array(let entries): return .array(entries.map(withoutSecondAxis))
        case .object(let members):
            var object = JSONObject()
            for (key, value) in members.members { object[key] = withoutSecondAxis(value) }
            return .object(object)
        default: return layout
        }
    }

    /// gpt-tiny (8 sequences of 32 tokens, hidden 64, bf16) on one DGX A100: stage 0 as Megatron's tp 2, dp 2 lays
    /// it out on a 2 x 2 mesh, and stage 1 edited by hand to pure data parallelism on a mesh of shape [4]. Each
    /// microbatch holds 4 sequences, as stage 1 splits the batch 4 ways: its hidden state is 4 x 32 x 64 x 2 =
    /// 16,384 bytes. Stage 0 holds half of it on each device, replicated over its tensor-parallel pair, which sends
    /// it in two parts of 4,096 bytes; stage 1 holds a quarter on each device, 4,096 bytes, and gathers nothing.
    /// Before, the receiving side's gather took the sending mesh's axis 1, which a mesh of one axis lacks: a trap.
    @Test("a stage of mesh [4] after one of mesh 2 x 2 receives 4,096 bytes a device, gathering nothing")
    func differentMeshShapes() throws {
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1",
                                             configuration: MegatronConfiguration(tensorParallel: 2, pipelineParallel: 2))
        guard case .object(var top) = try JSONParser.parse(plan.jsonText(prediction: PlanEvaluator(cluster: cluster).evaluate(plan))),
              case .array(var stages)? = top["stages"], case .object(var second) = stages[1] else {
            Issue.record("the document has two stages"); return
        }
        second["mesh"] = [4]
        second["axes"] = ["x"]
        for key in ["shardings", "operand_shardings"] { second[key] = second[key].map(Self.withoutSecondAxis) }
        second["partial_sums"] = ["loss": ["x"]]
        second["communication_by_axis"] = nil
        stages[1] = .object(second)
        top["stages"] = .array(stages)
        top["microbatches"] = 2
        let edited = try TrainingPlan(json: .object(top), graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1")
        #expect(edited.stages.map(\.mesh.shape) == [[2, 2], [4]])
        let prediction = PlanEvaluator(cluster: cluster).evaluate(edited)
        let transfer = cluster.sendSeconds(bytes: 4_096, from: 0, to: 4)
        for rank in prediction.ranks {
            #expect(abs(rank.pointToPointSeconds - transfer) <= 1e-12, "rank \(rank.rank): \(rank.pointToPointSeconds) s")
        }
    }

    /// The same pair of stages as Megatron lays them out (both 2 x 2): the sender's two parts of 4,096 bytes, each
    /// 2-device tensor-parallel pair then gathering the 8,192 bytes its devices each hold.
    @Test("stages of the same mesh send the replicated activation in parts and gather it on the receiving side")
    func sameMeshShapes() throws {
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1",
                                             configuration: MegatronConfiguration(tensorParallel: 2, pipelineParallel: 2,
                                                                                  microBatchSize: 2))
        #expect(plan.microbatches == 2)
        let prediction = PlanEvaluator(cluster: cluster).evaluate(plan)
        let transfer = cluster.sendSeconds(bytes: 4_096, from: 0, to: 4)
            + plan.stages[1].mesh.allGatherSeconds(bytes: 8_192, alongAxes: [1])
        for rank in prediction.ranks {
            #expect(abs(rank.pointToPointSeconds - transfer) <= 1e-12, "rank \(rank.rank): \(rank.pointToPointSeconds) s")
        }
    }
}
