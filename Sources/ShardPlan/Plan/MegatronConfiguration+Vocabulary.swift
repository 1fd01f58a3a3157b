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
}
