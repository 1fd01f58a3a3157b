/// Megatron-LM's hand-designed layout expressed as one `OpStrategy` per op on a `[data, tensor]` mesh, so
/// that a manual plan is priced by exactly the machinery the search uses.
///
/// The rules (Shoeybi et al. 2019; Korthikanti et al. 2022), applied op by op in graph order:
/// - the data axis splits every op's batch index;
/// - a contraction with a weight whose activation operand is split along an index the weight also carries
///   is row-parallel (the weight's input dimension is split, the result is a partial sum); otherwise it is
///   column-parallel (the first output-only index of the weight that the tensor-parallel size divides, so a
///   head-aligned QKV weight splits heads);
/// - except a down-projection to a latent that a norm then reduces as a whole (every output-only index of the
///   weight lies along a normalized dimension, after slices and casts): it is duplicated on every
///   tensor-parallel rank, its norm sees whole rows, and the up-projection after the norm, reading an
///   activation that is not split, is column-parallel over heads. Under sequence parallelism the down-projection
///   keeps its input's sequence split and the small normalized latent is gathered before the up-projection, not
///   the hidden state before the down-projection. A size-1 dimension a broadcast expands to every head (the
///   rotary key shared by all heads) is split as the head-split tensor it is joined to, so only that small key
///   is gathered. This is DeepSeek's multi-head latent attention as Megatron-Core lays it out
///   (`megatron/core/transformer/multi_latent_attention.py`, `MLASelfAttention`: `linear_q_down_proj` and
///   `linear_kv_down_proj` are built as duplicated `TELinear`s, the up-projections as column-parallel linears
///   with the latent norms fused in, `linear_proj` row-parallel; under sequence parallelism the shared rotary
///   key is gathered along the sequence; `megatron/core/models/gpt/gpt_layer_specs.py` picks these modules).
///   QK-norm (per-head norms after a head-split projection) is not affected: its norm covers the head
///   dimension only, not the heads;
/// - the embedding is vocabulary-parallel (partial sums), and the loss reads the output layer's logits split along
///   the vocabulary; either can instead run whole on every tensor-parallel rank (`vocabularyParallelEmbedding`,
///   `vocabularyParallelLoss`, as KempnerForge's and torchtitan's `disable_loss_parallel` plans keep them);
/// - every other op follows the split of its first split operand when it can carry it (attention keeps the
///   heads split, cross-entropy the vocabulary); with sequence parallelism, ops that would otherwise be
///   replicated split the sequence instead;
/// - with context parallelism (Megatron-Core's CP), a context axis splits every op's sequence index, the
///   query sequence for attention, whose keys and values are then exchanged around that axis; hierarchical context
///   parallelism (`contextGroups`) cuts it into two, the ring's ranks and, inside them, the all-to-all group's
///   (`ContextParallelExchange.hierarchy(ringAxes:meshShape:)`), both splitting the sequence;
/// - with expert parallelism, an expert axis carved out of the data-parallel ranks splits the expert index of
///   every expert GEMM (an index the weight, the activation and the result all carry) and of the ops that
///   follow it without summing it, and the batch of every other op (expert-data parallelism, Megatron-Core's
///   EP inside DP). Megatron-Core lays the expert-parallel ranks out after the expert tensor-parallel ones
///   (its experts' rank order `tp-ep-dp-pp`), so expert parallelism folds over the context-parallel ranks
///   (`expertsOverContext`) and, with expert tensor parallelism 1, over the tensor-parallel ranks too
///   (`expertsOverTensor`, MoE parallel folding: the expert GEMMs are not tensor-parallel, their experts are
///   split over the tensor axis as well); those axes then split the expert index of the expert ops;
/// - with hybrid sharding, the data-parallel ranks are two axes, the replicas and the shard groups inside them
///   (`HybridSharding`), and both split the batch.
public struct MegatronLayout: Sendable {
    public var sequenceParallel: Bool
    /// Whether the data-parallel ranks are split into replicas (axis 0) and shard groups (axis 1).
    public var shardGroups: Bool
    /// Whether the mesh has an expert axis (then it is the axis after the data axes).
    public var expertParallel: Bool
    /// Whether the mesh has a context axis (just before the tensor axis).
    public var contextParallel: Bool
    /// Whether the context-parallel ranks are two axes, the ring's and the all-to-all group's inside them (hierarchical
    /// context parallelism, Megatron-Core's `--hierarchical-context-parallel-sizes`).
    public var contextGroups: Bool
    /// Whether the expert ops split their experts over the context axis too (expert parallelism folded over the
    /// context-parallel ranks, as Megatron-Core orders expert ranks), rather than the sequence.
    public var expertsOverContext: Bool
    /// Whether the expert ops split their experts over the tensor axis too rather than tensor-splitting each expert
    /// (expert tensor parallelism 1, Megatron-Core's `--expert-tensor-parallel-size 1`).
    public var expertsOverTensor: Bool
    /// Whether the embedding splits its vocabulary over the tensor axis (Megatron's `VocabParallelEmbedding`, the
    /// default); false keeps the whole table on every tensor-parallel rank, sharded only over data-parallel ones,
    /// and looks up the whole sequence there.
    public var vocabularyParallelEmbedding: Bool
    /// Whether the loss reads the logits split along the vocabulary (Megatron's vocabulary-parallel cross-entropy,
    /// torchtitan's `loss_parallel`, the default); false gathers the whole logits on every tensor-parallel rank
    /// and runs the loss there (the output layer's `ColwiseParallel(output_layouts=Replicate())`).
    public var vocabularyParallelLoss: Bool

