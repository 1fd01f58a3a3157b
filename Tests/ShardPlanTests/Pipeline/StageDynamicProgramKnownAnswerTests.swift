import Foundation
import Testing
@testable import ShardPlan

@Suite("stage DP known answers")
struct StageDynamicProgramKnownAnswerTests {
    /// Work of one layer per device, seconds, and what crossing nodes costs a stage per microbatch.
    static let uniform = FormulaStageCostOracle { layers, submesh in
        Double(layers) / Double(submesh.deviceCount) + (submesh.nodes > 1 ? 0.2 : 0)
    }

    @Test("4 uniform layers on 2 nodes of 8: one stage on all 16 devices for 1 microbatch, two 1x8 stages for 8",
          arguments: [(1, [0 ..< 4], 0.45), (8, [0 ..< 2, 2 ..< 4], 2.25)])
    func uniformLayers(microbatches: Int, stages: [Range<Int>], seconds: Double) throws {
        // One stage: m * (4/16 + 0.2). Two stages: 2 * 2/8 + (m - 1) * 2/8.
        let program = StageDynamicProgram(layerCount: 4, nodes: 2, devicesPerNode: 8, microbatches: microbatches)
        let partition = try #require(program.solve(Self.uniform))
        #expect(partition.stages.map(\.layers) == stages)
        #expect(abs(partition.iterationSeconds - seconds) < 1e-12)
        #expect(partition.stages.map(\.devices) == (stages.count == 1 ? [Array(0 ..< 16)] : [Array(0 ..< 8), Array(8 ..< 16)]))
        try PartitionValidator(program: program, oracle: Self.uniform).check(partition)
    }

    @Test("a cancelled DP stops asking its oracle and answers nothing; one never cancelled answers as before")
    func cancellation() throws {
        let program = StageDynamicProgram(layerCount: 4, nodes: 2, devicesPerNode: 8, microbatches: 8)
        final class Questions: @unchecked Sendable {
            let lock = NSLock()
            var count = 0
        }
        let asked = Questions()
        let counting = FormulaStageCostOracle { layers, submesh in
            asked.lock.withLock { asked.count += 1 }
            return Double(layers) / Double(submesh.deviceCount)
        }
        // Cancelled from the start: no question is asked.
        let table = program.candidateTable(counting, concurrency: 1) { true }
        #expect(table.wasCancelled)
        #expect(asked.lock.withLock { asked.count } == 0)
        #expect(program.solve(counting) { true } == nil)
        #expect(program.solve(Self.uniform) { false }?.stages.map(\.layers) == [0 ..< 2, 2 ..< 4])
    }

    @Test("when no stage of more than 2 layers fits, one microbatch still gets a pipeline of two")
    func memoryForcesPipeline() throws {
        // 10 bytes of weights per layer on every device (nothing to shard), 25 bytes of memory.
        var oracle = Self.uniform
        oracle.modelState = { layers, _ in 10 * Double(layers) }
        oracle.activations = { _, _ in 1 }
        oracle.memoryBytes = 25
        let program = StageDynamicProgram(layerCount: 4, nodes: 1, devicesPerNode: 8, microbatches: 1)
        let partition = try #require(program.solve(oracle))
        #expect(partition.stages.map(\.layers) == [0 ..< 2, 2 ..< 4])
        #expect(partition.stages.map(\.submesh) == [SubmeshShape(nodes: 1, devicesPerNode: 4), SubmeshShape(nodes: 1, devicesPerNode: 4)])
        #expect(partition.iterationSeconds == 1.0)
    }

    @Test("1F1B's early stages hold more microbatches, so only the last stage has room for two layers")
    func inFlightMemory() throws {
        // A layer keeps 10 bytes of weights and 6 per microbatch in flight, in 30 bytes: two layers fit only
        // with one microbatch in flight (26), one layer with up to three (28).
        var oracle = Self.uniform
        oracle.modelState = { layers, _ in 10 * Double(layers) }
        oracle.activations = { _, _ in 6 }
        oracle.memoryBytes = 30
        let program = StageDynamicProgram(layerCount: 4, nodes: 1, devicesPerNode: 8, microbatches: 4)
        let partition = try #require(program.solve(oracle))
        #expect(partition.stages.map(\.layers) == [0 ..< 1, 1 ..< 2, 2 ..< 4])
        #expect(partition.stages.map(\.inFlightMicrobatches) == [3, 2, 1])
        try PartitionValidator(program: program, oracle: oracle).check(partition)

        let gpipe = StageDynamicProgram(layerCount: 4, nodes: 1, devicesPerNode: 8, microbatches: 4, schedule: .gpipe)
        #expect(gpipe.solve(oracle) == nil, "GPipe keeps all 4 microbatches on every stage: 10 + 24 > 30")
    }

    @Test("a plan may leave devices idle only when asked to")
    func deviceUsage() throws {
        // Communication makes every device added slower than none.
        let oracle = FormulaStageCostOracle { layers, submesh in Double(layers) * (1 + 0.1 * Double(submesh.deviceCount)) }
        let idle = StageDynamicProgram(layerCount: 3, nodes: 1, devicesPerNode: 8, microbatches: 1, deviceUsage: .atMostAllDevices)
        let partition = try #require(idle.solve(oracle))
        #expect(partition.stages.map(\.devices) == [[0]])
        let all = StageDynamicProgram(layerCount: 3, nodes: 1, devicesPerNode: 8, microbatches: 1)
        #expect(try #require(all.solve(oracle)).stages.flatMap(\.devices).count == 8)
    }

    @Test("the iteration ends with the slowest stage's gradient synchronisation and optimizer step")
    func iterationTail() throws {
        var oracle = Self.uniform
        oracle.iterationSeconds = { layers, _ in 0.01 * Double(layers) }
        let program = StageDynamicProgram(layerCount: 4, nodes: 2, devicesPerNode: 8, microbatches: 8)
        let partition = try #require(program.solve(oracle))
        #expect(partition.stages.map(\.layers) == [0 ..< 2, 2 ..< 4])
        #expect(abs(partition.iterationTailSeconds - 0.02) < 1e-15)
        #expect(abs(partition.iterationSeconds - (2.25 + 0.02)) < 1e-12)
    }

    @Test("no plan when nothing fits")
    func nothingFits() {
        var oracle = Self.uniform
        oracle.modelState = { _, _ in 100 }
        oracle.memoryBytes = 10
        #expect(StageDynamicProgram(layerCount: 3, nodes: 2, devicesPerNode: 4, microbatches: 4).solve(oracle) == nil)
    }

    @Test("the oracle is asked once per layer range and submesh when memory never binds, and again only where it does")
    func memoryRuleSavesQuestions() throws {
        let program = StageDynamicProgram(layerCount: 6, nodes: 2, devicesPerNode: 4, microbatches: 8)
        var stating = SyntheticStageCostOracle(seed: 5, memoryBytes: 6)
        var asking = stating
        asking.statesMemory = false
        let reused = program.candidateTable(stating)
        let everything = program.candidateTable(asking)
        #expect(reused.oracleCallCount < everything.oracleCallCount)
        #expect(everything.oracleCallCount == everything.cellCount)
        #expect(reused.latencies == everything.latencies)
        stating.memoryBytes = .infinity
        // 21 layer ranges, 4 shapes (1x1, 1x2, 2x4 and 1x4 fit 8 devices), one question each.
        #expect(program.candidateTable(stating).oracleCallCount == 21 * 4)
    }
}
