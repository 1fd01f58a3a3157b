@testable import ShardPlan

/// Every way to cut `layerCount` layers into contiguous stages and give each a submesh, scored with the
/// stage DP's objective (the schedule's `pipelineSeconds`, each stage asked about its own position): the
/// reference the DP must equal on small instances.
struct PipelineBruteForce<Oracle: StageCostOracle> {
    var program: StageDynamicProgram
    var oracle: Oracle

    /// The least iteration time (without per-iteration work) over every valid plan, or nil when none fits.
    func bestObjective() -> Double? {
        var best: Double?
        for cuts in 0 ..< (1 << (program.layerCount - 1)) {
            var ranges: [Range<Int>] = []
            var start = 0
            for layer in 0 ..< program.layerCount where layer == program.layerCount - 1 || cuts & (1 << layer) != 0 {
                ranges.append(start ..< layer + 1)
                start = layer + 1
            }
            guard ranges.count <= program.maximumStageCount, program.stageCount.map({ $0 == ranges.count }) ?? true else { continue }
            forEachAssignment(count: ranges.count) { shapes in
                let devices = shapes.reduce(0) { $0 + $1.deviceCount }
                guard program.deviceUsage == .allDevices ? devices == program.deviceCount : devices <= program.deviceCount,
                      SubmeshShape.placement(of: shapes, nodes: program.nodes, devicesPerNode: program.devicesPerNode) != nil
                else { return }
                var latencies: [Double] = []
                for (stage, range) in ranges.enumerated() {
                    let position = PipelinePosition(schedule: program.schedule, stagesFromEnd: ranges.count - stage, stageCount: ranges.count,
                                                    virtualStages: program.virtualStages, microbatches: program.microbatches)
                    guard let candidate = oracle.stageCost(layers: range, submesh: shapes[stage], microbatches: program.microbatches,
                                                           position: position) else { return }
                    latencies.append(candidate.microbatchSeconds)
                }
                let objective = program.schedule.pipelineSeconds(stageSeconds: latencies, microbatches: program.microbatches,
                                                                 virtualStages: program.virtualStages)
                if objective < best ?? .infinity { best = objective }
            }
        }
        return best
    }

    private func forEachAssignment(count: Int, _ body: ([SubmeshShape]) -> Void) {
        var shapes: [SubmeshShape] = []
        func extend() {
            if shapes.count == count { return body(shapes) }
            for shape in program.submeshes {
                shapes.append(shape)
                extend()
                shapes.removeLast()
            }
        }
        extend()
    }
}
