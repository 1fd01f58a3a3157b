import ShardPlan

/// The command-line option that sets what a library error's path names, where the library names a Swift property or
/// a plan document's member (`tensorParallel`, `options.zero_stage`): the command line's messages name its options.
enum CommandLineFlags {
    static let byLibraryPath: [String: String] = [
        "tensorParallel": "--tp", "pipelineParallel": "--pp", "dataParallel": "--dp", "contextParallel": "--cp",
        "expertParallel": "--ep", "expertTensorParallel": "--etp", "virtualStages": "--virtual-stages",
        "microBatchSize": "--micro-batch-size", "microbatches": "--microbatches", "schedule": "--schedule",
        "sequenceParallel": "--sequence-parallel", "contextAllToAll": "--cp-a2a-size",
        "vocabularyParallelEmbedding": "--no-vocab-parallel-embedding", "vocabularyParallelLoss": "--no-loss-parallel",
        "firstStageLayers": "--first-stage-layers", "lastStageLayers": "--last-stage-layers",
        "embeddingInPipelineSplit": "--account-for-embedding-in-pipeline-split",
        "lossInPipelineSplit": "--account-for-loss-in-pipeline-split",
        "options.zero_stage": "--zero", "options.recompute_blocks": "--recompute-blocks",
        "options.zero_shard_group": "--zero-shard-group", "options.cp_comm_type": "--cp-comm-type",
    ]

    /// `error` at the option its path stands for, when it comes from no document (a value the command line gave the
    /// library); an error in a document keeps its path there.
    static func naming(_ error: InputError) -> InputError {
        guard error.document == nil, let flag = byLibraryPath[error.path.description] else { return error }
        var renamed = error
        renamed.path = JSONPath([.key(flag)])
        return renamed
    }
}