    /// Mesh axis 0 is data parallelism, the last axis tensor parallelism (axis 1 of a `[data, tensor]` mesh).
    public static let dataAxis = 0
    public static let tensorAxis = 1

    public init(sequenceParallel: Bool = false, shardGroups: Bool = false, expertParallel: Bool = false,
                contextParallel: Bool = false, contextGroups: Bool = false, expertsOverContext: Bool = false,
                expertsOverTensor: Bool = false, vocabularyParallelEmbedding: Bool = true, vocabularyParallelLoss: Bool = true) {
        self.sequenceParallel = sequenceParallel
        self.shardGroups = shardGroups
        self.expertParallel = expertParallel
        self.contextParallel = contextParallel
        self.contextGroups = contextParallel && contextGroups
        self.expertsOverContext = expertsOverContext
        self.expertsOverTensor = expertsOverTensor
        self.vocabularyParallelEmbedding = vocabularyParallelEmbedding
        self.vocabularyParallelLoss = vocabularyParallelLoss
    }

    /// The mesh axes in Megatron's rank order (tensor innermost, then context, expert, data): `[data, tensor]`,
    /// with the shard groups, `expert` and `context` (with its all-to-all groups after it) between them when present.
    public var axisCount: Int { 2 + (shardGroups ? 1 : 0) + (expertParallel ? 1 : 0) + (contextParallel ? 1 : 0) + (contextGroups ? 1 : 0) }
    var shardAxis: Int? { shardGroups ? 1 : nil }
    var expertAxis: Int? { expertParallel ? (shardGroups ? 2 : 1) : nil }
    var contextAxis: Int? { contextParallel ? axisCount - (contextGroups ? 3 : 2) : nil }
    var contextGroupAxis: Int? { contextGroups ? axisCount - 2 : nil }

