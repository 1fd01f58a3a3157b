import Testing
@testable import ShardPlan

@Suite("Reports name a stage's devices as they are, not as the range from its first to its last")
struct DeviceListTextTests {
    @Test("device ids are written sorted, as runs of consecutive ids", arguments: [
        ([3], "device 3"), ([0, 1, 2, 3], "devices 0-3"), ([4, 5, 6, 7, 0, 1, 2, 3], "devices 0-7"),
        ([0, 2, 4, 6], "devices 0, 2, 4, 6"), ([8, 9, 10, 11, 0, 1, 2, 3], "devices 0-3, 8-11"), ([5, 1, 2], "devices 1-2, 5"),
    ])
    func runs(devices: [Int], text: String) {
        #expect(DeviceListText.describe(devices) == text)
    }

    /// gpt-tiny at tp=1, pp=2 on one DGX A100, its document edited so that rank 0 runs on the even devices and
    /// rank 1 on the odd ones, as a hand-edited plan may.
    @Test("a saved plan whose ranks take every other device: the text report and the page name those devices")
    func interleavedRanks() throws {
        let graph = try ModelCatalog.model(id: "gpt-tiny")!.build()
        let cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        let evaluator = PlanEvaluator(cluster: cluster)
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1",
                                             configuration: MegatronConfiguration(tensorParallel: 1, pipelineParallel: 2))
        guard case .object(var top) = try JSONParser.parse(plan.jsonText(prediction: evaluator.evaluate(plan))),
              case .array(var stages)? = top["stages"], stages.count == 2 else {
            Issue.record("the plan document has two stages"); return
        }
        for rank in 0 ..< 2 {
            guard case .object(var stage) = stages[rank] else { Issue.record("stage \(rank) is an object"); return }
            stage["devices"] = .ints([rank, rank + 2, rank + 4, rank + 6])
            stages[rank] = .object(stage)
        }
        top["stages"] = .array(stages)
        let edited = try TrainingPlan(json: .object(top), graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1")
        let prediction = evaluator.evaluate(edited)
        let text = prediction.textReport(for: edited)
        #expect(text.contains("rank 0: devices 0, 2, 4, 6, mesh 4x1"), "\(text)")
        #expect(text.contains("rank 1: devices 1, 3, 5, 7, mesh 4x1"), "\(text)")
        let html = PlanReport(plan: edited, prediction: prediction).html
        #expect(html.contains("rank 0: devices 0, 2, 4, 6, "))
        #expect(html.contains("mesh 4×1 on devices 1, 3, 5, 7"))
        #expect(!html.contains("devices 0-6") && !html.contains("devices 1-7"))
    }

    @Test("the text report's title counts the plan's devices, and the cluster's where some stay idle: 1 of 8 devices, 4 of 8, 8 devices", arguments: [1, 4, 8])
    func titleDeviceCount(dataParallel: Int) throws {
        let graph = try ModelCatalog.model(id: "gpt-tiny")!.build()
        let cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1",
                                             configuration: MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1, dataParallel: dataParallel))
        let text = PlanEvaluator(cluster: cluster).evaluate(plan).textReport(for: plan)
        let count = dataParallel == 8 ? "8 devices" : "\(dataParallel) of 8 devices"
        #expect(text.hasPrefix("gpt-tiny on dgx-a100-80g:1 (\(count)): "), "\(text)")
    }

    @Test("a cluster of one device is one device in the title")
    func titleSingleDevice() throws {
        let graph = try ModelCatalog.model(id: "gpt-tiny")!.build()
        let node = try Cluster.preset(named: "dgx-a100-80g:1")
        let cluster = Cluster(name: "one", nodes: 1, devicesPerNode: 1, device: node.device, intraNode: node.intraNode, interNode: nil)
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "one",
                                             configuration: MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1))
        let text = PlanEvaluator(cluster: cluster).evaluate(plan).textReport(for: plan)
        #expect(text.hasPrefix("gpt-tiny on one (1 device): "), "\(text)")
    }
}
