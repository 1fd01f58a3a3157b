import Testing
@testable import ShardPlan

/// QA: `--memory-limit` was the command line's alone, and `TrainingPlan.memoryLimitBytes`, which looks like the place,
/// is a record: set to 10 GB it left a plan's device memory at 85.9 GB and the plan fitting. The checked cut is the
/// library's, `Cluster.limitingDeviceMemory(toGB:)`, which the command line calls.
@Suite("Cluster.limitingDeviceMemory(toGB:)")
struct MemoryLimitTests {
    let node = try! Cluster.preset(named: "dgx-a100-80g")

    @Test("each device takes the limit, and a plan priced on the cluster is checked against it")
    func limitsTheDevices() throws {
        let limited = try node.limitingDeviceMemory(toGB: 70)
        #expect(limited.device.memoryBytes == 70e9)
        var expected = node
        expected.device.memoryBytes = 70e9
        #expect(limited == expected)
        // gpt-tiny under Megatron's tp = 1 layout: far under 80 GiB, and over 3.5 GB (3 GB of framework overhead and more).
        let graph = try ModelCatalog.model(id: "gpt-tiny")!.build()
        let configuration = MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1)
        let whole = try PlanEvaluator(cluster: node).evaluate(checking: TrainingPlan.megatron(graph: graph, cluster: node, clusterName: "n", configuration: configuration))
        #expect(whole.deviceMemoryBytes == 80 * 1_073_741_824)
        let tight = try node.limitingDeviceMemory(toGB: 3.0001)
        let cut = try PlanEvaluator(cluster: tight).evaluate(checking: TrainingPlan.megatron(graph: graph, cluster: tight, clusterName: "n", configuration: configuration))
        #expect(cut.deviceMemoryBytes == 3.0001e9)
        #expect(whole.fitsInMemory && !cut.fitsInMemory, "peak \(cut.peakMemoryBytesPerDevice) bytes")
    }

    @Test("more than a device has, a limit the framework's 3 GB fills, and one not positive and finite are refused at memoryLimit")
    func refusals() {
        let path = JSONPath([.key("memoryLimit")])
        #expect(throws: InputError(.invalidValue, at: path, "90 GB is more than the 85.899 GB each A100-SXM4-80GB of dgx-a100-80g has")) {
            _ = try node.limitingDeviceMemory(toGB: 90)
        }
        for gigabytes in [3.0, 2.5] {
            #expect(throws: InputError(.invalidValue, at: path, "\(gigabytes == 3 ? "3" : "2.5") GB leaves nothing beside the 3 GB every plan counts for the CUDA context, workspaces and fragmentation")) {
                _ = try node.limitingDeviceMemory(toGB: gigabytes)
            }
        }
        for gigabytes in [0, -5, .infinity, .nan] {
            let error = #expect(throws: InputError.self) { _ = try node.limitingDeviceMemory(toGB: gigabytes) }
            #expect(error?.path == path)
        }
    }
}
