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

extension Int {
    /// The smallest multiple of `multiple` (positive) at or above this number (not negative), nil where it would
    /// overflow: a vocabulary padded as the frameworks pad it.
    func roundedUp(toMultipleOf multiple: Int) -> Int? {
        let (quotient, remainder) = quotientAndRemainder(dividingBy: multiple)
        guard remainder != 0 else { return self }
        let (product, overflow) = (quotient + 1).multipliedReportingOverflow(by: multiple)
        return overflow ? nil : product
    }
}
