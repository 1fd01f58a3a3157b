extension MegatronConfiguration {
    /// The whole-vocabulary options this configuration sets (`vocabularyParallelEmbedding`, `vocabularyParallelLoss`
    /// false) that lay out `graph` exactly as Megatron's vocabulary-parallel layer does: where the tensor-parallel
    /// size does not divide the vocabulary, or the output layer is split along another dimension, the layer is whole
    /// on every rank either way, and a framework's settings, read from the plan, keep their default. `plan` is the
    /// plan `TrainingPlan.megatron` lays out for this configuration. Each is the command-line option and the layer it
    /// names ("embedding", "loss").
    public func ineffectiveVocabularyOptions(in plan: TrainingPlan) throws(InputError) -> [(option: String, layer: String)] {
        let options: [(option: String, layer: String, whole: Bool, path: WritableKeyPath<MegatronConfiguration, Bool>)] = [
            ("--no-vocab-parallel-embedding", "embedding", !vocabularyParallelEmbedding, \.vocabularyParallelEmbedding),
            ("--no-loss-parallel", "loss", !vocabularyParallelLoss, \.vocabularyParallelLoss)]
        guard options.contains(where: \.whole) else { return [] }
        let strategies = plan.stages.map(\.strategies)
        var ineffective: [(option: String, layer: String)] = []
        for entry in options where entry.whole {
            var split = self
            split[keyPath: entry.path] = true
            let other = try TrainingPlan.megatron(graph: plan.graph, cluster: plan.cluster, clusterName: plan.clusterName, configuration: split)
            if other.stages.map(\.strategies) == strategies { ineffective.append((entry.option, entry.layer)) }
        }
        return ineffective
    }

    /// The vocabulary of `graph`'s embedding where this configuration's tensor-parallel size (2 or more) does not
    /// divide it: Megatron's layout then keeps the embedding whole on every rank, vocabulary-parallel or not, where
    /// Megatron-LM pads the vocabulary to a multiple of 128 x tp (`--make-vocab-size-divisible-by`,
    /// `megatronPaddedVocabulary`) and splits it. Nil otherwise.
    public func undividedVocabulary(of graph: Graph) -> Int? {
        guard tensorParallel > 1, let vocabulary = graph.embeddingVocabulary else { return nil }
        return vocabulary % tensorParallel == 0 ? nil : vocabulary
    }

    /// What Megatron-LM pads a vocabulary to a multiple of under this tensor-parallel size: its
    /// `--make-vocab-size-divisible-by` default 128 times tp (`_vocab_size_with_padding`), 1,024 at tp = 8.
    public var vocabularyMultiple: Int { 128 * tensorParallel }

    /// `vocabulary` as Megatron-LM pads it under this tensor-parallel size (`vocabularyMultiple`): 50,257 at tp = 8
    /// is 51,200.
    public func megatronPaddedVocabulary(_ vocabulary: Int) -> Int {
        vocabulary.roundedUp(toMultipleOf: vocabularyMultiple) ?? vocabulary
    }
}
