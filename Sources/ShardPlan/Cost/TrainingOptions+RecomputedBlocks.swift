extension TrainingOptions {
    /// The most blocks a stage may be told to rerun (`recomputedBlocks`): the largest size the command line takes,
    /// a cluster's most devices.
    public static let largestRecomputedBlocks = Cluster.maximumDeviceCount

    /// Why `blocks` cannot be the count of blocks each stage reruns (`recomputedBlocks`) beside `recompute`, as the
    /// rest of a sentence after the member's name, or nil where it can: a count of 1 to
    /// `largestRecomputedBlocks`, under full recomputation.
    public static func recomputedBlocksProblem(_ blocks: Int, recompute: RecomputeMode) -> String? {
        guard (1 ... largestRecomputedBlocks).contains(blocks) else {
            return "expected between 1 and \(largestRecomputedBlocks) transformer blocks a stage, found \(blocks)"
        }
        guard recompute == .full else {
            return "counts the blocks a stage reruns under full recomputation; recompute is \"\(recompute.rawValue)\", not \"full\""
        }
        return nil
    }

    /// Why this count of blocks (`recomputedBlocks`) cannot apply to `graph`, as the rest of a sentence after the
    /// member's name, or nil where it can (no count, or one up to the graph's transformer blocks). A graph without
    /// blocks (no layer holds attention) reruns its whole forward pass under full recomputation: there is nothing to
    /// count. A count above the graph's blocks is more than any stage can hold: every block would rerun, which no
    /// count says, so it is refused rather than written as a count no stage has (`recompute=full(5 blocks)` of a
    /// 2-block model beside Megatron-LM's uniform method).
    public func recomputedBlocksProblem(in graph: Graph) -> String? {
        guard let blocks = recomputedBlocks, blocks > 0 else { return nil }
        let count = StageCostModel.transformerBlockCount(in: graph)
        if count == 0 {
            return "counts transformer blocks, and \"\(graph.name)\" has none (no layer holds attention): full recomputation reruns its whole forward pass"
        }
        guard blocks <= count else {
            return "counts the first blocks of each stage that rerun, and \"\(graph.name)\" has \(count) transformer block\(count == 1 ? "" : "s"), "
                + "fewer than \(blocks): give at most \(count), or leave the count out to rerun every block"
        }
        return nil
    }
}
