import Testing
@testable import ShardPlan
@testable import shardplan

/// `shardplan models ID --pad-vocab M` builds the padded graph that `VocabularyPadding`'s note (ShardPlanTests) names.
@Suite("models --pad-vocab")
struct PadVocabularyOptionTests {
    @Test("models --pad-vocab builds the padded graph; a model without a vocabulary is refused at --pad-vocab")
    func modelsOption() throws {
        var parsed = try ShardPlanCommand.parseAsRoot(["models", "wrn-50-2", "--pad-vocab", "8"])
        #expect(throws: (any Error).self) { try parsed.run() }
        #expect(throws: (any Error).self) { _ = try ShardPlanCommand.parseAsRoot(["models", "--pad-vocab", "8"]) }
        #expect(throws: (any Error).self) { _ = try ShardPlanCommand.parseAsRoot(["models", "gpt3-125m", "--pad-vocab", "0"]) }
    }
}
