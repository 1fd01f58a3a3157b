import Testing
@testable import ShardPlan

@Suite("stage DP against exhaustive enumeration")
struct StageDynamicProgramOracleTests {
    /// A small random instance: up to 6 layers, up to 8 devices (12 on the packed clusters), some stages that do not fit.
    struct Instance: CustomTestStringConvertible, Sendable {
        var seed: UInt64
        var program: StageDynamicProgram
        var oracle: SyntheticStageCostOracle

        static let clusters = [(1, 8), (2, 4), (4, 2), (8, 1), (1, 4), (2, 2), (1, 6), (2, 3), (3, 2), (1, 1)]
        /// Several domains that are not powers of two, whose larger slices need the packing count: a 2-GPU slice
        /// of 3 or a 4 of 6 fits once per domain, 8 of 12 once (two racks' 64 + 8, scaled down).
        static let packedClusters = [(2, 6), (3, 6), (2, 3), (3, 3), (4, 3), (2, 12)]

        init(seed: UInt64, clusters: [(Int, Int)] = Instance.clusters) {
            var state = seed
            func pick<T>(_ values: [T]) -> T { values[Int(SyntheticStageCostOracle.mix(&state) % UInt64(values.count))] }
            let cluster = pick(clusters)
            self.seed = seed
            let layers = pick([1, 2, 3, 4, 5, 6, 6, 6])
            let submeshes = SubmeshShape.candidates(nodes: cluster.0, devicesPerNode: cluster.1, nodeCounts: pick([.all, .all, .powersOfTwo]))
            // A quarter of the instances interleave: a fixed number of ranks, 2 or 3 chunks each, shapes of any size.
            let devices = cluster.0 * cluster.1
            if seed % 4 == 2 && layers >= 2 && devices >= 2 {
                program = StageDynamicProgram(
                    layerCount: layers, nodes: cluster.0, devicesPerNode: cluster.1, microbatches: pick([1, 2, 3, 4, 8]),
                    schedule: .interleaved, virtualStages: pick([2, 3]), deviceUsage: pick([.allDevices, .atMostAllDevices]),
                    submeshes: submeshes, stageCount: pick(Array(2 ... min(layers, devices))))
            } else {
                program = StageDynamicProgram(
                    layerCount: layers, nodes: cluster.0, devicesPerNode: cluster.1,
                    microbatches: pick([1, 2, 3, 4, 8]), schedule: pick([.oneForwardOneBackward, .gpipe]),
                    deviceUsage: pick([.allDevices, .atMostAllDevices]), submeshes: submeshes,
                    maximumStageCount: pick([nil, nil, nil, 2]))
            }
            oracle = SyntheticStageCostOracle(seed: seed, memoryBytes: pick([3.0, 5.0, 8.0, 100.0]),
                                              statesMemory: seed % 3 != 0)
        }

        var testDescription: String {
            "seed \(seed): \(program.layerCount) layers on \(program.nodes)x\(program.devicesPerNode), m = \(program.microbatches), "
                + "\(program.schedule.rawValue) v = \(program.virtualStages) p = \(program.stageCount.map(String.init) ?? "any"), \(program.deviceUsage), memory \(oracle.memoryBytes), \(program.submeshes.count) shapes, at most \(program.maximumStageCount) stages"
        }
    }

    @Test("the DP's plan is as fast as the best of all stage partitions and submesh assignments",
          arguments: (1 ... 75).map { Instance(seed: UInt64($0) * 7919) })
    func equalsBruteForce(instance: Instance) throws {
        let expected = PipelineBruteForce(program: instance.program, oracle: instance.oracle).bestObjective()
        let found = instance.program.solve(instance.oracle)
        #expect((found == nil) == (expected == nil), "the DP and enumeration disagree on whether any plan fits")
        guard let found, let expected else { return }
        #expect(abs(found.pipelineSeconds - expected) <= 1e-9 * expected,
                "DP \(found.pipelineSeconds) s, enumeration \(expected) s")
        try PartitionValidator(program: instance.program, oracle: instance.oracle).check(found)
    }

    @Test("the DP equals enumeration where slices do not divide a domain and only some lists of them can be placed",
          arguments: (1 ... 40).map { Instance(seed: UInt64($0) * 104_729, clusters: Instance.packedClusters) })
    func equalsBruteForceWithPacking(instance: Instance) throws {
        try equalsBruteForce(instance: instance)
    }

    @Test("without an iteration bound to prune by, every distinct latency would be tried; the search tries far fewer")
    func pruning() {
        let program = StageDynamicProgram(layerCount: 6, nodes: 2, devicesPerNode: 4, microbatches: 8)
        let (partition, statistics) = program.search(program.candidateTable(SyntheticStageCostOracle(seed: 42, memoryBytes: 100)))
        #expect(partition != nil)
        #expect(statistics.evaluatedBounds < statistics.distinctLatencies / 4,
                "\(statistics.evaluatedBounds) bounds solved of \(statistics.distinctLatencies)")
    }
}
