import Testing
@testable import ShardPlan

@Suite("choosing the number of microbatches")
struct MicrobatchChoiceTests {
    /// A batch of work 8 per layer split into microbatches, each paying a fixed 0.05 s of overhead per layer, and
    /// activations of 8 bytes per layer per batch, in 20 bytes of memory.
    struct BatchOracle: StageCostOracle {
        var deviceMemoryBytes: Double? { 20 }

        func stageCost(layers: Range<Int>, submesh: SubmeshShape, microbatches: Int,
                       inFlightMicrobatches: Int) -> StageCandidate<Int>? {
            let layerCount = Double(layers.count), m = Double(microbatches)
            let activations = 8 * layerCount / m
            let peak = activations * Double(inFlightMicrobatches)
            guard peak <= 20 else { return nil }
            return StageCandidate(microbatchSeconds: layerCount * (8 / m / Double(submesh.deviceCount) + 0.05),
                                  iterationSeconds: 0, peakMemoryBytes: peak, activationBytesPerMicrobatch: activations,
                                  payload: microbatches)
        }
    }

    @Test("the sweep keeps the fastest of the counts, each solved exactly")
    func sweep() throws {
        let program = StageDynamicProgram(layerCount: 4, nodes: 2, devicesPerNode: 4, microbatches: 1)
        let counts = StageDynamicProgram.microbatchCounts(batch: 16)
        #expect(counts == [1, 2, 4, 8, 16])
        let chosen = try #require(program.solve(BatchOracle(), microbatchCounts: counts))
        let each = counts.compactMap { program.with(microbatches: $0).solve(BatchOracle())?.iterationSeconds }
        #expect(chosen.iterationSeconds == each.min())
        // One microbatch of 4 layers keeps 32 bytes: it fits only as two stages that wait for each other.
        let whole = try #require(program.with(microbatches: 1).solve(BatchOracle()))
        #expect(whole.stages.count == 2 && abs(whole.iterationSeconds - 8.2) < 1e-12)
        #expect(chosen.microbatches > 1 && chosen.iterationSeconds < whole.iterationSeconds)
        #expect(chosen.stages.allSatisfy { $0.candidate.payload == chosen.microbatches })
    }
}
