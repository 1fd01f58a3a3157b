extension StageSearchOracle.Variants {
    /// Refuses variants a search cannot take: no ZeRO stage or no recomputation mode to try, or a ZeRO stage other
    /// than 0, 1, 2 or 3, which a plan document's reader would refuse in the plan written with it. The error names
    /// the member under `path` (`variants.zeroStages[0]` from `PipelinePlanner.plan`).
    func check(at path: JSONPath) throws(InputError) {
        guard !zeroStages.isEmpty else {
            throw InputError(.invalidValue, at: path.appending("zeroStages"), "the search needs at least one ZeRO stage to try; found none")
        }
        if let index = zeroStages.firstIndex(where: { !TrainingOptions.zeroStages.contains($0) }) {
            throw InputError(.invalidValue, at: path.appending("zeroStages").appending(index: index),
                             "the ZeRO stage must be 0, 1, 2 or 3, found \(zeroStages[index])")
        }
        guard !recomputeModes.isEmpty else {
            throw InputError(.invalidValue, at: path.appending("recomputeModes"),
                             "the search needs at least one recomputation mode to try; found none")
        }
    }
}
