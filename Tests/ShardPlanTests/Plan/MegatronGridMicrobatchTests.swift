import Testing
@testable import ShardPlan

/// The microbatch sizes the Megatron grid tries (`MegatronGrid.microBatchSizes(batch:dataParallel:pipelineParallel:)`):
/// Megatron's usual 1-8, and without a pipeline the larger ones up to a replica's whole share, which a small model
/// runs fastest (SPEC's MLP on one DGX A100: the grid's best was 17.6 times the stage DP's 1.18 ms at 8 samples a
/// microbatch, and is its equal at 1,024).
@Suite("Megatron grid microbatch sizes")
struct MegatronGridMicrobatchTests {
    @Test("without a pipeline, powers of two up to a replica's share and the share itself; with one, the usual sizes")
    func sizes() {
        let grid = MegatronGrid()
        #expect(grid.microBatchSizes(batch: 1024, dataParallel: 1, pipelineParallel: 1) == [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024])
        // 128 does not divide a replica's 192.
        #expect(grid.microBatchSizes(batch: 1536, dataParallel: 8, pipelineParallel: 1) == [1, 2, 4, 8, 16, 32, 64, 192])
        #expect(grid.microBatchSizes(batch: 1536, dataParallel: 8, pipelineParallel: 4) == [1, 2, 4, 8])
        // Only sizes that divide a replica's share: 12 samples a replica take 1, 2, 4 and 12.
        #expect(grid.microBatchSizes(batch: 96, dataParallel: 8, pipelineParallel: 1) == [1, 2, 4, 12])
    }

    @Test("the search's provenance names both times, or a tie")
    func provenance() {
        let slower = SearchProvenance(foundBy: .stageDynamicProgram, stageDynamicProgramSeconds: 2.0, megatronGridSeconds: 2.1,
                                      searchSeconds: 1, stoppedEarly: false)
        #expect(slower.description == "found by the stage DP; the Megatron grid's best is 5.0% slower (2.1 s against 2 s)")
        let tie = SearchProvenance(foundBy: .stageDynamicProgram, stageDynamicProgramSeconds: 2.0, megatronGridSeconds: 2.0005,
                                   searchSeconds: 1, stoppedEarly: false)
        #expect(tie.description == "found by the stage DP; the Megatron grid's best is as fast (2.001 s)")
        // Times below a second in the report's units: QA's mlp-2 plans printed "0.001502 s against 0.0003573 s".
        let small = SearchProvenance(foundBy: .stageDynamicProgram, stageDynamicProgramSeconds: 0.0003573, megatronGridSeconds: 0.001502,
                                     searchSeconds: 1, stoppedEarly: false)
        #expect(small.description == "found by the stage DP; the Megatron grid's best is 320.4% slower (1.502 ms against 357.3 us)")
    }
}
