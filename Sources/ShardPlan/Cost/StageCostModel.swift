/// Prices one pipeline stage: every op's kernels under its strategy, every layout change between ops
/// (forward and backward), the gradient synchronisation and optimizer step of the stage's parameters, and
/// the memory each device needs. The search and `shardplan score` both go through this one model.
public struct StageCostModel: Sendable {
    public let graph: Graph
    public let kernels: KernelModel
    public private(set) var options: TrainingOptions
    /// Microbatches per iteration (each device of the stage processes its share of each).
    public let microbatches: Int
    let roles: TensorRoles
    let gradients: GradientFlow
    let fusion: KernelFusion
    let linearLayers: LinearLayers
    let consumers: [[Int]]
    let sequenceLength: Int?

    public init(graph: Graph, kernels: KernelModel, options: TrainingOptions, microbatches: Int) {
        self.graph = graph
        self.kernels = kernels
        self.options = options
        self.microbatches = microbatches
        roles = TensorRoles(graph)
        gradients = GradientFlow(graph)
        fusion = KernelFusion(graph)
        linearLayers = LinearLayers(graph)
        consumers = graph.consumers()
        let roles = self.roles
        sequenceLength = graph.inputs.first { roles.sequenceDimension[$0.rawValue] != nil }
            .map { graph[$0].type.shape[roles.sequenceDimension[$0.rawValue]!] }
    }

    public func operatorModel(meshShape: [Int]) -> OperatorCostModel {
        OperatorCostModel(graph: graph, kernels: kernels, meshShape: meshShape, microbatches: microbatches,
                          precision: options.precision, fp8Recipe: options.fp8Recipe,
                          roles: roles, gradients: gradients, fusion: fusion, linearLayers: linearLayers)
    }

    /// The same model with another recomputation mode (for a stage that recomputes unlike the plan).
    public func recomputing(_ mode: RecomputeMode) -> StageCostModel {
        var model = self
        model.options.recompute = mode
        return model
    }

