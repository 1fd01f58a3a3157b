import ShardPlan

/// The note `plan` and `score` print where the graph's vocabulary does not divide over the tensor-parallel ranks
/// that would split it: frameworks pad it so that they can, and a catalog model can be built padded
/// (`shardplan models ID --pad-vocab M`).
enum VocabularyPadding {
    /// The largest tensor-parallel size up to `limit`, a power of two, that divides `vocabulary`.
    static func widestSplit(of vocabulary: Int, upTo limit: Int) -> Int {
        var size = 1
        while size * 2 <= limit && vocabulary % (size * 2) == 0 { size *= 2 }
        return size
    }

    /// How to plan or score the padded graph at tensor-parallel size `tensorParallel`: Megatron-LM's padded size and
    /// the `models` command that builds it where the graph is a catalog model's.
    static func advice(graph: Graph, vocabulary: Int, tensorParallel: Int) -> String {
        let configuration = MegatronConfiguration(tensorParallel: tensorParallel, pipelineParallel: 1)
        let padded = configuration.megatronPaddedVocabulary(vocabulary)
        let build = ModelCatalog.model(id: graph.name) != nil
            ? "`shardplan models \(graph.name) --pad-vocab \(128 * tensorParallel)` builds it" : "pad the graph's vocabulary to compare"
        return "Megatron-LM pads it to \(padded) at tp = \(tensorParallel) (--make-vocab-size-divisible-by 128 x tp) and splits it: \(build)"
    }

    /// The note for a search on `cluster`: nil where the vocabulary splits over a node's tensor-parallel sizes (up
    /// to 8 devices), or the graph has no embedding.
    static func searchNote(graph: Graph, cluster: Cluster) -> String? {
        guard let vocabulary = graph.embeddingVocabulary, cluster.deviceCount > 1 else { return nil }
        let limit = min(cluster.devicesPerNode, 8)
        let widest = widestSplit(of: vocabulary, upTo: limit)
        guard widest < limit else { return nil }
        let splits = widest == 1 ? "splits over no tensor-parallel group" : "splits over tensor-parallel groups of at most \(widest) devices"
        return "\(graph.name)'s vocabulary of \(vocabulary) \(splits), so the search cannot split its embedding and logits along it "
            + "beyond that; " + advice(graph: graph, vocabulary: vocabulary, tensorParallel: limit) + "."
    }
}
