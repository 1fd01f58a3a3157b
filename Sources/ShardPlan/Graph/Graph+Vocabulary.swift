extension Graph {
    /// The vocabulary of the graph's first embedding op (the size of its `vocab` index), nil where it has none: the
    /// dimension Megatron's vocabulary-parallel embedding and loss split over tensor-parallel ranks, and that
    /// frameworks pad so that they can (`MegatronConfiguration.megatronPaddedVocabulary`).
    public var embeddingVocabulary: Int? {
        for operation in operations {
            guard case .embedding = operation.op else { continue }
            return operation.indexSpace.indices.first { $0.name == "vocab" }?.size
        }
        return nil
    }
}
