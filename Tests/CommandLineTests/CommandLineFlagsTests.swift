import ShardPlan
import Testing
@testable import shardplan

@Suite("The command line names its flags in the library's errors about the values it gave")
struct CommandLineFlagsTests {
    @Test("a library path becomes the flag that sets it; an error in a document keeps its path")
    func naming() {
        let tensor = InputError(.invalidValue, at: JSONPath([.key("tensorParallel")]), "the tensor-parallel size must be at least 1, found 0")
        #expect(CommandLineFlags.naming(tensor).description == "--tp: the tensor-parallel size must be at least 1, found 0")
        let zero = InputError(.invalidValue, at: JSONPath([.key("options"), .key("zero_stage")]), "the ZeRO stage must be 0, 1, 2 or 3, found 9")
        #expect(CommandLineFlags.naming(zero).description == "--zero: the ZeRO stage must be 0, 1, 2 or 3, found 9")
        #expect(CommandLineFlags.naming(InputError(.invalidValue, at: JSONPath([.key("microbatches")]), "m")).description == "--microbatches: m")
        let inPlan = InputError(.invalidValue, at: JSONPath([.key("options"), .key("zero_stage")]), "m", document: "plan.json")
        #expect(CommandLineFlags.naming(inPlan) == inPlan)
        let unknown = InputError(.invalidValue, at: JSONPath([.key("timeLimit")]), "m")
        #expect(CommandLineFlags.naming(unknown) == unknown)
    }
}