    /// The cost of `stage` on each of its devices, with the stage's own recomputation when it has one.
    public func cost(of stage: StageLayout) -> StageCost {
        if let mode = stage.recompute, mode != options.recompute { return recomputing(mode).cost(of: stage) }
        let mesh = stage.mesh
        let model = operatorModel(meshShape: mesh.shape)
        var cost = StageCost()
        let overlapShare = options.overlapTensorParallelCommunication ? 1 - TrainingOptions.tensorParallelOverlapFraction : 1
        func charge(_ collectives: [Collective], forward: Bool, scale: Double = 1) {
            for collective in collectives where collective.bytes > 0 {
                let seconds = mesh.seconds(for: collective) * overlapShare * scale
                cost.communicationSeconds[collective.kind, default: 0] += seconds
                cost.communicationBytes[collective.kind, default: 0] += collective.bytes * scale
                cost.communicationBytesByAxes[collective.axes.sorted(), default: [:]][collective.kind, default: 0] += collective.bytes * scale
                if forward { cost.forwardCommunicationSeconds += seconds } else { cost.backwardCommunicationSeconds += seconds }
            }
        }
        var forwardSecondsByOp: [Int: Double] = [:]
        var fp8ByOp: [Int: OperatorCost.FP8Use] = [:]
        var arrivalLayouts: [ValueID: ShardingSpec] = [:]
        for operationIndex in stage.operations {
            let operation = graph.operations[operationIndex]
            for (operand, input) in operation.inputs.enumerated() where arrivalLayouts[input] == nil && !graph[input].isParameter
                && !(graph[input].operationIndex.map(stage.operations.contains) ?? false) {
                arrivalLayouts[input] = stage.strategy(of: operationIndex).operandSpec(operand, in: operation.indexSpace)
            }
        }
        for operationIndex in stage.operations {
            let operation = graph.operations[operationIndex]
            let strategy = stage.strategy(of: operationIndex)
            let space = operation.indexSpace
            let opCost = model.cost(operationIndex, strategy)
            cost.computeSeconds[opCost.category, default: 0] += opCost.forwardSeconds + opCost.backwardSeconds
            cost.forwardComputeSeconds += opCost.forwardSeconds
            cost.backwardComputeSeconds += opCost.backwardSeconds
            cost.forwardFLOPs += opCost.forwardFLOPs
            forwardSecondsByOp[operationIndex] = opCost.forwardSeconds
            if let fp8 = opCost.fp8 {
                fp8ByOp[operationIndex] = fp8
                cost.weightBytes += fp8.weightCopyBytes
            }
            charge(opCost.forwardCollectives, forward: true)
            charge(opCost.backwardCollectives, forward: false)
            for (operand, input) in operation.inputs.enumerated() where !graph[input].isParameter {
                let wanted = strategy.operandSpec(operand, in: space)
                let type = graph[input].type
                let elements = model.localElements(input, .replicated(rank: type.rank))
                if let producerIndex = graph[input].operationIndex, stage.operations.contains(producerIndex) {
                    let produced = stage.strategy(of: producerIndex).resultSpec(in: graph.operations[producerIndex].indexSpace)
                    charge(Resharding.collectives(from: produced, to: wanted, elementCount: elements,
                                                  bytesPerElement: type.dtype.byteSize, meshShape: mesh.shape), forward: true)
                    if gradients[input] {
                        charge(Resharding.collectives(from: strategy.gradientSpec(operand, in: space), to: produced.reduced,
                                                      elementCount: elements, bytesPerElement: type.dtype.byteSize,
                                                      meshShape: mesh.shape), forward: false)
                    }
                } else {
                    // The tensor arrives (from an earlier stage, or as a graph input) in the layout its first
                    // reader in the stage wants; other readers reshard it from there, and every reader's
                    // gradient goes back to it reduced (the runner's step does the same, Docs/jax.md).
                    let arrived = arrivalLayouts[input]!
                    charge(Resharding.collectives(from: arrived, to: wanted, elementCount: elements,
                                                  bytesPerElement: type.dtype.byteSize, meshShape: mesh.shape), forward: true)
                    if gradients[input] {
                        charge(Resharding.collectives(from: strategy.gradientSpec(operand, in: space), to: arrived,
                                                      elementCount: elements, bytesPerElement: type.dtype.byteSize,
                                                      meshShape: mesh.shape), forward: false)
                    }
                }
            }
        }
        for (collectives, forward) in addParameters(of: stage, model: model, to: &cost) {
            charge(collectives, forward: forward)
        }
        addActivations(of: stage, model: model, forwardSecondsByOp: forwardSecondsByOp, fp8ByOp: fp8ByOp, to: &cost)
        return cost
    }

