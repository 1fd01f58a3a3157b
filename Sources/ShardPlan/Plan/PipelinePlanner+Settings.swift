extension PipelinePlanner {
    /// Refuses what `plan` cannot search, before it computes anything: a cluster `Cluster.validate()` refuses,
    /// options out of range or with ZeRO-3 shard groups (`TrainingOptions.checkSearching(on:)`), variants with no ZeRO
    /// stage or recomputation mode or a ZeRO stage outside 0 to 3 (`StageSearchOracle.Variants.check(at:)`), a limit on
    /// layers, stages or model chunks below 1, a mesh shape without axes or with an axis below 1, a time limit that is
    /// not a positive, finite number of seconds, and, where the grid is searched, a Megatron grid that
    /// `MegatronGrid.check(at:)` refuses. Each error names the setting (the options as a plan document's `options`
    /// member writes them).
    func checkSettings() throws(InputError) {
        try options.checkSearching(on: cluster)
        try variants.check(at: JSONPath([.key("variants")]))
        try Self.checkTimeLimit(timeLimit)
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

    /// Refuses a time limit (`timeLimit` of either planner) that is not a positive, finite number of seconds, as
    /// `plan --time-limit` does: a negative one stops the search at its first plan, and a NaN one never stops it.
    static func checkTimeLimit(_ timeLimit: Double?) throws(InputError) {
        if let timeLimit, !(timeLimit > 0 && timeLimit.isFinite) {
            throw InputError(.invalidValue, at: JSONPath([.key("timeLimit")]),
                             "a time limit is a positive, finite number of seconds (nil for none); found \(timeLimit)")
        }
    }
}
