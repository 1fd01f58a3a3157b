/// One unit of the pipeline search: a run of consecutive analysis layers (`GraphAnalysis.layers`) that a stage
/// boundary never splits. FLOPs are for one training iteration of the whole global batch.
public struct ClusteredLayer: Sendable, Equatable {
    /// The names of the first and last analysis layers it holds (`"layer0"`, `"prologue ... layer2"`).
    public var name: String
    /// Indices into `GraphAnalysis.layers`.
    public var analysisLayers: Range<Int>
    /// Indices into `Graph.operations`.
    public var operations: Range<Int>
    public var forwardFLOPs: Double
    public var backwardFLOPs: Double
    /// Clustered layers with equal keys hold structurally identical ops (the same sequence of analysis
    /// structure keys), so a stage made of them costs the same. Numbered from 0 in order of first appearance.
    public var structureKey: Int
    /// Clustered layers with equal shape keys hold the same sequence of analysis shape keys (`Layer.shapeKey`).
    public var shapeKey: Int

    public init(name: String, analysisLayers: Range<Int>, operations: Range<Int>, forwardFLOPs: Double,
                backwardFLOPs: Double, structureKey: Int, shapeKey: Int? = nil) {
        self.name = name
        self.analysisLayers = analysisLayers
        self.operations = operations
        self.forwardFLOPs = forwardFLOPs
        self.backwardFLOPs = backwardFLOPs
        self.structureKey = structureKey
        self.shapeKey = shapeKey ?? structureKey
    }

    /// Forward plus backward FLOPs: the weight the clustering balances.
    public var trainingFLOPs: Double { forwardFLOPs + backwardFLOPs }
}
