import Testing
@testable import ShardPlan
@testable import shardplan

/// The library refuses FP8 on a device without FP8 tensor cores at `options.precision`; `plan` and `score` refuse it
/// at their flag, with a flag for the remedy.
@Suite("--precision on a device without FP8 tensor cores")
struct PrecisionCheckTests {
    @Test("--precision fp8 or auto on an A100 is an error at --precision that names --precision bf16", arguments: [MatmulPrecision.fp8, .auto])
    func refusedAtTheFlag(precision: MatmulPrecision) throws {
        let a100 = try Cluster.preset(named: "dgx-a100-80g").device
        #expect(throws: InputError(.invalidValue, at: JSONPath([.key("--precision")]),
                                   "A100-SXM4-80GB has no FP8 tensor cores (its cluster lists no fp8 peak); use --precision bf16")) {
            try PrecisionChoice.check(TrainingOptions(precision: precision), on: a100)
        }
        try PrecisionChoice.check(TrainingOptions(precision: precision), on: try Cluster.preset(named: "dgx-h100").device)
    }
}
