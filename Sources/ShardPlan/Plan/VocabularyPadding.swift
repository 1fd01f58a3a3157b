/// The note `plan` and `score` print where the graph's vocabulary does not divide over the tensor-parallel ranks
/// that would split it: frameworks pad it so that they can, and a catalog model can be built padded
/// (`shardplan models ID --pad-vocab M`, `ModelCatalog.Entry.build(sequenceLength:globalBatch:loraRank:vocabularyMultiple:)`).
public enum VocabularyPadding {
    /// The largest power of two up to `limit` that divides `vocabulary`.
    static func widestSplit(of vocabulary: Int, upTo limit: Int) -> Int {
        var size = 1
        while size * 2 <= limit && vocabulary % (size * 2) == 0 { size *= 2 }
        return size
    }

    /// The catalog model a graph was built from: its own name, or the name `shardplan models ID --seq-length ...`
    /// gives it (`ID-seq...`, `-batch`, `-lora`, `-vocab`), the longest id that fits.
    static func catalogModel(of graph: Graph) -> String? {
        ModelCatalog.all.map(\.id).filter { graph.name == $0 || graph.name.hasPrefix($0 + "-") }.max { $0.count < $1.count }
    }

    /// How to plan or score the padded graph at tensor-parallel size `tensorParallel`: Megatron-LM's padded size and
    /// the `models` command that builds it where the graph is a catalog model's.
    public static func advice(graph: Graph, vocabulary: Int, tensorParallel: Int) -> String {
        let configuration = MegatronConfiguration(tensorParallel: tensorParallel, pipelineParallel: 1)
        let padded = configuration.megatronPaddedVocabulary(vocabulary)
        let build = catalogModel(of: graph).map { id in
            "`shardplan models \(id) --pad-vocab \(configuration.vocabularyMultiple)`"
                + (id == graph.name ? "" : " with the options that built \(graph.name)") + " builds it"
        } ?? "pad the graph's vocabulary to compare"
        return "Megatron-LM pads it to \(padded) at tp = \(tensorParallel) (--make-vocab-size-divisible-by 128 x tp) and splits it: \(build)"
    }

    /// The note for a search on `cluster`: nil where the vocabulary splits over every power-of-two tensor-parallel
    /// size of an NVLink domain up to 8 devices, or the graph has no embedding.
    public static func searchNote(graph: Graph, cluster: Cluster) -> String? {
        guard let vocabulary = graph.embeddingVocabulary, cluster.deviceCount > 1 else { return nil }
        let limit = widestSplit(of: 1 << 62, upTo: min(cluster.devicesPerDomain, 8))
        let widest = widestSplit(of: vocabulary, upTo: limit)
        guard widest < limit else { return nil }
        let splits = widest == 1 ? "cannot be split by any tensor-parallel size" : "can be split by tensor-parallel sizes of at most \(widest)"
        return "\(graph.name)'s vocabulary of \(vocabulary) \(splits), so the search cannot split its embedding and logits along it "
            + "beyond that; " + advice(graph: graph, vocabulary: vocabulary, tensorParallel: limit) + "."
    }
}
