/// How Megatron-Core is told to split a model's repeated layers (its transformer blocks) over the `pp x vp`
/// pipeline chunks, and the chunks' layer counts that follow from it.
///
/// With nothing set every chunk holds the same number of layers. With first or last stage layers the first and
/// the last rank hold those many, the ranks between share the rest equally, and each rank splits its layers
/// equally over its chunks; Megatron-Core refuses a rank's count that its chunks do not divide. With the
/// embedding or the loss counted as a layer, the layers plus one for each split equally over all chunks, and the
/// first chunk (rank 0's chunk 0) holds one layer fewer for the embedding, the last (the last rank's last chunk)
/// one fewer for the loss. Megatron-Core takes the two forms only apart.
public struct MegatronLayerSplit: Sendable, Equatable {
    /// Repeated layers on the first pipeline rank (Megatron-LM's `--decoder-first-pipeline-num-layers`); nil where
    /// it takes the middle ranks' share.
    public var firstStageLayers: Int?
    /// Repeated layers on the last pipeline rank (`--decoder-last-pipeline-num-layers`); nil where it takes the
    /// middle ranks' share.
    public var lastStageLayers: Int?
    /// Whether the embedding counts as a layer of the first chunk (`--account-for-embedding-in-pipeline-split`).
    public var embeddingInPipelineSplit: Bool
    /// Whether the loss counts as a layer of the last chunk (`--account-for-loss-in-pipeline-split`).
    public var lossInPipelineSplit: Bool

    public init(firstStageLayers: Int? = nil, lastStageLayers: Int? = nil, embeddingInPipelineSplit: Bool = false,
                lossInPipelineSplit: Bool = false) {
        self.firstStageLayers = firstStageLayers
        self.lastStageLayers = lastStageLayers
        self.embeddingInPipelineSplit = embeddingInPipelineSplit
        self.lossInPipelineSplit = lossInPipelineSplit
    }

    /// Whether nothing is set: every chunk holds the same.
    public var isEven: Bool { self == MegatronLayerSplit() }

    /// Whether the embedding or the loss counts as a layer.
    var countsEmbeddingOrLoss: Bool { embeddingInPipelineSplit || lossInPipelineSplit }

    /// What the embedding and the loss count for in a configuration's summary: `split+embedding+loss`,
    /// `split+embedding` or `split+loss`; nil where neither counts as a layer.
    public var countedLayersText: String? {
        countsEmbeddingOrLoss ? "split" + (embeddingInPipelineSplit ? "+embedding" : "") + (lossInPipelineSplit ? "+loss" : "") : nil
    }

    /// Repeated layers of each of the `ranks x chunks` chunks in pipeline order (chunk g on rank g mod `ranks`)
    /// for a model of `layers` repeated layers. Where nothing is set and the layers do not divide, each chunk takes
    /// the floor or the ceiling of its share, the lighter ones spread over the pipeline (3/3/4/3/4/3/4 for 24 over
    /// 7): a split priced, which Megatron-Core runs only where one of its settings gives the same counts.
    /// Errors name the property at fault (`firstStageLayers`).
    func chunkLayers(layers: Int, ranks: Int, chunks: Int) throws(InputError) -> [Int] {
        let count = ranks * chunks
        if countsEmbeddingOrLoss {
            let option = embeddingInPipelineSplit ? "embeddingInPipelineSplit" : "lossInPipelineSplit"
            func invalid(_ message: String) -> InputError { InputError(.invalidValue, at: JSONPath([.key(option)]), message) }
            guard firstStageLayers == nil && lastStageLayers == nil else {
                throw invalid("Megatron-Core counts the embedding or the loss as a layer only where it splits every rank's layers itself: give it or --first-stage-layers/--last-stage-layers, not both")
            }
            guard ranks >= 2 else { throw invalid("counting the embedding or the loss as a pipeline layer needs two pipeline ranks or more") }
            let embedding = embeddingInPipelineSplit ? 1 : 0, loss = lossInPipelineSplit ? 1 : 0
            let total = layers + embedding + loss
            let counted = [embeddingInPipelineSplit ? "the embedding" : nil, lossInPipelineSplit ? "the loss" : nil].compactMap { $0 }
            guard total % count == 0 else {
                throw invalid("\(layers) repeated layers and \(counted.joined(separator: " and ")) make \(total), which does not split evenly over pp x vp = \(count) chunks")
            }
            // A share of one leaves the chunk that holds the embedding or the loss no repeated layer, which
            // Megatron-Core runs (NVIDIA's Megatron-MoE-ModelZoo trains Qwen3-235B-A22B's 94 layers over pp 32 x vp 3).
            let share = total / count
            var sizes = Array(repeating: share, count: count)
            sizes[0] -= embedding
            sizes[count - 1] -= loss
            return sizes
        }
        guard firstStageLayers != nil || lastStageLayers != nil else {
            return (0 ..< count).map { (($0 + 1) * layers / count) - ($0 * layers / count) }
        }
        let option = firstStageLayers != nil ? "firstStageLayers" : "lastStageLayers"
        func invalid(_ option: String, _ message: String) -> InputError { InputError(.invalidValue, at: JSONPath([.key(option)]), message) }
        guard ranks >= 2 else { throw invalid(option, "a lighter or heavier first or last stage needs two pipeline ranks or more") }
        let special = (firstStageLayers == nil ? 0 : 1) + (lastStageLayers == nil ? 0 : 1)
        let rest = layers - (firstStageLayers ?? 0) - (lastStageLayers ?? 0), middleRanks = ranks - special
        let share = middleRanks > 0 ? rest / middleRanks : 0
        guard (firstStageLayers ?? chunks) >= chunks, (lastStageLayers ?? chunks) >= chunks,
              middleRanks == 0 ? rest == 0 : rest >= 0 && rest % middleRanks == 0 && share >= chunks else {
            let parts = [firstStageLayers.map { "\($0) on the first rank" }, lastStageLayers.map { "\($0) on the last rank" },
                         middleRanks > 0 ? "an equal share of the rest on each of the other \(middleRanks) rank\(middleRanks == 1 ? "" : "s")" : nil]
                .compactMap { $0 }
            throw invalid(option, "\(layers) repeated layers do not split into \(parts.dropLast().joined(separator: ", ")) and \(parts.last!), with at least \(chunks) per rank (one per chunk)")
        }
        // Megatron-Core splits each rank's layers equally over its chunks and refuses counts that do not divide.
        let ends = [("firstStageLayers", "the first rank", firstStageLayers), ("lastStageLayers", "the last rank", lastStageLayers),
                    (option, "each middle rank", middleRanks > 0 ? share : nil)]
        for case let (endOption, rank, endLayers?) in ends where endLayers % chunks != 0 {
            throw invalid(endOption, "Megatron-Core splits each rank's layers equally over its chunks: \(endLayers) layers on \(rank) must be a multiple of the \(chunks) chunks per rank (count the embedding or the loss as a layer for a chunk one lighter)")
        }
        let rankLayers = (0 ..< ranks).map { rank in
            rank == 0 ? firstStageLayers ?? share : rank == ranks - 1 ? lastStageLayers ?? share : share
        }
        return (0 ..< count).map { rankLayers[$0 % ranks] / chunks }
    }

