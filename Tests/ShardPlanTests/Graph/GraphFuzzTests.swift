import Testing
@testable import ShardPlan

@Suite("randomly broken graph documents are reported, never crashed on")
struct GraphFuzzTests {
    /// Decodes `bytes`: a graph that decodes must also survive being written back out and read again; a
    /// document that does not must give an `InputError` with something to say. A trap fails the whole run.
    private func check(_ bytes: [UInt8]) -> Bool {
        do {
            let graph = try Graph(jsonBytes: bytes, document: "fuzz.json")
            let again = try Graph(jsonBytes: Array(graph.jsonText.utf8))
            #expect(again == graph, "an accepted graph must round-trip:\n\(String(decoding: bytes, as: UTF8.self))")
            return true
        } catch {
            #expect(error.description.hasPrefix("fuzz.json: "), "\(error)")
            #expect(error.message.count > 10, "\(error)")
            return false
        }
    }

    @Test("mutated members, numbers and types", arguments: GraphFixture.allCases)
    func mutatedValues(_ fixture: GraphFixture) throws {
        let document = try JSONParser.parse(try fixture.bytes)
        var mutator = GraphDocumentMutator(seed: fixture == .specMLP ? 1 : 2)
        var accepted = 0
        for round in 0..<300 {
            let mutated = mutator.mutate(document, count: 1 + round % 3)
            if check(Array(JSONWriter.compact(mutated).utf8)) { accepted += 1 }
        }
        // Some mutations are harmless (a layer renamed, a dropout rate changed); most are not.
        #expect(accepted > 0 && accepted < 300)
    }

    @Test("garbled bytes", arguments: GraphFixture.allCases)
    func garbledText(_ fixture: GraphFixture) throws {
        let bytes = try fixture.bytes
        var mutator = GraphDocumentMutator(seed: fixture == .specMLP ? 3 : 4)
        for _ in 0..<200 {
            _ = check(mutator.garble(bytes))
        }
    }
}
