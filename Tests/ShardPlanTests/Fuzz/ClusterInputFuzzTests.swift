import Testing
@testable import ShardPlan

@Suite("Fuzzed cluster documents: decoded, described, scored and searched on, or refused at a JSON path")
struct ClusterInputFuzzTests {
    /// The cluster a document decodes to; accepted clusters must write out and read back equal.
    static func decode(_ document: FuzzDocument) throws(InputError) -> Cluster {
        let cluster: Cluster
        switch document {
        case .value(let value): cluster = try Cluster(json: value)
        case .bytes(let bytes): cluster = try Cluster(jsonBytes: bytes, document: FuzzCampaign.documentName)
        }
        // Figures are written to 12 significant digits: what is written reads back, and then writes the same.
        let again = Result { () throws(InputError) in try Cluster(jsonBytes: Array(cluster.jsonText.utf8)) }
        #expect((try? again.get())?.jsonText == cluster.jsonText, "an accepted cluster must round-trip: \(again)\n\(cluster.jsonText)")
        return cluster
    }

    static let mlp = try! Graph(jsonBytes: try! GraphFixture.specMLP.bytes)

    @Test("decode, describe, score and plan")
    func decodeScorePlan() {
        let campaign = FuzzCampaign(kind: "cluster", documents: FuzzFixtures.clusterDocuments, vocabulary: FuzzFixtures.clusterVocabulary, seed: 2)
        let tally = campaign.run(cases: FuzzCampaign.caseCount(default: 1500)) { fuzzCase throws(InputError) in
            let cluster = try Self.decode(fuzzCase.document)
            #expect(!cluster.textReport.isEmpty)
            var random = fuzzCase.random
            let tp = [1, 2, 4, 8].randomElement(using: &random)!
            CommandChecks.score(Self.mlp, on: cluster, tp: tp, pp: 1)
            // A search on every cluster small enough to search in milliseconds (larger ones: Docs/robustness.md).
            if cluster.deviceCount <= 4 && fuzzCase.index % 4 == 0 {
                CommandChecks.plan(Self.mlp, on: cluster, stages: Int.random(in: 1...2, using: &random), meshShape: nil,
                                   microbatches: 1, grid: false)
            }
        }
        #expect(tally.rerun || tally.accepted > 0 && tally.rejected > tally.accepted, "\(tally)")
    }
}
