/// Hybrid sharding of ZeRO-3 state (`TrainingOptions.zeroShardGroup`; PyTorch FSDP's `HYBRID_SHARD`, torchtitan's
/// `data_parallel_shard_degree` under `data_parallel_replicate_degree`): which of a parameter's data-parallel mesh
/// axes shard its weights, gradients and optimizer state, and which hold replicas of those shards.
public enum HybridSharding {
    /// The innermost of `dataParallelAxes` whose sizes multiply to `group` (the shard group: neighbours in the
    /// ranks' order, one node for a group of 8 on 8-GPU nodes) and the outer ones (the replicas), or nil when no
    /// innermost axes make exactly that group.
    public static func split(dataParallelAxes: [Int], meshShape: [Int], group: Int) -> (shard: [Int], replicas: [Int])? {
        let axes = dataParallelAxes.sorted()
        var start = axes.count, devices = 1
        while devices < group, start > 0 {
            start -= 1
            devices *= meshShape[axes[start]]
        }
        guard devices == group else { return nil }
        return (Array(axes[start...]), Array(axes[..<start]))
    }
}

extension TrainingPlan {
    /// Refuses a shard group that is not ZeRO-3's or that some stage's data-parallel axes cannot form: every
    /// parameter's innermost data-parallel axes must make exactly `options.zeroShardGroup` devices.
    func checkZeroShardGroup() throws(InputError) {
        guard let group = options.zeroShardGroup else { return }
        let path = JSONPath([.key("options"), .key("zero_shard_group")])
        guard group >= 1 else { throw InputError(.invalidValue, at: path, "a shard group has at least 1 device, found \(group)") }
        guard options.zeroStage == 3 else {
            throw InputError(.invalidValue, at: path,
                             "hybrid sharding shards ZeRO-3 state over groups of devices; the plan's ZeRO stage is \(options.zeroStage), not 3")
        }
        for (index, stage) in stages.enumerated() {
            for (offset, operationIndex) in stage.operations.enumerated() {
                let operation = graph.operations[operationIndex]
                for (operand, input) in operation.inputs.enumerated() where graph[input].isParameter {
                    let axes = stage.strategies[offset].gradientSpec(operand, in: operation.indexSpace).partialAxes
                    guard HybridSharding.split(dataParallelAxes: axes, meshShape: stage.mesh.shape, group: group) == nil else { continue }
                    let sizes = axes.map { stage.mesh.shape[$0] }
                    throw InputError(.invalidValue, at: path,
                                     "stage \(index) reduces \(graph[input].name)'s gradients over data-parallel axes of sizes \(sizes), whose innermost axes make no group of \(group) devices")
                }
            }
        }
    }
}