    /// One strategy per op of `graph` on a `[data, (shard), (expert), (context), (context group), tensor]` mesh of `meshShape`.
    public func strategies(for graph: Graph, meshShape: [Int], roles: TensorRoles? = nil) -> [OpStrategy] {
        precondition(meshShape.count == axisCount, "a Megatron mesh of \(axisCount) axes, found \(meshShape)")
        let roles = roles ?? TensorRoles(graph)
        let tensorAxis = axisCount - 1
        let tensorParallel = meshShape[tensorAxis]
        var strategies: [OpStrategy] = []
        strategies.reserveCapacity(graph.operations.count)
        // The dimension of each value split along the tensor axis (ignoring partial sums, which a consumer
        // always receives reduced).
        var tensorSplitDimension = Array<Int?>(repeating: nil, count: graph.values.count)
        // Whether each value is a partial sum over the tensor axis (a row-parallel product's result, before its reduction).
        var tensorPartial = Array(repeating: false, count: graph.values.count)
        // The dimension of each value split along the expert axis, and the dimension an expert GEMM wants
        // split of each activation it reads (so that the op producing it, the permutation, splits it there and
        // the all-to-all happens once, before it, whatever the number of expert GEMMs reading it).
        var expertSplitDimension = Array<Int?>(repeating: nil, count: graph.values.count)
        var expertWantedDimension = Array<Int?>(repeating: nil, count: graph.values.count)
        // The axes that split an expert op's experts, major to minor (Megatron-Core's expert rank order).
        let expertAxes = [expertAxis, expertsOverContext ? contextAxis : nil, expertsOverContext ? contextGroupAxis : nil,
                          expertsOverTensor ? tensorAxis : nil]
            .compactMap { $0 }.filter { meshShape[$0] > 1 }
        if !expertAxes.isEmpty {
            for operation in graph.operations {
                guard let (index, weight) = Self.expertGEMMIndex(operation, graph: graph) else { continue }
                let input = 1 - weight
                expertWantedDimension[operation.inputs[input].rawValue] = operation.indexSpace.operandIndices[input].firstIndex(of: index)
            }
        }
        // The strategy each wanted assignment settles on, per op shape: a model repeats the same few ops in
        // every block, and checking a strategy's validity is most of this function's work.
        var settled: [SettlingQuestion: OpStrategy] = [:]
        let normalized = tensorParallel > 1 ? Self.normalizedDimensions(graph) : []
        let consumers = tensorParallel > 1 ? graph.consumers() : []
        for (operationIndex, operation) in graph.operations.enumerated() {
            let space = operation.indexSpace
            let operandShapes = operation.inputs.map { graph[$0].type.shape }
            let resultShape = graph[operation.result].type.shape
            func isValid(_ strategy: OpStrategy) -> Bool {
                strategy.isValid(for: operation, operandShapes: operandShapes, resultShape: resultShape, meshShape: meshShape)
            }
            var assignment = Array<Int?>(repeating: nil, count: axisCount)
            if meshShape[Self.dataAxis] > 1 { assignment[Self.dataAxis] = roles.batchIndex[operationIndex] }
            if let shardAxis, meshShape[shardAxis] > 1 { assignment[shardAxis] = roles.batchIndex[operationIndex] }
            // The index an expert op splits over the expert axes; nil for every other op.
            let experts = expertAxes.isEmpty ? nil : expertIndex(operation, graph: graph, splitDimension: expertSplitDimension,
                                                                 wantedDimension: expertWantedDimension[operation.result.rawValue])
            if let expertAxis, meshShape[expertAxis] > 1 { assignment[expertAxis] = experts ?? roles.batchIndex[operationIndex] }
            for axis in [contextAxis, contextGroupAxis].compactMap({ $0 }) where meshShape[axis] > 1 {
                assignment[axis] = (expertsOverContext ? experts : nil) ?? roles.sequenceIndex[operationIndex]
            }
            if tensorParallel > 1 {
                // Under context and sequence parallelism both axes split the sequence of a norm (context major).
                assignment[tensorAxis] = expertsOverTensor && experts != nil ? experts
                    : tensorIndex(operation, operationIndex, graph: graph, roles: roles, splitDimension: tensorSplitDimension,
                                  partial: tensorPartial, normalized: normalized, consumers: consumers, size: tensorParallel)
            }
            let question = SettlingQuestion(space: space, operandShapes: operandShapes, resultShape: resultShape, wanted: assignment)
            let strategy: OpStrategy
            if let known = settled[question] {
                strategy = known
            } else {
                var candidate = OpStrategy(indexOfAxis: assignment)
                // Give up splits in order of preference until the strategy divides its dimensions: tensor, then
                // context, then expert, then the shard groups, then data.
                for axis in [tensorAxis, contextGroupAxis, contextAxis, expertAxis, shardAxis, Self.dataAxis].compactMap({ $0 }) where !isValid(candidate) {
                    candidate.indexOfAxis[axis] = nil
                }
                strategy = isValid(candidate) ? candidate : .replicated(axisCount: axisCount)
                settled[question] = strategy
            }
            strategies.append(strategy)
            let result = strategy.resultSpec(in: space)
            // Experts split over the tensor axis are not a tensor-parallel split for the ops after them to follow.
            let expertsOnTensor = expertsOverTensor && experts != nil && strategy.indexOfAxis[tensorAxis] == experts
            tensorSplitDimension[operation.result.rawValue] = expertsOnTensor ? nil : result.dimension(splitBy: tensorAxis)
            tensorPartial[operation.result.rawValue] = result.partialAxes.contains(tensorAxis)
            if let experts, let axis = expertAxes.first, strategy.indexOfAxis[axis] == experts,
               experts != roles.batchIndex[operationIndex] {
                expertSplitDimension[operation.result.rawValue] = result.dimension(splitBy: axis)
            }
        }
        return strategies
    }

