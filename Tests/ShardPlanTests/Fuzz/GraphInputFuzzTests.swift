import Testing
@testable import ShardPlan

@Suite("Fuzzed graph documents: decoded, inspected and scored, or refused at a JSON path, never crashed on")
struct GraphInputFuzzTests {
    /// The graph a document decodes to; accepted graphs must survive being written back out and read again.
    static func decode(_ document: FuzzDocument) throws(InputError) -> Graph {
        let graph: Graph
        switch document {
        case .value(let value): graph = try Graph(json: value)
        case .bytes(let bytes): graph = try Graph(jsonBytes: bytes, document: FuzzCampaign.documentName)
        }
        let again = try? Graph(jsonBytes: Array(graph.jsonText.utf8))
        #expect(again == graph, "an accepted graph must round-trip:\n\(String(decoding: document.bytes.prefix(2000), as: UTF8.self))")
        return graph
    }

    @Test("decode, inspect and score")
    func decodeInspectScore() {
        let campaign = FuzzCampaign(kind: "graph", documents: FuzzFixtures.graphDocuments, vocabulary: FuzzFixtures.graphVocabulary, seed: 1)
        let tally = campaign.run(cases: FuzzCampaign.caseCount(default: 1500)) { fuzzCase throws(InputError) in
            let graph = try Self.decode(fuzzCase.document)
            CommandChecks.inspect(graph)
            CommandChecks.score(graph, on: FuzzFixtures.fourDevices, tp: 2, pp: 2)
        }
        // Some mutations are harmless (a layer renamed, a dropout rate changed); most are not.
        #expect(tally.rerun || tally.accepted > 0 && tally.rejected > tally.accepted, "\(tally)")
    }
}
