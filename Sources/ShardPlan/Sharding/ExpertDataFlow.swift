/// How a graph's mixtures of experts pass their tokens between expert GEMMs (`MegatronLayout.expertGEMMIndex`): which
/// ops are expert GEMMs, and which values are computed from an expert GEMM's result or read by one as its activation
/// through the ops between them. Those ops are elementwise ops, whose inputs and result have one shape (the experts'
/// activation function, the gate's product), and the slices and reshapes that take the gate's and the up projection's
/// halves of one merged GEMM, as `merge-parallel-contractions` writes it.
struct ExpertDataFlow {
    /// For each op, its expert index and weight operand where it is an expert GEMM.
    let experts: [(index: Int, weightOperand: Int)?]
    /// For each value, whether it is an expert GEMM's result or computed from one by elementwise ops.
    let fromExperts: [Bool]
    /// For each value, whether an expert GEMM reads it as its activation, directly or through elementwise ops.
    let feedsExperts: [Bool]

    init(_ graph: Graph) {
        let experts = graph.operations.map { MegatronLayout.expertGEMMIndex($0, graph: graph) }
        var fromExperts = Array(repeating: false, count: graph.values.count)
        for (index, operation) in graph.operations.enumerated() {
            fromExperts[operation.result.rawValue] = experts[index] != nil
                || (Self.passesTokens(operation, in: graph) && operation.inputs.contains { fromExperts[$0.rawValue] })
        }
        var feedsExperts = Array(repeating: false, count: graph.values.count)
        for (index, operation) in graph.operations.enumerated().reversed() {
            let feeds = experts[index] != nil || (Self.passesTokens(operation, in: graph) && feedsExperts[operation.result.rawValue])
            guard feeds else { continue }
            for (operand, input) in operation.inputs.enumerated() where operand != experts[index]?.weightOperand {
                feedsExperts[input.rawValue] = true
            }
        }
        (self.experts, self.fromExperts, self.feedsExperts) = (experts, fromExperts, feedsExperts)
    }

    /// The experts' activation function: the elementwise ops between two expert GEMMs, computed from one's result and
    /// read by another (SwiGLU's SiLU and product, or a GELU).
    func activationOperations(in graph: Graph) -> [Int] {
        graph.operations.indices.filter { index in
            let operation = graph.operations[index]
            return experts[index] == nil && Self.isElementwise(operation, in: graph) && !operation.op.isView
                && fromExperts[operation.result.rawValue] && feedsExperts[operation.result.rawValue]
        }
    }

    /// Whether `operation` passes an expert GEMM's tokens on to another: an elementwise op, a slice or a reshape.
    private static func passesTokens(_ operation: Operation, in graph: Graph) -> Bool {
        switch operation.op {
        case .slice, .reshape: true
        default: isElementwise(operation, in: graph)
        }
    }

    /// Whether `operation` keeps every dimension: not a contraction, its inputs and result of one shape.
    private static func isElementwise(_ operation: Operation, in graph: Graph) -> Bool {
        !operation.op.isContraction && operation.inputs.allSatisfy { graph[$0].type.shape == graph[operation.result].type.shape }
    }
}
