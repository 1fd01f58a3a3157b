extension PipelinePlanner {
    /// Refuses what `plan` cannot search, before it computes anything: a cluster `Cluster.validate()` refuses,
    /// options out of range or with ZeRO-3 shard groups (`TrainingOptions.checkSearching(on:)`), a limit on layers,
    /// stages or model chunks below 1, a mesh shape without axes or with an axis below 1, and, where the grid is
    /// searched, a Megatron grid that `MegatronGrid.check(at:)` refuses. Each error names the setting (the options as a plan document's
    /// `options` member writes them).
    func checkSettings() throws(InputError) {
        try options.checkSearching(on: cluster)
        let limits: [(name: String, limit: Int?, what: String)] = [
            ("maximumLayerCount", maximumLayerCount, "clustered layer"), ("maximumStageCount", maximumStageCount, "pipeline stage"),
            ("maximumVirtualStages", maximumVirtualStages, "model chunk per pipeline rank"),
        ]
        for (name, limit, what) in limits {
            if let limit, limit < 1 {
                throw InputError(.invalidValue, at: JSONPath([.key(name)]), "the search needs at least one \(what); found a limit of \(limit)")
            }
        }
        if let meshShape {
            guard !meshShape.isEmpty else {
                throw InputError(.invalidValue, at: JSONPath([.key("meshShape")]),
                                 "a mesh shape has one axis or more, such as [2, 4]; found none (nil searches every shape)")
            }
            if let axis = meshShape.firstIndex(where: { $0 < 1 }) {
                throw InputError(.invalidValue, at: JSONPath([.key("meshShape"), .index(axis, label: nil)]),
                                 "every axis of a mesh holds one device or more; found \(meshShape[axis])")
            }
        }
        if includesMegatronGrid { try megatronGrid.check(at: JSONPath([.key("megatronGrid")])) }
    }
}
