/// Megatron-LM's hand-designed layout expressed as one `OpStrategy` per op on a `[data, tensor]` mesh, so
/// that a manual plan is priced by exactly the machinery the search uses.
///
/// The rules (Shoeybi et al. 2019; Korthikanti et al. 2022), applied op by op in graph order:
/// - the data axis splits every op's batch index;
/// - a contraction with a weight whose activation operand is split along an index the weight also carries
///   is row-parallel (the weight's input dimension is split, the result is a partial sum); otherwise it is
///   column-parallel (the first output-only index of the weight that the tensor-parallel size divides, so a
///   head-aligned QKV weight splits heads);
/// - the embedding is vocabulary-parallel (partial sums);
/// - every other op follows the split of its first split operand when it can carry it (attention keeps the
///   heads split, cross-entropy the vocabulary); with sequence parallelism, ops that would otherwise be
///   replicated split the sequence instead.
public struct MegatronLayout: Sendable {
    public var sequenceParallel: Bool

    /// Mesh axis 0 is data parallelism, axis 1 tensor parallelism.
    public static let dataAxis = 0
    public static let tensorAxis = 1

    public init(sequenceParallel: Bool = false) { self.sequenceParallel = sequenceParallel }

    /// One strategy per op of `graph` on a `meshShape = [data, tensor]` mesh.
    public func strategies(for graph: Graph, meshShape: [Int], roles: TensorRoles? = nil) -> [OpStrategy] {
        let roles = roles ?? TensorRoles(graph)
        let tensorParallel = meshShape[Self.tensorAxis]
        var strategies: [OpStrategy] = []
        strategies.reserveCapacity(graph.operations.count)
        // The dimension of each value split along the tensor axis (ignoring partial sums, which a consumer
        // always receives reduced).
        var tensorSplitDimension = Array<Int?>(repeating: nil, count: graph.values.count)
        for (operationIndex, operation) in graph.operations.enumerated() {
            let space = operation.indexSpace
            let operandShapes = operation.inputs.map { graph[$0].type.shape }
            let resultShape = graph[operation.result].type.shape
            func isValid(_ strategy: OpStrategy) -> Bool {
                strategy.isValid(for: operation, operandShapes: operandShapes, resultShape: resultShape, meshShape: meshShape)
            }
            var assignment: [Int?] = [nil, nil]
            if meshShape[Self.dataAxis] > 1 { assignment[Self.dataAxis] = roles.batchIndex[operationIndex] }
            if tensorParallel > 1 {
                assignment[Self.tensorAxis] = tensorIndex(operation, operationIndex, graph: graph, roles: roles,
                                                          splitDimension: tensorSplitDimension, size: tensorParallel)
            }
            var strategy = OpStrategy(indexOfAxis: assignment)
            if !isValid(strategy) { strategy.indexOfAxis[Self.tensorAxis] = nil }
            if !isValid(strategy) { strategy.indexOfAxis[Self.dataAxis] = nil }
            if !isValid(strategy) { strategy = .replicated(axisCount: 2) }
            strategies.append(strategy)
            tensorSplitDimension[operation.result.rawValue] = strategy.resultSpec(in: space).dimension(splitBy: Self.tensorAxis)
        }
        return strategies
    }

    private func tensorIndex(_ operation: Operation, _ operationIndex: Int, graph: Graph, roles: TensorRoles,
                             splitDimension: [Int?], size: Int) -> Int? {
        let space = operation.indexSpace
        // The index each operand is split along on the tensor axis, if any.
        let operandSplit: [Int?] = operation.inputs.enumerated().map { operand, input in
            splitDimension[input.rawValue].flatMap { space.operandIndices[operand][$0] }
        }
        switch operation.op {
        case .embedding:
            return space.indices.firstIndex { $0.name == "vocab" }
        case .einsum, .matmul:
            let weights = operation.inputs.indices.filter { graph[operation.inputs[$0]].isParameter }
            if weights.count == 1, let weight = weights.first {
                let weightIndices = space.operandIndices[weight].compactMap { $0 }
                // Row-parallel: the activation is split along an index the weight carries.
                for (operand, split) in operandSplit.enumerated() where operand != weight {
                    if let split, weightIndices.contains(split), space.indices[split].role == .summed { return split }
                }
                // Column-parallel: the first output-only index of the weight that splits evenly.
                let activationIndices = Set(operation.inputs.indices.filter { $0 != weight }
                    .flatMap { space.operandIndices[$0].compactMap { $0 } })
                return weightIndices.first { index in
                    space.resultCarries(index) && !activationIndices.contains(index)
                        && space.indices[index].size % size == 0 && space.indices[index].size >= size
                }
            }
            return followedIndex(space, operandSplit) ?? sequenceIndex(operation, operationIndex, roles)
        default:
            return followedIndex(space, operandSplit) ?? sequenceIndex(operation, operationIndex, roles)
        }
    }

    /// The first operand split that this op can carry.
    private func followedIndex(_ space: IndexSpace, _ operandSplit: [Int?]) -> Int? {
        operandSplit.lazy.compactMap { $0 }.first { space.indices[$0].role != .unsplittable }
    }

    /// Under sequence parallelism, ops outside the tensor-parallel regions split the sequence.
    private func sequenceIndex(_ operation: Operation, _ operationIndex: Int, _ roles: TensorRoles) -> Int? {
        guard sequenceParallel, !operation.op.isContraction else { return nil }
        guard let index = roles.sequenceIndex[operationIndex], operation.indexSpace.resultCarries(index) else { return nil }
        return index
    }
}
