/// Hybrid sharding of ZeRO-3 state (`TrainingOptions.zeroShardGroup`; PyTorch FSDP's `HYBRID_SHARD`, torchtitan's
/// `data_parallel_shard_degree` under `data_parallel_replicate_degree`): which of a parameter's data-parallel mesh
/// axes shard its weights, gradients and optimizer state, and which hold replicas of those shards.
public enum HybridSharding {
    /// How a parameter whose gradient is partial over `dataParallelAxes` is held with shard groups of `group`
    /// data-parallel devices, or nil when its axes cannot make that group. `batchAxes` are the axes that split
    /// the batch of the op storing it: the group is the innermost of them that make exactly `group` devices
    /// (neighbours in the ranks' order: one node for a group of 8 without tensor or context parallelism), and
    /// the replicas the outer ones. The state is sharded over every other axis the gradient is partial over: the
    /// group's, and the context- or tensor-parallel axes a split sequence adds (torchtitan shards FSDP over
    /// `dp_shard x cp`; sequence-parallel norms are partial over the tensor axis too).
    public static func split(dataParallelAxes: [Int], batchAxes: [Int], meshShape: [Int], group: Int) -> (shard: [Int], replicas: [Int])? {
        let batch = batchAxes.filter(dataParallelAxes.contains).sorted()
        var start = batch.count, devices = 1
        while devices < group, start > 0 {
            start -= 1
            devices *= meshShape[batch[start]]
        }
        guard devices == group else { return nil }
        let replicas = Array(batch[..<start])
        return (dataParallelAxes.filter { !replicas.contains($0) }.sorted(), replicas)
    }

    /// The mesh axes along which `strategy` splits the batch of op `operation`.
    static func batchAxes(of strategy: OpStrategy, operation: Int, roles: TensorRoles) -> [Int] {
        guard let batch = roles.batchIndex[operation] else { return [] }
        return strategy.indexOfAxis.indices.filter { strategy.indexOfAxis[$0] == batch }
    }
}

extension TrainingPlan {
    /// Refuses a shard group that is not ZeRO-3's, that some stage cannot make (every parameter's innermost batch axes
    /// must make exactly `options.zeroShardGroup` devices), or beside a stage that splits experts. `path` names the
    /// option in the error.
    func checkZeroShardGroup(at path: JSONPath = JSONPath([.key("options"), .key("zero_shard_group")])) throws(InputError) {
        guard let group = options.zeroShardGroup else { return }
        guard group >= 1 else { throw InputError(.invalidValue, at: path, "a shard group has at least 1 device, found \(group)") }
        guard options.zeroStage == 3 else {
            throw InputError(.invalidValue, at: path,
                             "hybrid sharding shards ZeRO-3 state over groups of devices; the ZeRO stage is \(options.zeroStage), not 3")
        }
        // As `TrainingPlan.megatron` refuses `--zero-shard-group` beside `--ep`.
        guard !splitsExperts else {
            throw InputError(.invalidValue, at: path,
                             "ShardPlan does not lay out hybrid sharding's groups beside expert parallelism, and a stage splits experts; leave one of them out")
        }
        let roles = TensorRoles(graph)
        // Whether some parameter's gradients are reduced over data-parallel devices: without any, there is nothing
        // to shard in groups of more than one device.
        var reducesOverBatchAxes = false
        for (index, stage) in stages.enumerated() {
            for (offset, operationIndex) in stage.operations.enumerated() {
                let operation = graph.operations[operationIndex]
                let strategy = stage.strategies[offset]
                let batchAxes = HybridSharding.batchAxes(of: strategy, operation: operationIndex, roles: roles)
                for (operand, input) in operation.inputs.enumerated() where graph[input].isParameter {
                    let axes = strategy.gradientSpec(operand, in: operation.indexSpace).partialAxes
                    reducesOverBatchAxes = reducesOverBatchAxes || stage.mesh.size(ofAxes: batchAxes.filter(axes.contains)) > 1
                    guard !axes.isEmpty, HybridSharding.split(dataParallelAxes: axes, batchAxes: batchAxes, meshShape: stage.mesh.shape,
                                               group: group) == nil else { continue }
                    let sizes = batchAxes.filter(axes.contains).map { stage.mesh.shape[$0] }
                    throw InputError(.invalidValue, at: path,
                                     "stage \(index) shards \(graph[input].name) over batch axes of sizes \(sizes), whose innermost axes make no group of \(group) devices")
                }
            }
        }
        guard group == 1 || reducesOverBatchAxes else {
            throw InputError(.invalidValue, at: path,
                             "no stage reduces a parameter's gradients over data-parallel devices, so there are none to shard in groups of \(group); use 1 or leave the option out")
        }
    }
}
