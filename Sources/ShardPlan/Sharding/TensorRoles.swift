/// Which dimension of every tensor is the batch (split by data parallelism and microbatching) and which is
/// the sequence (split by sequence parallelism), found by following the inputs' dimensions through every
/// op's index space.
public struct TensorRoles: Sendable {
    /// For each value, its batch dimension, if it has one.
    public private(set) var batchDimension: [Int?]
    /// For each value, its sequence dimension, if it has one.
    public private(set) var sequenceDimension: [Int?]
    /// For each op, the index of its iteration space that carries the batch, if any.
    public private(set) var batchIndex: [Int?]
    /// For each op, the index that carries the sequence, if any (the query sequence for attention).
    public private(set) var sequenceIndex: [Int?]
    /// For each value, whether its layout changes carry tokens to or from a mixture of experts' expert GEMMs
    /// (`MegatronLayout.expertGEMMIndex`), as a token dispatcher's all-to-all does: the activation an expert GEMM reads
    /// where it does not come from another expert GEMM (the permuted tokens), the tokens before their permutation
    /// (the inputs of the op that permutes them, weights aside), and the result of an expert GEMM that no other expert
    /// GEMM reads, directly or through elementwise ops (the experts' output before the combine).
    /// `Resharding` moves such tokens in one all-to-all. The routing says among how many experts (the expert GEMM's
    /// expert index) and to how many each token goes (the copies a broadcast makes of the tokens before their
    /// permutation, found by following the activation back through the ops that only move data; one where none is
    /// found), and whether it is group-limited (the `ExpertGroups` of a top-k slice in the same layer). Nil for every
    /// other value.
    public private(set) var dispatchedTokens: [TokenDispatch?]

    public init(_ graph: Graph) {
        batchDimension = Array(repeating: nil, count: graph.values.count)
        sequenceDimension = Array(repeating: nil, count: graph.values.count)
        batchIndex = []
        sequenceIndex = []
        for id in graph.inputs {
            let value = graph[id]
            guard case .input(let dimension) = value.origin else { continue }
            batchDimension[id.rawValue] = dimension
            // Token-like inputs [batch, seq] carry the sequence right after the batch.
            if value.type.dtype.isInteger && value.type.rank == 2 && dimension == 0 {
                sequenceDimension[id.rawValue] = 1
            }
        }
        for operation in graph.operations {
            let space = operation.indexSpace
            let batch = Self.carriedIndex(operation, batchDimension)
            let sequence = Self.carriedIndex(operation, sequenceDimension)
            batchIndex.append(batch)
            sequenceIndex.append(sequence.flatMap { space.resultCarries($0) ? $0 : nil } ?? sequence)
            let result = operation.result.rawValue
            batchDimension[result] = batch.flatMap { space.resultIndices.firstIndex(of: $0) }
            sequenceDimension[result] = sequence.flatMap { space.resultIndices.firstIndex(of: $0) }
        }
        dispatchedTokens = Self.dispatchedTokens(graph)
    }

    /// `dispatchedTokens` of `graph`.
    private static func dispatchedTokens(_ graph: Graph) -> [TokenDispatch?] {
        let flow = ExpertDataFlow(graph)
        let (experts, fromExperts, feedsExperts) = (flow.experts, flow.fromExperts, flow.feedsExperts)
        // Group-limited routing, said by the layer's top-k slice over as many experts as the layer's expert GEMMs hold.
        var groupsOfLayer: [String: (experts: Int, groups: ExpertGroups)] = [:]
        for operation in graph.operations {
            if case .slice(let axis, _, _, let groups?) = operation.op, let layer = operation.layer, let scores = operation.inputs.first {
                groupsOfLayer[layer] = (graph[scores].type.shape[axis], groups)
            }
        }
        var dispatched = [TokenDispatch?](repeating: nil, count: graph.values.count)
        // The routing of the tokens an expert GEMM's result carries, passed on through the ops between expert GEMMs.
        var routing = [TokenDispatch?](repeating: nil, count: graph.values.count)
        for (index, operation) in graph.operations.enumerated() {
            guard let expert = experts[index] else {
                if fromExperts[operation.result.rawValue] {
                    routing[operation.result.rawValue] = operation.inputs.lazy.compactMap { routing[$0.rawValue] }.first
                }
                continue
            }
            let activation = operation.inputs[1 - expert.weightOperand]
            let expertCount = operation.indexSpace.indices[expert.index].size
            let layerRouting = routing[activation.rawValue]
                ?? TokenDispatch(experts: expertCount, topK: min(tokenCopies(activation, in: graph), expertCount),
                                 groups: operation.layer.flatMap { groupsOfLayer[$0] }.flatMap { $0.experts == expertCount ? $0.groups : nil })
            routing[operation.result.rawValue] = layerRouting
            if !fromExperts[activation.rawValue] {
                dispatched[activation.rawValue] = layerRouting
                if let producer = graph[activation].operationIndex {
                    for source in graph.operations[producer].inputs where !graph[source].isParameter { dispatched[source.rawValue] = layerRouting }
                }
            }
            if !feedsExperts[operation.result.rawValue] { dispatched[operation.result.rawValue] = layerRouting }
        }
        return dispatched
    }

    /// How many copies of each token the permuted buffer `activation` holds: the factor by which the nearest broadcast
    /// before it that copies anything multiplies its input, following the activation back through ops that only move
    /// or relabel data (a transpose, a reshape, a slice, a cast, an identity or a gradient stop, and a concatenation's
    /// largest input, the tokens beside their padding); 1 where there is none.
    private static func tokenCopies(_ activation: ValueID, in graph: Graph) -> Int {
        var value = activation
        while let producer = graph[value].operationIndex {
            let operation = graph.operations[producer]
            switch operation.op {
            case .broadcast:
                let input = graph[operation.inputs[0]].type.elementCount
                let copies = input > 0 ? graph[operation.result].type.elementCount / input : 1
                guard copies <= 1 else { return copies }
                value = operation.inputs[0]
            case _ where operation.op.onlyMovesData:
                value = operation.inputs[0]
            case .concat:
                value = operation.inputs.max { graph[$0].type.elementCount < graph[$1].type.elementCount }!
            default:
                return 1
            }
        }
        return 1
    }

    /// The first index of `operation` carried by an operand dimension marked in `dimensions`.
    private static func carriedIndex(_ operation: Operation, _ dimensions: [Int?]) -> Int? {
        for (operand, input) in operation.inputs.enumerated() {
            if let dimension = dimensions[input.rawValue], let index = operation.indexSpace.operandIndices[operand][dimension] {
                return index
            }
        }
        return nil
    }
}