    /// Weights, gradients and optimizer state of the stage's parameters, their gradient synchronisation and
    /// optimizer step. A parameter is stored in the layout its first reader wants; ZeRO shards it further
    /// over the axes along which its gradient is partial (the data-parallel axes).
    /// Returns the per-microbatch collectives the parameters need (resharding for readers that want another
    /// layout, ZeRO-3 gathers), for the caller to charge, with whether each is in the forward pass.
    private func addParameters(of stage: StageLayout, model: OperatorCostModel,
                               to cost: inout StageCost) -> [(collectives: [Collective], forward: Bool)] {
        var perMicrobatch: [(collectives: [Collective], forward: Bool)] = []
        let mesh = stage.mesh
        var readers: [ValueID: [(operation: Int, operand: Int)]] = [:]
        var order: [ValueID] = []
        for operationIndex in stage.operations {
            for (operand, input) in graph.operations[operationIndex].inputs.enumerated() where graph[input].isParameter {
                if readers[input] == nil { order.append(input) }
                readers[input, default: []].append((operationIndex, operand))
            }
        }
        // Gradients are reduced in large buckets (PyTorch DDP, Megatron's grad buffer), so the collectives of
        // all parameters along the same axes are priced as one.
        struct BucketKey: Hashable { var kind: CollectiveKind; var axes: [Int] }
        var bucketed: [BucketKey: Double] = [:]
        for parameter in order {
            let type = graph[parameter].type
            let elements = Double(type.elementCount)
            let uses = readers[parameter]!
            let first = uses[0]
            let firstSpace = graph.operations[first.operation].indexSpace
            let stored = stage.strategy(of: first.operation).operandSpec(first.operand, in: firstSpace)
            let dataParallelAxes = stage.strategy(of: first.operation).gradientSpec(first.operand, in: firstSpace).partialAxes
            let dataParallel = Double(dataParallelAxes.reduce(1) { $0 * mesh.shape[$1] })
            let local = elements / Double(stored.totalSplitFactor(meshShape: mesh.shape))
            let zeroStage = max(options.zeroStage, stage.strategy(of: first.operation).zeroStage)
            let state = ParameterState(elements: local, dataParallel: dataParallel, zeroStage: zeroStage)
            cost.weightBytes += state.weightBytes
            cost.gradientBytes += state.gradientBytes
            cost.optimizerStateBytes += state.optimizerStateBytes
            cost.optimizerSeconds += kernels.memorySeconds(bytes: state.optimizerStepBytes)
            // Every microbatch adds its weight gradient into the fp32 gradient buffer (Megatron's main_grad).
            let accumulation = kernels.streamSeconds(bytes: state.gradientAccumulationBytes)
            cost.backwardComputeSeconds += accumulation
            cost.computeSeconds[.memoryBound, default: 0] += accumulation
            for use in uses {
                let space = graph.operations[use.operation].indexSpace
                let strategy = stage.strategy(of: use.operation)
                let wanted = strategy.operandSpec(use.operand, in: space)
                // A reader that wants another layout than the stored one reshards every microbatch.
                perMicrobatch.append((Resharding.collectives(from: stored, to: wanted, elementCount: elements,
                                                             bytesPerElement: type.dtype.byteSize, meshShape: mesh.shape), true))
                let gradient = Resharding.collectives(from: strategy.gradientSpec(use.operand, in: space), to: stored,
                                                      elementCount: elements, bytesPerElement: type.dtype.byteSize,
                                                      meshShape: mesh.shape)
                for collective in gradient {
                    bucketed[BucketKey(kind: collective.kind, axes: collective.axes.sorted()), default: 0] += collective.bytes
                }
            }
            if zeroStage >= 3 && dataParallel > 1 {
                // Weights are gathered before each use in the forward and again in the backward pass.
                let gather = Collective(.allGather, axes: dataParallelAxes, bytes: local * Double(type.dtype.byteSize))
                perMicrobatch.append(([gather], true))
                perMicrobatch.append(([gather], false))
            }
        }
        for (key, bytes) in bucketed.sorted(by: { "\($0.key.kind.rawValue)\($0.key.axes)" < "\($1.key.kind.rawValue)\($1.key.axes)" }) {
            cost.gradientSynchronizationSeconds += mesh.seconds(for: Collective(key.kind, axes: key.axes, bytes: bytes))
            cost.gradientSynchronizationBytes[key.kind, default: 0] += bytes
            cost.gradientSynchronizationBytesByAxes[key.axes, default: [:]][key.kind, default: 0] += bytes
        }
        return perMicrobatch
    }

