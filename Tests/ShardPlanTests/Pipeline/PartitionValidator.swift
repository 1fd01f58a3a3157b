@testable import ShardPlan

/// Checks what every partition must satisfy: stages cover the layers in order, devices are disjoint ids of
/// the cluster matching each submesh (whole nodes or a slice of one node), the device usage rule holds, each
/// stage holds the schedule's in-flight microbatches, its candidate is the oracle's answer for them, and the
/// reported time is the objective of those candidates.
struct PartitionValidator<Oracle: StageCostOracle> {
    var program: StageDynamicProgram
    var oracle: Oracle

    struct Violation: Error, CustomStringConvertible {
        var description: String
    }

    func check(_ partition: PipelinePartition<Oracle.Payload>) throws {
        func require(_ condition: Bool, _ message: @autoclosure () -> String) throws {
            if !condition { throw Violation(description: message()) }
        }
        let stages = partition.stages
        try require(!stages.isEmpty && stages.count <= program.maximumStageCount, "\(stages.count) stages")
        try require(stages.first?.layers.lowerBound == 0 && stages.last?.layers.upperBound == program.layerCount
                    && zip(stages, stages.dropFirst()).allSatisfy { $0.layers.upperBound == $1.layers.lowerBound }
                    && stages.allSatisfy { !$0.layers.isEmpty },
                    "stages \(stages.map(\.layers)) do not cover 0 ..< \(program.layerCount) in order")
        let devices = stages.flatMap(\.devices)
        try require(Set(devices).count == devices.count && devices.allSatisfy { 0 ..< program.deviceCount ~= $0 },
                    "devices \(stages.map(\.devices)) overlap or leave the cluster")
        try require(program.deviceUsage == .atMostAllDevices || devices.count == program.deviceCount,
                    "\(devices.count) of \(program.deviceCount) devices used")
        var latencies: [Double] = []
        for (index, stage) in stages.enumerated() {
            let nodes = Set(stage.devices.map { $0 / program.devicesPerNode })
            try require(stage.devices.count == stage.submesh.deviceCount && nodes.count == stage.submesh.nodes
                        && stage.devices == Array(stage.devices.first! ..< stage.devices.first! + stage.devices.count),
                        "stage \(index) has devices \(stage.devices) for submesh \(stage.submesh)")
            let position = PipelinePosition(schedule: program.schedule, stagesFromEnd: stages.count - index, stageCount: stages.count,
                                            virtualStages: program.virtualStages, microbatches: program.microbatches)
            try require(stage.position == position, "stage \(index) of \(stages.count) is at \(stage.position), the schedule says \(position)")
            if program.schedule != .interleaved {
                let inFlight = program.schedule.microbatchesInFlight(stage: index, stages: stages.count,
                                                                     microbatches: program.microbatches, virtualStages: 1)
                try require(Double(stage.inFlightMicrobatches) == inFlight,
                            "stage \(index) of \(stages.count) holds \(stage.inFlightMicrobatches) microbatches, the schedule says \(inFlight)")
            }
            let answer = oracle.stageCost(layers: stage.layers, submesh: stage.submesh, microbatches: program.microbatches,
                                          position: stage.position)
            try require(answer?.microbatchSeconds == stage.candidate.microbatchSeconds,
                        "stage \(index)'s candidate is not the oracle's answer for its position")
            latencies.append(stage.candidate.microbatchSeconds)
        }
        try require(program.stageCount.map { $0 == stages.count } ?? true, "\(stages.count) stages, the program wants \(program.stageCount ?? 0)")
        let objective = program.schedule.pipelineSeconds(stageSeconds: latencies, microbatches: program.microbatches,
                                                         virtualStages: program.virtualStages)
        try require(abs(objective - partition.pipelineSeconds) <= 1e-12 * objective, "reported \(partition.pipelineSeconds) s, stages give \(objective) s")
    }
}