    /// What decides the strategy an op settles on, given the splits wanted for it: its iteration space, its
    /// operands' and result's shapes, and the wanted index per mesh axis (the mesh shape is fixed per call).
    private struct SettlingQuestion: Hashable {
        var space: IndexSpace
        var operandShapes: [[Int]]
        var resultShape: [Int]
        var wanted: [Int?]
    }

    /// The index the expert axis splits: the expert index of an expert GEMM (one its weight, its activation and
    /// its result all carry), or the split of an expert-parallel operand when this op keeps that index in its
    /// result (an activation between the two expert GEMMs); nil where the batch is split instead (the
    /// dispatch before the experts and the combine after them, which move tokens with all-to-alls).
    private func expertIndex(_ operation: Operation, graph: Graph, splitDimension: [Int?], wantedDimension: Int?) -> Int? {
        let space = operation.indexSpace
        if let (index, _) = Self.expertGEMMIndex(operation, graph: graph) { return index }
        // The op producing an expert GEMM's input (the permutation) splits the dimension that GEMM wants.
        if let wantedDimension, let index = space.resultIndices[wantedDimension], space.indices[index].role != .unsplittable {
            return index
        }
        for (operand, input) in operation.inputs.enumerated() {
            guard let dimension = splitDimension[input.rawValue], let index = space.operandIndices[operand][dimension] else { continue }
            return space.resultCarries(index) ? index : nil
        }
        return nil
    }

    /// The expert index of an expert GEMM, one its weight, its activation and its result all carry, with the
    /// weight's operand position; nil for any other op.
    static func expertGEMMIndex(_ operation: Operation, graph: Graph) -> (index: Int, weightOperand: Int)? {
        guard operation.op.isContraction, operation.inputs.count == 2 else { return nil }
        let weights = operation.inputs.indices.filter { graph[operation.inputs[$0]].isParameter }
        guard weights.count == 1 else { return nil }
        let space = operation.indexSpace
        let weight = Set(space.operandIndices[weights[0]].compactMap { $0 })
        let activation = Set(space.operandIndices[1 - weights[0]].compactMap { $0 })
        return space.resultIndices.compactMap { $0 }.first { weight.contains($0) && activation.contains($0) }.map { ($0, weights[0]) }
    }