    /// The split that gives `chunkLayers` (repeated layers of each chunk in pipeline order, over `ranks` ranks)
    /// as Megatron-Core lays it out: nothing set where every chunk holds the same; first and last stage layers
    /// where each rank's chunks hold the same and the ranks between the first and the last the same (with two
    /// ranks, the first rank's count); else the embedding, the loss or both counted as a layer. Nil where no
    /// setting gives these counts.
    public init?(chunkLayers: [Int], ranks: Int) {
        // Only the first and the last chunk may hold no repeated layer: the counted embedding or loss alone.
        guard ranks >= 1, !chunkLayers.isEmpty, chunkLayers.count % ranks == 0, chunkLayers.allSatisfy({ $0 >= 0 }),
              chunkLayers.dropFirst().dropLast().allSatisfy({ $0 >= 1 }) else { return nil }
        let chunks = chunkLayers.count / ranks
        if !chunkLayers.contains(0) {
            if Set(chunkLayers).count == 1 {
                self.init()
                return
            }
            guard ranks >= 2 else { return nil }
            let evenRanks = (0 ..< ranks).allSatisfy { rank in Set(stride(from: rank, to: chunkLayers.count, by: ranks).map { chunkLayers[$0] }).count == 1 }
            if evenRanks {
                let rankLayers = (0 ..< ranks).map { chunkLayers[$0] * chunks }
                // Two ranks: Megatron-Core puts what the first does not take on the last.
                if ranks == 2 {
                    self.init(firstStageLayers: rankLayers[0])
                    return
                }
                let middle = Set(rankLayers.dropFirst().dropLast())
                if middle.count == 1, let share = middle.first {
                    self.init(firstStageLayers: rankLayers[0] == share ? nil : rankLayers[0],
                              lastStageLayers: rankLayers[ranks - 1] == share ? nil : rankLayers[ranks - 1])
                    return
                }
            }
        }
        let layers = chunkLayers.reduce(0, +)
        for (embedding, loss) in [(true, false), (false, true), (true, true)] {
            let split = MegatronLayerSplit(embeddingInPipelineSplit: embedding, lossInPipelineSplit: loss)
            if (try? split.chunkLayers(layers: layers, ranks: ranks, chunks: chunks)) == chunkLayers {
                self = split
                return
            }
        }
        return nil
    }

    /// Whether Megatron-Core runs this split of `layers` repeated layers over `ranks x chunks` chunks as
    /// `chunkLayers(layers:ranks:chunks:)` lays it out: every count divides as it requires, and with nothing set
    /// every chunk holds the same.
    func runs(layers: Int, ranks: Int, chunks: Int) -> Bool {
        guard (try? chunkLayers(layers: layers, ranks: ranks, chunks: chunks)) != nil else { return false }
        return !isEven || layers % (ranks * chunks) == 0
    }

    /// Whether Megatron-Core runs this split (`runs(layers:ranks:chunks:)`) with a repeated layer in every chunk: the
    /// splits the Megatron grid tries (a chunk of the counted embedding or loss alone runs, but spends a pipeline slot
    /// on little work).
    func fillsEveryChunk(layers: Int, ranks: Int, chunks: Int) -> Bool {
        runs(layers: layers, ranks: ranks, chunks: chunks)
            && (try? chunkLayers(layers: layers, ranks: ranks, chunks: chunks))?.allSatisfy({ $0 >= 1 }) == true
    }
}
