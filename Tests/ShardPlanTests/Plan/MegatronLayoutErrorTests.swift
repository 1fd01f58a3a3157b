import Foundation
import Testing
@testable import ShardPlan

/// A Megatron layout that does not suit the graph or the cluster is refused at the option at fault, not at one
/// the user did not give.
@Suite("score --tp/--pp: the error names the option at fault")
struct MegatronLayoutErrorTests {
    @Test("data-parallel replicas that do not split the batch are dp's fault, with where dp came from when it was not given")
    func replicasThatDoNotSplitTheBatch() throws {
        // gpt-tiny's batch of 8 on 16 devices: tp=1 pp=1 leaves dp = 16; --dp 3 gives 3.
        let graph = try ModelCatalog.model(id: "gpt-tiny")!.build()
        let cluster = try Cluster.preset(named: "dgx-a100-80g:2")
        let derived = #expect(throws: InputError.self) {
            try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "c",
                                      configuration: MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1))
        }
        #expect(derived?.description == "dataParallel: the global batch 8 does not split over dp = 16 data-parallel replicas "
                + "(the cluster's 16 devices over tp x pp = 1; pass --dp to use fewer)")
        let given = #expect(throws: InputError.self) {
            try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "c",
                                      configuration: MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1, dataParallel: 3))
        }
        #expect(given?.description == "dataParallel: the global batch 8 does not split over dp = 3 data-parallel replicas")
        // A microbatch size that does not divide each replica's share is still the microbatch size's fault.
        let microBatch = #expect(throws: InputError.self) {
            try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "c",
                                      configuration: MegatronConfiguration(tensorParallel: 2, pipelineParallel: 1, microBatchSize: 3))
        }
        #expect(microBatch?.path == JSONPath([.key("microBatchSize")]))
    }

    /// An uneven pipeline split (12 layers on 8 ranks) is priced with a note that Megatron-Core refuses it; torchtitan
    /// runs such a split, so its export has no such note.
    @Test("score's note on a split Megatron-Core refuses is left out of the torchtitan export")
    func unevenSplitNoteByFramework() throws {
        let graph = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Models/gpt3-125m.json").path
        let arguments = ["score", graph, "--cluster", "dgx-a100-80g:1", "--tp", "1", "--pp", "8", "--dp", "1"]
        let megatron = try CommandLineFuzzTests.run(arguments + ["--emit", "megatron"])
        #expect(megatron.status == 0 && megatron.standardError.contains("note: ") && megatron.standardError.contains("Megatron-Core"),
                "\(megatron.standardError)")
        let torchtitan = try CommandLineFuzzTests.run(arguments + ["--emit", "torchtitan"])
        #expect(torchtitan.status == 0 && !torchtitan.standardError.contains("Megatron-Core"), "\(torchtitan.standardError)")
    }

    @Test("score --microbatches with tp x pp beyond the devices names --tp, not 0 data-parallel replicas")
    func microbatchesWithTooManyModelParallelDevices() throws {
        let graph = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Models/gpt-tiny.json").path
        let run = try CommandLineFuzzTests.run(["score", graph, "--cluster", "dgx-a100-80g:1", "--tp", "16", "--pp", "1",
                                                "--microbatches", "1"])
        #expect(run.status == 1 && !run.signalled)
        #expect(run.standardError == "error: --tp: tp x pp = 16 is more than the cluster's 8 devices\n", "\(run.standardError)")
        let uneven = try CommandLineFuzzTests.run(["score", graph, "--cluster", "dgx-a100-80g:1", "--tp", "1", "--pp", "1",
                                                   "--dp", "3", "--microbatches", "1"])
        #expect(uneven.status == 1)
        #expect(uneven.standardError == "error: --dp: the global batch 8 does not split over dp = 3 data-parallel replicas\n",
                "\(uneven.standardError)")
    }
}
