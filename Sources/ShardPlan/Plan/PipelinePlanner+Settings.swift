extension PipelinePlanner {
    /// Refuses what `plan` cannot search, before it computes anything: a cluster `Cluster.validate()` refuses,
    /// options out of range (`TrainingOptions.checkRanges`) or with ZeRO-3 shard groups, a limit on layers, stages
    /// or model chunks below 1, a mesh shape without axes or with an axis below 1, and a Megatron grid that
    /// `MegatronGrid.check(at:)` refuses. Each error names the setting (the options as a plan document's
    /// `options` member writes them).
    func checkSettings() throws(InputError) {
        try cluster.validate()
        let options = JSONPath([.key("options")])
        try self.options.checkRanges(zeroStageAt: options.appending("zero_stage"),
                                     recomputedBlocksAt: options.appending("recompute_blocks"))
        guard self.options.zeroShardGroup == nil else {
            throw InputError(.invalidValue, at: options.appending("zero_shard_group"),
                             "the search shards ZeRO state over every data-parallel device; score a layout with ZeRO-3 shard groups instead (score --zero 3 --zero-shard-group)")
        }
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
        try megatronGrid.check(at: JSONPath([.key("megatronGrid")]))
    }
}