    private func tensorIndex(_ operation: Operation, _ operationIndex: Int, graph: Graph, roles: TensorRoles,
                             splitDimension: [Int?], partial: [Bool], normalized: [Set<Int>], consumers: [[Int]], size: Int) -> Int? {
        let space = operation.indexSpace
        // The index each operand is split along on the tensor axis, if any.
        let operandSplit: [Int?] = operation.inputs.enumerated().map { operand, input in
            splitDimension[input.rawValue].flatMap { space.operandIndices[operand][$0] }
        }
        switch operation.op {
        case .embedding:
            return vocabularyParallelEmbedding ? space.indices.firstIndex { $0.name == "vocab" } : nil
        case .crossEntropy where !vocabularyParallelLoss:
            return nil
        case .einsum, .matmul:
            let weights = operation.inputs.indices.filter { graph[operation.inputs[$0]].isParameter }
            if weights.count == 1, let weight = weights.first {
                let weightIndices = space.operandIndices[weight].compactMap { $0 }
                // Row-parallel: the activation is split along an index the weight carries.
                for (operand, split) in operandSplit.enumerated() where operand != weight {
                    if let split, weightIndices.contains(split), space.indices[split].role == .summed { return split }
                }
                // A LoRA adapter (`LowRankAdapter`) splits as Megatron's LoRA layers do: beside a row-parallel layer
                // `A` takes the split input (above) and gives a partial sum of the rank, which `B`, whole, reads reduced;
                // beside a column-parallel one `A` is whole, on the input as it arrives (its sequence split under
                // sequence parallelism, so that only the small rank-wide result is gathered), and `B` splits the
                // outputs as the layer does. The rank is never split.
                switch LowRankAdapter(parameterName: graph[operation.inputs[weight]].name) {
                case .down: return followedIndex(space, operandSplit)
                case .up where operation.inputs.indices.contains(where: { $0 != weight && partial[operation.inputs[$0].rawValue] }): return nil
                case .up, nil: break
                }
                let activationIndices = Set(operation.inputs.indices.filter { $0 != weight }
                    .flatMap { space.operandIndices[$0].compactMap { $0 } })
                let outputIndices = weightIndices.filter { space.resultCarries($0) && !activationIndices.contains($0) }
                // Duplicated: a down-projection to a latent that is normalized as a whole (every output-only index
                // of the weight lies along a dimension a norm reduces) runs on every tensor-parallel rank, so that
                // the norm sees whole rows; under sequence parallelism it keeps its input's sequence split.
                let outputDimensions = outputIndices.compactMap { space.resultIndices.firstIndex(of: $0) }
                if !outputDimensions.isEmpty, normalized[operation.result.rawValue].isSuperset(of: outputDimensions) {
                    return operandSplit.enumerated().lazy.filter { $0.offset != weight }.compactMap(\.element)
                        .first { space.resultCarries($0) }
                }
                // Column-parallel: the first output-only index of the weight that splits evenly.
                return outputIndices.first { index in
                    space.indices[index].size % size == 0 && space.indices[index].size >= size
                }
            }
            return followedIndex(space, operandSplit) ?? sequenceIndex(operation, operationIndex, roles)
        case .broadcast:
            return siblingSplit(operation, graph: graph, splitDimension: splitDimension, consumers: consumers)
                ?? followedIndex(space, operandSplit) ?? sequenceIndex(operation, operationIndex, roles)
        default:
            return followedIndex(space, operandSplit) ?? sequenceIndex(operation, operationIndex, roles)
        }
    }

    /// For each value, the dimensions along which a norm (layer or RMS) reduces it, directly or after slices and
    /// casts (which keep every dimension where it is): the dimensions Megatron never splits on the tensor axis.
    static func normalizedDimensions(_ graph: Graph) -> [Set<Int>] {
        var normalized = Array(repeating: Set<Int>(), count: graph.values.count)
        for operation in graph.operations.reversed() {
            guard let operand = operation.inputs.first?.rawValue else { continue }
            switch operation.op {
            case .layerNorm(let axes), .rmsNorm(let axes):
                normalized[operand].formUnion(axes)
            case .slice, .cast:
                normalized[operand].formUnion(normalized[operation.result.rawValue])
            default:
                break
            }
        }
        return normalized
    }

    /// A dimension of size 1 that a broadcast expands (one head shared by every head: latent attention's rotary
    /// key) and that a reader of its result already has split in another operand (the head-split keys it is
    /// joined to): the broadcast then expands to the local heads only, its operand stays whole on the tensor
    /// axis, and the gradient flowing back is a partial sum of the small operand (Megatron-Core expands the
    /// shared rotary key to the local heads, `multi_latent_attention.py`). Nil for any other broadcast.
    private func siblingSplit(_ operation: Operation, graph: Graph, splitDimension: [Int?], consumers: [[Int]]) -> Int? {
        guard case .broadcast(let shape, let dimensions) = operation.op else { return nil }
        let space = operation.indexSpace
        let operandShape = graph[operation.inputs[0]].type.shape
        let created = Set(dimensions.indices.filter { operandShape[$0] == 1 && shape[dimensions[$0]] > 1 }
            .compactMap { space.resultIndices[dimensions[$0]] })
        guard !created.isEmpty else { return nil }
        for reader in consumers[operation.result.rawValue] {
            let readerOperation = graph.operations[reader]
            let readerSpace = readerOperation.indexSpace
            guard let own = readerOperation.inputs.firstIndex(of: operation.result) else { continue }
            for (operand, input) in readerOperation.inputs.enumerated() where input != operation.result {
                guard let dimension = splitDimension[input.rawValue], let index = readerSpace.operandIndices[operand][dimension],
                      let position = readerSpace.operandIndices[own].firstIndex(of: index),
                      let candidate = space.resultIndices[position], created.contains(candidate) else { continue }
                return candidate
            }
        }
        return nil
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
