/// Which tensors of a graph carry a gradient in training: the trainable parameters and every floating-point op
/// result that depends on one. Data inputs, frozen parameters (`Value.isFrozen`), integer and boolean tensors, and
/// whatever flows through `stop_gradient` carry none, so the backward pass computes nothing for them.
public struct GradientFlow: Sendable, Equatable {
    /// For each value of the graph (indexed like `Graph.values`), whether it carries a gradient.
    public private(set) var carriesGradient: [Bool]

    /// `trainingFrozen`: as if every parameter were trainable (what freezing saves is the difference).
    public init(_ graph: Graph, trainingFrozen: Bool = false) {
        var carries = graph.values.map { ($0.isTrainableParameter || trainingFrozen && $0.isParameter) && $0.type.dtype.isFloatingPoint }
        for operation in graph.operations {
            let result = graph[operation.result]
            carries[operation.result.rawValue] = result.type.dtype.isFloatingPoint
                && operation.op != .unary(.stopGradient)
                && operation.inputs.contains { carries[$0.rawValue] }
        }
        carriesGradient = carries
    }

    public subscript(id: ValueID) -> Bool { carriesGradient[id.rawValue] }
}
