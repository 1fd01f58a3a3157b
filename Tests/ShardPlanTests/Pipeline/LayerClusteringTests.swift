import Testing
@testable import ShardPlan

@Suite("layer clustering")
struct LayerClusteringTests {
    @Test("the embedding and the head join the first and last blocks; the blocks between stay identical")
    func smallLayersJoinNeighbours() throws {
        // TinyGPT's prologue (embedding, position add) is 0.1% of a block, its epilogue (norm, head, loss) 16%.
        let analysis = GraphAnalysis(try TinyGPT().graph())
        let clustering = LayerClustering(analysis)
        #expect(clustering.layers.map(\.name) == ["prologue ... layer0", "layer1", "layer2 ... epilogue"])
        #expect(clustering.layers.map(\.operations) == [0 ..< 18, 18 ..< 34, 34 ..< 53])
        #expect(clustering.layers.map(\.structureKey) == [0, 1, 2])
        #expect(clustering.layers.map(\.analysisLayers) == [0 ..< 2, 2 ..< 3, 3 ..< 5])
        #expect(clustering.layers.reduce(0) { $0 + $1.trainingFLOPs } == analysis.trainingFLOPs)
    }

    @Test("a fraction of 0 keeps every analysis layer with its structure")
    func keepEveryLayer() throws {
        let analysis = GraphAnalysis(try TinyGPT(hinted: true).graph())
        let clustering = LayerClustering(analysis, smallLayerFraction: 0)
        #expect(clustering.layers.map(\.name) == ["prologue", "h0", "h1", "h2", "epilogue"])
        #expect(clustering.structureKeys == [0, 1, 1, 1, 2])
        #expect(clustering.structureSignature(of: 1 ..< 3) == clustering.structureSignature(of: 2 ..< 4))
    }

    @Test("12 blocks coarsened to 4 layers make groups of 3 blocks, the middle two identical")
    func coarsening() throws {
        let clustering = LayerClustering(GraphAnalysis(try TinyGPT(layers: 12).graph()), maximumLayerCount: 4)
        #expect(clustering.layers.map(\.name) == ["prologue ... layer2", "layer3 ... layer5", "layer6 ... layer8", "layer9 ... epilogue"])
        #expect(clustering.structureKeys == [0, 1, 1, 2])
        #expect(clustering.operations(of: 1 ..< 3) == 50 ..< 146)
        #expect(clustering.layers.last?.operations.upperBound == 197)
    }

    @Test("balanced partitions minimise the sum of squared group weights",
          arguments: [([1.0, 1, 1, 1, 1, 1], 3, [0 ..< 2, 2 ..< 4, 4 ..< 6]),
                      ([4.0, 1, 1, 1, 1], 2, [0 ..< 1, 1 ..< 5]),
                      ([1.0, 2, 3], 3, [0 ..< 1, 1 ..< 2, 2 ..< 3]),
                      ([3.0, 1, 1, 1, 0.5, 2.5], 3, [0 ..< 1, 1 ..< 4, 4 ..< 6])])
    func balancedPartition(weights: [Double], count: Int, groups: [Range<Int>]) {
        #expect(LayerClustering.balancedPartition(weights: weights, count: count) == groups)
    }

    @Test("asking for more layers than there are keeps them all")
    func targetAboveCount() throws {
        let analysis = GraphAnalysis(try TinyGPT().graph())
        #expect(LayerClustering(analysis, maximumLayerCount: 10).layers.count == 3)
        #expect(LayerClustering(analysis, maximumLayerCount: 1).layers.map(\.operations) == [0 ..< 53])
    }
}
