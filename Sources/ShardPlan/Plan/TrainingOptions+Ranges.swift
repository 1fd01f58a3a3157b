extension TrainingOptions {
    /// The ZeRO stages there are: 0 (off) to 3 (weights sharded too; Rajbhandari et al. 2020).
    static let zeroStages = 0 ... 3

    /// Refuses a ZeRO stage outside `zeroStages`, as an error at `zeroStagePath`, and a count of blocks each stage
    /// reruns (`recomputedBlocks`) outside 1 to `largestRecomputedBlocks`, at `recomputedBlocksPath`: the counts the
    /// command line refuses as it parses them, for options built in Swift. `TrainingPlan.megatron` and the
    /// planners check them before anything is priced.
    func checkRanges(zeroStageAt zeroStagePath: JSONPath, recomputedBlocksAt recomputedBlocksPath: JSONPath) throws(InputError) {
        guard Self.zeroStages.contains(zeroStage) else {
            throw InputError(.invalidValue, at: zeroStagePath, "the ZeRO stage must be 0, 1, 2 or 3, found \(zeroStage)")
        }
        if let blocks = recomputedBlocks, !(1 ... Self.largestRecomputedBlocks).contains(blocks) {
            throw InputError(.invalidValue, at: recomputedBlocksPath,
                             "the blocks each stage reruns must be between 1 and \(Self.largestRecomputedBlocks), found \(blocks)")
        }
    }

    /// What pricing these options on `cluster` needs, before anything is priced: a cluster `Cluster.validate()`
    /// accepts, options in range (`checkRanges`) and a precision its devices run (`check(on:)`), each error at the
    /// member of a plan document's `options` that holds it. `PlanEvaluator.evaluate(checking:)` and the planners
    /// (`checkSearching(on:)`) call it.
    func checkPricing(on cluster: Cluster) throws(InputError) {
        try cluster.validate()
        let options = JSONPath([.key("options")])
        try checkRanges(zeroStageAt: options.appending("zero_stage"), recomputedBlocksAt: options.appending("recompute_blocks"))
        try check(on: cluster.device)
    }

    /// `checkPricing(on:)`, and no ZeRO-3 shard groups, which the searches do not lay out: they shard ZeRO state over
    /// every data-parallel device (`score --zero 3 --zero-shard-group` prices shard groups).
    func checkSearching(on cluster: Cluster) throws(InputError) {
        try checkPricing(on: cluster)
        guard zeroShardGroup == nil else {
            throw InputError(.invalidValue, at: JSONPath([.key("options"), .key("zero_shard_group")]),
                             "the search shards ZeRO state over every data-parallel device; score a layout with ZeRO-3 shard groups instead (score --zero 3 --zero-shard-group)")
        }
    }
}

