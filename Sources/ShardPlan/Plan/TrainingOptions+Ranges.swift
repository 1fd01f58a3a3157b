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
}
