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
    /// (`MegatronLayout.expertGEMMIndex`), as a token dispatcher's all-to-all does: an expert GEMM reads or writes it,
    /// or the op producing an expert GEMM's input reads it (the tokens before their permutation). `Resharding` moves
    /// such tokens in one all-to-all.
    public private(set) var dispatchedTokens: [Bool]

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
        dispatchedTokens = Array(repeating: false, count: graph.values.count)
        for operation in graph.operations where MegatronLayout.expertGEMMIndex(operation, graph: graph) != nil {
            dispatchedTokens[operation.result.rawValue] = true
            for input in operation.inputs {
                dispatchedTokens[input.rawValue] = true
                if let producer = graph[input].operationIndex {
                    for source in graph.operations[producer].inputs { dispatchedTokens[source.rawValue] = true }
                }
            }
        }
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
