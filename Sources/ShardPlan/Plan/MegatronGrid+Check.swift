extension MegatronGrid {
    /// Refuses a grid with nothing to try or with counts no configuration can take: a microbatch size below 1,
    /// fewer than one model chunk per rank, or a negative lightening of the end ranks; the error names the member
    /// under `path`.
    func check(at path: JSONPath) throws(InputError) {
        if let index = microBatchSizes.firstIndex(where: { $0 < 1 }) {
            throw InputError(.invalidValue, at: path.appending("microBatchSizes").appending(index: index),
                             "a microbatch holds one sample or more; found \(microBatchSizes[index])")
        }
        guard maximumVirtualStages >= 1 else {
            throw InputError(.invalidValue, at: path.appending("maximumVirtualStages"),
                             "a pipeline rank holds one model chunk or more; found a limit of \(maximumVirtualStages)")
        }
        guard maximumEndLightening >= 0 else {
            throw InputError(.invalidValue, at: path.appending("maximumEndLightening"),
                             "the first and last ranks may be 0 or more layers lighter than the others; found \(maximumEndLightening)")
        }
    }
}
