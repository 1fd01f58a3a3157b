/// What a graph asks of the hardware in one training iteration of its global batch: its parameters, the
/// FLOPs of the forward and backward passes, the bytes of its activations, its ops by kind and the layers
/// it is made of. FLOPs are per iteration unless a name says per sample; bytes are bytes.
///
/// ```swift
/// let analysis = GraphAnalysis(graph)
/// print(analysis.parameterCount, analysis.forwardFLOPsPerSample, analysis.layers.count)
/// ```
public struct GraphAnalysis: Sendable {
    public let graph: Graph
    public let gradients: GradientFlow
    /// Samples per iteration: the graph's global batch (`Graph.batchSize`), or 1 for a graph without inputs.
    public let batchSize: Int
    /// Elements of all parameters.
    public let parameterCount: Int
    public let parameterBytes: Int
    /// Elements of the frozen parameters (`Value.isFrozen`), which training does not update.
    public let frozenParameterCount: Int
    /// The cost of each op, in op order.
    public let operations: [OperationCost]
    public let forwardFLOPs: Double
    public let backwardFLOPs: Double
    /// The part of `forwardFLOPs` spent in causal attention, half of which a causal kernel skips.
    public let causalAttentionForwardFLOPs: Double
    /// The part of `causalAttentionForwardFLOPs` spent in sliding-window attention (windows shorter than the keys),
    /// counted dense, and the FLOPs of those ops' bands (`OperationCost.bandForwardFLOPs`), what a windowed kernel
    /// computes.
    public let slidingWindowAttentionForwardFLOPs: Double
    public let slidingWindowBandForwardFLOPs: Double
    /// The forward FLOPs MFU and TFLOP/s per device count (`OperationCost.modelForwardFLOPs`): `forwardFLOPs`
    /// with each sliding-window attention op counted as twice its band, as causal attention is counted dense.
    public let modelForwardFLOPs: Double
    /// The training FLOPs of one iteration MFU and TFLOP/s per device count (`OperationCost.modelTrainingFLOPs`):
    /// three times `modelForwardFLOPs`, less what frozen parameters save.
    public let modelTrainingFLOPs: Double
    /// Bytes of all op results: what the forward pass would hold if it freed nothing.
    public let activationBytes: Int
    /// Bytes kept from the forward pass for the backward pass (each tensor once).
    public let savedForBackwardBytes: Int
    /// Ops per `op` kind, the most frequent first (ties in name order).
    public let operationCounts: [(kind: String, count: Int)]
    /// The graph's ops grouped into consecutive layers, covering every op once, in order.
    public let layers: [Layer]

    public init(_ graph: Graph) {
        self.graph = graph
        let gradients = GradientFlow(graph)
        self.gradients = gradients
        batchSize = graph.batchSize ?? 1
        parameterCount = graph.elementCount(of: graph.parameters)
        parameterBytes = graph.parameters.reduce(0) { $0 + graph[$1].type.byteCount }
        frozenParameterCount = graph.elementCount(of: graph.frozenParameters)
        let costs = graph.operations.map { OperationCost($0, in: graph, gradients: gradients) }
        operations = costs
        forwardFLOPs = costs.reduce(0) { $0 + $1.forwardFLOPs }
        backwardFLOPs = costs.reduce(0) { $0 + $1.backwardFLOPs }
        causalAttentionForwardFLOPs = costs.reduce(0) { $0 + ($1.causal ? $1.forwardFLOPs : 0) }
        slidingWindowAttentionForwardFLOPs = costs.reduce(0) { $0 + ($1.window != nil ? $1.forwardFLOPs : 0) }
        slidingWindowBandForwardFLOPs = costs.reduce(0) { $0 + ($1.window != nil ? $1.bandForwardFLOPs : 0) }
        modelForwardFLOPs = costs.reduce(0) { $0 + $1.modelForwardFLOPs }
        modelTrainingFLOPs = OperationCost.modelTrainingFLOPs(of: graph)
        activationBytes = costs.reduce(0) { $0 + $1.resultBytes }
        savedForBackwardBytes = Self.savedBytes(costs[...], in: graph)
        var counts: [String: Int] = [:]
        for operation in graph.operations { counts[operation.op.kindName, default: 0] += 1 }
        operationCounts = counts.map { (kind: $0.key, count: $0.value) }
            .sorted { $0.count != $1.count ? $0.count > $1.count : $0.kind < $1.kind }
        layers = Self.layers(of: graph, costs: costs)
    }

    /// `modelTrainingFLOPs` with causal attention counted as the half a causal kernel computes and a sliding window as
    /// its band (`OperationCost.causalAttentionSavingFLOPs`): the work the kernels do, far below the dense count at long
    /// sequences. Attention has no weights, so its forward and two backward products all shrink alike.
    public var causalHalvedTrainingFLOPs: Double {
        modelTrainingFLOPs - 3 * OperationCost.causalAttentionSavingFLOPs(of: graph)
    }

    /// Forward plus backward FLOPs of one iteration.
    public var trainingFLOPs: Double { forwardFLOPs + backwardFLOPs }
    public var forwardFLOPsPerSample: Double { forwardFLOPs / Double(batchSize) }
    public var backwardFLOPsPerSample: Double { backwardFLOPs / Double(batchSize) }
    public var trainingFLOPsPerSample: Double { trainingFLOPs / Double(batchSize) }

    /// Bytes that ops `range` keep for the backward pass, each tensor once: what a pipeline stage
    /// holding these ops stores per microbatch in flight (scaled by the microbatch's share of the batch).
    public func savedForBackwardBytes(operations range: Range<Int>) -> Int {
        Self.savedBytes(operations[range], in: graph)
    }

    static func savedBytes(_ costs: ArraySlice<OperationCost>, in graph: Graph) -> Int {
        var seen = Set<ValueID>()
        var bytes = 0
        for cost in costs {
            bytes += cost.auxiliarySavedBytes
            for tensor in cost.savedTensors where seen.insert(tensor).inserted {
                bytes += Int((Double(graph[tensor].type.byteCount) * cost.savedShares[tensor, default: 1]).rounded())
            }
        }
        return bytes
    }

    /// The layers whose structure equals that of `layer`, in order (`layer` included).
    public func layers(identicalTo layer: Layer) -> [Layer] {
        layers.filter { $0.structureKey == layer.structureKey }
    }
}
