import Testing
@testable import ShardPlan

@Suite("Fuzzed inputs to the search: small mutated graphs and clusters planned, or refused, never crashed on")
struct PlannerFuzzTests {
    static let mlp = try! Graph(jsonBytes: try! GraphFixture.specMLP.bytes)

    /// Settings as `plan` takes them: stages, a fixed mesh, a fixed microbatch count, the Megatron grid.
    static func search(_ graph: Graph, on cluster: Cluster, using random: inout SplitMix64) {
        let meshes: [[Int]?] = [nil, nil, [1, 2], [2, 1], [2], [4], [2, 2], [3], [1, 1, 2]]
        CommandChecks.plan(graph, on: cluster, stages: Int.random(in: 1...3, using: &random), meshShape: meshes.randomElement(using: &random)!,
                           microbatches: [nil, 1, 2, 3, 1024].randomElement(using: &random)!, grid: Bool.random(using: &random))
    }

    @Test("plan a mutated graph")
    func mutatedGraphs() {
        let campaign = FuzzCampaign(kind: "plan (graph)", documents: [FuzzFixtures.graphDocuments[0]],
                                    vocabulary: FuzzFixtures.graphVocabulary, resizes: true, seed: 4)
        campaign.run(cases: FuzzCampaign.caseCount(default: 150)) { fuzzCase throws(InputError) in
            let graph = try GraphInputFuzzTests.decode(fuzzCase.document)
            guard graph.operations.count <= 16 else { return }
            var random = fuzzCase.random
            Self.search(graph, on: Bool.random(using: &random) ? FuzzFixtures.twoDevices : FuzzFixtures.fourDevices, using: &random)
        }
    }

    @Test("plan on a mutated cluster")
    func mutatedClusters() {
        let campaign = FuzzCampaign(kind: "plan (cluster)", documents: [FuzzFixtures.twoDevices.json, FuzzFixtures.fourDevices.json],
                                    vocabulary: FuzzFixtures.clusterVocabulary, resizes: true, seed: 5)
        campaign.run(cases: FuzzCampaign.caseCount(default: 150)) { fuzzCase throws(InputError) in
            let cluster = try ClusterInputFuzzTests.decode(fuzzCase.document)
            guard cluster.deviceCount <= 8 else { return }
            var random = fuzzCase.random
            Self.search(Self.mlp, on: cluster, using: &random)
        }
    }
}
