/// How a `LayerCostProfile` prices a run of layers as one stage when full recomputation reruns only the first N
/// transformer blocks of each stage (`TrainingOptions.recomputedBlocks`). A stage of more than N blocks splits after
/// the layer of its N-th block: the layers before the split cost what the profile's own tables say (every block
/// rerun), the first layer after it what it adds after a rerun block (`boundaryProfile`, whose stages rerun their
/// first block only), and each later layer what it adds after a block that keeps its activations (`keptProfile`,
/// whose stages rerun none). That is exact where layers interact only with their neighbours, as the profile's own
/// composition is. Where a clustered layer holds several blocks and the split falls inside it or after it, the
/// stage's figures are taken between those of every block rerun and of none, in proportion to the blocks rerun
/// (exact for blocks of one shape and cost; the planner prices the plan it returns exactly).
struct BlockRecomputationShare: Sendable {
    /// Blocks each stage reruns (N).
    let blocks: Int
    /// The same layers and layouts with no block rerun.
    let keptProfile: LayerCostProfile
    /// The same layers and layouts with each stage's first block rerun.
    let boundaryProfile: LayerCostProfile
    /// Transformer blocks in clustered layers 0 ..< i, for each i.
    let blocksBefore: [Int]

    /// The share for `model`, whose options rerun `blocks` blocks a stage, on the layers of `clustering`.
    init(blocks: Int, model: StageCostModel, clustering: LayerClustering, keptProfile: LayerCostProfile, boundaryProfile: LayerCostProfile) {
        self.blocks = blocks
        self.keptProfile = keptProfile
        self.boundaryProfile = boundaryProfile
        var before = [0]
        for layer in clustering.layers {
            let runs = Set(layer.operations.map { model.layerRun[$0] }).intersection(model.checkpointedRuns)
            before.append(before.last! + runs.count)
        }
        blocksBefore = before
    }

    /// The summary of `layers` as one stage, from `rerunAll`, their summary in `profile` (every block rerun).
    func summary(layers: Range<Int>, rerunAll: StageCostSummary, of profile: LayerCostProfile) -> StageCostSummary {
        let start = blocksBefore[layers.lowerBound]
        guard blocks < blocksBefore[layers.upperBound] - start else { return rerunAll }
        // The first layer after the stage's N-th block.
        let split = layers.first { blocksBefore[$0 + 1] - start >= blocks }! + 1
        let figures: [Double]
        var rerunPart = rerunAll, keptPart = rerunAll
        if blocksBefore[split] - start == blocks && blocksBefore[split] - blocksBefore[split - 1] == 1 {
            var sums = profile.additiveFigures(of: layers.lowerBound ..< split)
            let after = [boundaryProfile.marginalFigures(of: split)] + (split + 1 ..< layers.upperBound).map(keptProfile.marginalFigures)
            for figure in after { sums = zip(sums, figure).map(+) }
            figures = sums
            rerunPart = profile.summary(layers: layers.lowerBound ..< split)
            keptPart = keptProfile.summary(layers: split ..< layers.upperBound)
        } else {
            let kept = keptProfile.additiveFigures(of: layers), every = profile.additiveFigures(of: layers)
            let share = Double(blocks) / Double(blocksBefore[layers.upperBound] - start)
            figures = zip(kept, every).map { $0 + share * ($1 - $0) }
        }
        // The working sets: rerunning a block's, the loss's, the largest over the layers; the gathers and
        // synchronisation as with every block rerun.
        return StageCostSummary(forwardSeconds: figures[0], backwardSeconds: figures[1],
                                synchronizationSeconds: rerunAll.synchronizationSeconds, optimizerSeconds: figures[2],
                                modelStateBytes: figures[3], activationBytesPerMicrobatch: figures[4],
                                lastMicrobatchSeconds: figures[5],
                                recomputationWorkingBytes: max(rerunPart.recomputationWorkingBytes, keptPart.recomputationWorkingBytes),
                                lossBufferBytes: max(rerunPart.lossBufferBytes, keptPart.lossBufferBytes),
                                lossLayerKeptBytes: max(rerunPart.lossLayerKeptBytes, keptPart.lossLayerKeptBytes),
                                gatheredWeightBytes: rerunAll.gatheredWeightBytes, unshardedGradientBytes: rerunAll.unshardedGradientBytes)
    }
}