    /// Activations kept per microbatch, and the recomputation that trades them for time.
    private func addActivations(of stage: StageLayout, model: OperatorCostModel, forwardSecondsByOp: [Int: Double],
                                fp8ByOp: [Int: OperatorCost.FP8Use], to cost: inout StageCost) {
        var kept: [Int: Double] = [:]
        var keptByLayer: [[Int: Double]] = []
        var recomputed = Set<ValueID>()
        var layerInputs: [ValueID: Double] = [:]
        var currentLayer: String?? = nil
        var layerStart = stage.operations.lowerBound
        for operationIndex in stage.operations {
            let operation = graph.operations[operationIndex]
            let strategy = stage.strategy(of: operationIndex)
            let space = operation.indexSpace
            if currentLayer == nil || currentLayer! != operation.layer {
                currentLayer = .some(operation.layer)
                keptByLayer.append([:])
                layerStart = operationIndex
            }
            let saved = OperationCost.savedForBackward(operation, in: graph, gradients: gradients)
            // Each kept tensor is keyed by the tensor it describes; masks and statistics are keyed by their
            // op (a negative key) so they never merge with a tensor.
            var entries: [(key: Int, describes: ValueID, bytes: Double)] = []
            for tensor in saved.tensors where !graph[tensor].isParameter {
                if tensor == operation.result {
                    entries.append((tensor.rawValue, tensor, model.localBytes(tensor, strategy.resultSpec(in: space))))
                } else if let operand = operation.inputs.firstIndex(of: tensor) {
                    var bytes = model.localBytes(tensor, strategy.operandSpec(operand, in: space))
                    if let fp8 = fp8ByOp[operationIndex], fp8.inputOperand == operand, let kept = fp8.savedInputBytesPerElement {
                        bytes *= kept / Double(graph[tensor].type.dtype.byteSize)
                    }
                    // A tensor the op gathered is kept as its producer laid it out and gathered again in the
                    // backward pass (Megatron's sequence parallelism, Korthikanti et al. 2022 section 4.2.2).
                    if let producer = graph[tensor].operationIndex, stage.operations.contains(producer) {
                        let produced = stage.strategy(of: producer).resultSpec(in: graph.operations[producer].indexSpace).reduced
                        bytes = min(bytes, model.localBytes(tensor, produced))
                    }
                    entries.append((tensor.rawValue, tensor, bytes))
                }
            }
            if saved.auxiliaryBytes > 0 {
                // Masks and statistics shrink with the op's first operand (or its result).
                let reference = operation.inputs.first ?? operation.result
                let spec = operation.inputs.isEmpty ? strategy.resultSpec(in: space) : strategy.operandSpec(0, in: space)
                let share = model.localElements(reference, spec) / Double(max(graph[reference].type.elementCount, 1))
                entries.append((-1 - operationIndex, operation.result, Double(saved.auxiliaryBytes) * share))
            }
            for entry in entries {
                if options.recompute == .selective && isAttentionCore(entry.describes) {
                    if recomputed.insert(entry.describes).inserted {
                        let producer = graph[entry.describes].operationIndex ?? operationIndex
                        cost.recomputeSeconds += forwardSecondsByOp[producer] ?? 0
                    }
                    continue
                }
                kept[entry.key] = max(kept[entry.key] ?? 0, entry.bytes)
                keptByLayer[keptByLayer.count - 1][entry.key] = max(keptByLayer[keptByLayer.count - 1][entry.key] ?? 0, entry.bytes)
            }
            for (operand, input) in operation.inputs.enumerated() where !graph[input].isParameter {
                let producedInLayer = graph[input].operationIndex.map { $0 >= layerStart && $0 < operationIndex } ?? false
                if !producedInLayer {
                    layerInputs[input] = max(layerInputs[input] ?? 0, model.localBytes(input, strategy.operandSpec(operand, in: space)))
                }
            }
        }
        switch options.recompute {
        case .none, .selective:
            cost.activationBytesPerMicrobatch = kept.values.reduce(0, +)
        case .full:
            cost.activationBytesPerMicrobatch = layerInputs.values.reduce(0, +)
            cost.recomputeWorkingBytes = keptByLayer.map { $0.values.reduce(0, +) }.max() ?? 0
            cost.recomputeSeconds = cost.forwardSeconds
        }
        cost.backwardComputeSeconds += cost.recomputeSeconds
    }

    /// Tensors with two dimensions as long as the sequence: the attention scores, probabilities and their
    /// dropout masks, which selective recomputation drops.
    func isAttentionCore(_ value: ValueID) -> Bool {
        guard let sequenceLength, sequenceLength > 1 else { return false }
        return graph[value].type.shape.filter { $0 == sequenceLength }.count >= 2
    }
}
