/// The work and memory of one op over one training iteration of the whole global batch: the FLOPs of its
/// forward and backward pass, the bytes of its result, and what it keeps from the forward pass for the
/// backward pass. The counting rules, and where each number comes from, are in Docs/analysis.md.
public struct OperationCost: Sendable, Equatable {
    public var operationClass: OperationClass
    /// Floating-point operations of the forward pass. Attention is counted dense, masked half included.
    public var forwardFLOPs: Double
    /// Floating-point operations of the backward pass: the gradients of the operands that carry one
    /// (zero when the op's result carries no gradient).
    public var backwardFLOPs: Double
    /// Whether the op is causal attention, whose kernel skips the masked half of `forwardFLOPs` and
    /// `backwardFLOPs` (a cost model may halve them; this analysis reports the dense count).
    public var causal: Bool
    /// The sliding window of a causal attention op whose window is shorter than its keys (`SlidingWindow`), nil
    /// otherwise. `forwardFLOPs` and `backwardFLOPs` stay the dense count; `bandForwardFLOPs` is the band's.
    public var window: Int?
    /// The forward FLOPs of a sliding-window attention op's band, `forwardFLOPs x pairs / t^2` (`SlidingWindow`);
    /// `forwardFLOPs` for any other op.
    public var bandForwardFLOPs: Double
    /// Bytes of the op's result tensor.
    public var resultBytes: Int
    /// The activations (operands, or the op's own result) its backward pass reads, so they stay in memory
    /// from the forward to the backward pass. A reshape's result is listed as the tensor it reshapes (it
    /// is a view of the same memory); parameters are resident anyway and never listed.
    public var savedTensors: [ValueID]
    /// For each of `savedTensors` kept as fewer elements than it has, the share kept (`storedShare`: a broadcast an
    /// elementwise op reads is kept as its input).
    public var savedShares: [ValueID: Double]
    /// Bytes the op keeps for its backward pass besides graph tensors: dropout masks, normalisation
    /// statistics, attention's log-sum-exp.
    public var auxiliarySavedBytes: Int

    /// The cost of `operation`, one of `graph`'s ops; `gradients` says which tensors carry a gradient.
    public init(_ operation: Operation, in graph: Graph, gradients: GradientFlow) {
        operationClass = operation.op.operationClass
        forwardFLOPs = Self.forwardFLOPs(operation, in: graph)
        backwardFLOPs = gradients[operation.result]
            ? Self.backwardFLOPs(operation, forward: forwardFLOPs, in: graph, gradients: gradients) : 0
        if case .attention(let isCausal, _, _) = operation.op { causal = isCausal } else { causal = false }
        window = Self.window(operation, in: graph)
        bandForwardFLOPs = forwardFLOPs * Self.bandShare(operation, in: graph)
        resultBytes = graph[operation.result].type.byteCount
        let saved = Self.savedForBackward(operation, in: graph, gradients: gradients)
        savedTensors = Self.unique(saved.tensors.map { Self.storage(of: $0, in: graph) }).filter { !graph[$0].isParameter }
        var shares: [ValueID: Double] = [:]
        for tensor in saved.tensors {
            let share = Self.storedShare(of: tensor, readBy: operation, in: graph)
            if share < 1 { shares[Self.storage(of: tensor, in: graph)] = share }
        }
        savedShares = shares
        auxiliarySavedBytes = saved.auxiliaryBytes
    }

    /// Forward plus backward FLOPs.
    public var trainingFLOPs: Double { forwardFLOPs + backwardFLOPs }

    /// The forward FLOPs MFU counts: `forwardFLOPs`, but for a sliding-window attention op twice its band
    /// (`bandForwardFLOPs`), as causal attention's dense count is twice the triangle its kernel computes, and
    /// never more than the dense count. Counted dense, a window of 4,096 over 32,768 tokens would count 8.5 times
    /// its band, and MFU could pass 100%.
    public var modelForwardFLOPs: Double { Self.modelFLOPs(forward: forwardFLOPs, bandForward: bandForwardFLOPs) }
}
