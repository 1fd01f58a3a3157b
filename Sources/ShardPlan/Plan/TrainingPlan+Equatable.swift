extension TrainingPlan: Equatable {
    /// Whether two plans train alike: the same graph (and the graph before its rewrites, its rewrites, its batch), the
    /// same cluster under the same name, the same stages, ranks, schedule, microbatches and options, and the same
    /// memory limit. How a plan was found (`provenance`) and its one-line `summary` are left out: a plan read back
    /// from the document it was written to equals it, although the document's `search` member is not read and the
    /// summary is worked out again from the stages.
    public static func == (lhs: TrainingPlan, rhs: TrainingPlan) -> Bool {
        lhs.graph == rhs.graph && lhs.cluster == rhs.cluster && lhs.clusterName == rhs.clusterName && lhs.stages == rhs.stages
            && lhs.pipelineRanks == rhs.pipelineRanks && lhs.virtualStages == rhs.virtualStages && lhs.schedule == rhs.schedule
            && lhs.microbatches == rhs.microbatches && lhs.options == rhs.options && lhs.rewrites == rhs.rewrites
            && lhs.graphBeforeRewrites == rhs.graphBeforeRewrites && lhs.rebatchedFrom == rhs.rebatchedFrom
            && lhs.memoryLimitBytes == rhs.memoryLimitBytes
    }
}
