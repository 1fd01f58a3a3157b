/// How an interleaved pipeline rank's layers are split into its model chunks, and which layers of the model
/// each chunk runs: the single rule the stage DP, its oracle and the plan share.
///
/// Chunk g of the model (g = k p + r for chunk k of rank r) takes the next `sizes(r)[k]` layers in order, so
/// the first rank's first chunk starts the model and the last rank's last chunk ends it. A rank of n layers
/// over v chunks gives every chunk n / v layers and the remainder one each: the first rank to its first
/// chunks (its chunk 0 holds layer 0 even when n < v), every other rank to its last chunks (the last rank's
/// last chunk holds the model's last layer). A chunk may be empty when a rank has fewer layers than chunks,
/// as Llama 3's first rank, whose chunk 0 holds only the embedding (Llama 3 paper, section 3.3.2).
public enum ChunkSplit {
    /// Layers in each of the `chunks` chunks of a rank holding `layers` layers; `isFirstRank` marks rank 0.
    public static func sizes(layers: Int, chunks: Int, isFirstRank: Bool) -> [Int] {
        precondition(layers >= 0 && chunks >= 1, "a rank's layers over its chunks")
        let base = layers / chunks, extra = layers % chunks
        return (0 ..< chunks).map { chunk in
            base + (isFirstRank ? (chunk < extra ? 1 : 0) : (chunk >= chunks - extra ? 1 : 0))
        }
    }

    /// The model's chunks in pipeline order (chunk k of every rank, then chunk k + 1), as ranges of layers,
    /// for ranks holding `rankLayers[r]` layers each; chunk g runs on rank g mod p.
    public static func chunkRanges(rankLayers: [Int], chunks: Int) -> [Range<Int>] {
        let split = rankLayers.enumerated().map { sizes(layers: $0.element, chunks: chunks, isFirstRank: $0.offset == 0) }
        var ranges: [Range<Int>] = []
        var next = 0
        for chunk in 0 ..< chunks {
            for rank in rankLayers.indices {
                ranges.append(next ..< next + split[rank][chunk])
                next += split[rank][chunk]
            }
        }
        return ranges
    }
}
