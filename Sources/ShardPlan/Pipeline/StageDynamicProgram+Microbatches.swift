/// Choosing the number of microbatches: more shrink the pipeline bubble and the activations in flight, fewer
/// keep each microbatch large enough to run its kernels efficiently; the oracle prices both, and the best plan
/// over the counts tried wins.
extension StageDynamicProgram {
    /// This program with `microbatches` microbatches per iteration.
    public func with(microbatches: Int) -> StageDynamicProgram {
        StageDynamicProgram(layerCount: layerCount, nodes: nodes, devicesPerNode: devicesPerNode, microbatches: microbatches,
                            schedule: schedule, virtualStages: virtualStages, deviceUsage: deviceUsage, submeshes: submeshes,
                            maximumStageCount: maximumStageCount, stageCount: stageCount)
    }

    /// The plan with the least predicted iteration time (`PipelinePartition.iterationSeconds`) over
    /// `microbatchCounts` (this program's own count is not tried unless listed), or nil when none fits. Ties
    /// go to the count listed first.
    public func solve<Oracle: StageCostOracle>(_ oracle: Oracle, microbatchCounts: [Int], structureKeys: [Int]? = nil)
        -> PipelinePartition<Oracle.Payload>? {
        var best: PipelinePartition<Oracle.Payload>?
        for count in microbatchCounts {
            guard let partition = with(microbatches: count).solve(oracle, structureKeys: structureKeys) else { continue }
            if partition.iterationSeconds < best?.iterationSeconds ?? .infinity { best = partition }
        }
        return best
    }

    /// The microbatch counts that split a global batch of `batch` samples evenly, ascending.
    public static func microbatchCounts(batch: Int) -> [Int] {
        precondition(batch >= 1, "a batch has at least one sample")
        return batch.divisors
    }
}
