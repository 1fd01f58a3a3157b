/// `StageCostModel`'s prices split into the terms of a `ShardingProblem`: what one op costs under one
/// strategy (its kernels, its own collectives, the gradient synchronisation, optimizer step and memory of
/// the parameters it reads first, the activations it keeps), and what a tensor passed between two ops
/// costs for each pair of their strategies. All times are seconds per iteration on one device.
struct StageCostTerms {
    /// A tensor passed from one op to another inside the stage: an activation from its producer, a
    /// parameter from the op that reads it first (and stores it) to another reader, or a tensor that arrives
    /// from outside the stage (an earlier stage's activation, a graph input) from its first reader, in whose
    /// layout it arrives, to another reader. An activation read once in the stage is reduced, where its producer
    /// leaves partial sums, by the layout change into its reader (`activation`); one that several operands read
    /// (`StageCostModel.sharedActivations`) is all-reduced once, charged to the first reader (`sharedActivation`),
    /// and the others read the reduced value (`reducedActivation`), as `StageCostModel` prices it.
    struct Link: Hashable {
        enum Kind: Hashable { case activation, sharedActivation, reducedActivation, parameter, arrival }
        var from: Int
        /// For a parameter or arrival link, the operand position of the tensor in `from`; -1 for activations.
        var operand: Int
        var to: Int
        var toOperand: Int
        var kind: Kind
    }

    let model: StageCostModel
    let operations: Range<Int>
    let mesh: DeviceMesh
    let inFlight: Double
    /// Layout changes priced on `mesh` by earlier problems, if the caller keeps them.
    let prices: ReshardingPrices?
    let operatorModel: OperatorCostModel
    /// The share of a ZeRO-3 weight gather the search's terms charge beside tensor parallelism's overlap.
    let gatherShare: Double
    /// For each parameter read in the stage, and each tensor arriving from outside it, the op and operand
    /// position that read it first.
    let firstReader: [ValueID: (operation: Int, operand: Int)]
    /// Parameters that an op other than a matrix product reads first and a 16-bit product later in the stage (a
    /// tied embedding table: the lookup, then the head): autocast casts them for that product, and the exact model
    /// prices the cast and the copy from the first reader's layout, as the search then does.
    let castByLaterProduct: Set<ValueID>
    /// Under full recomputation, the parameters a product inside a checkpointed block reads: the block's rerun casts
    /// them again.
    let castAgainInRerun: Set<ValueID>
    /// For each activation an op keeps for its backward pass, the first op of the stage that keeps it, whose terms
    /// count it: the exact model keeps a tensor once however many of its readers save it. Ops in blocks that op-level
    /// selective recomputation checkpoints are apart (`rerunKeeper`): they keep by their policy.
    let keeper: [ValueID: Int]
    let rerunKeeper: [ValueID: Int]
    /// Under op-level selective recomputation, each tensor a checkpointed block keeps as its input (produced before
    /// the block, in an earlier stage or earlier in this one), with the op and operand that read it first: the
    /// exact model keeps it once, unless an op outside the blocks keeps it (`keeper`).
    let blockInputReader: [ValueID: (operation: Int, operand: Int)]
    /// Under full recomputation, each tensor a layer run reads from outside itself (a block's checkpointed input,
    /// or what a layer outside the blocks reads from another), with the op and operand that read it first: the
    /// exact model keeps these per microbatch in flight.
    let checkpointReader: [ValueID: (operation: Int, operand: Int)]
    /// For each of the stage's layer runs that rerun in the backward pass, one at a time (the blocks full
    /// recomputation reruns, or the blocks op-level selective recomputation checkpoints), the share of its bytes
    /// the search counts once: the exact model holds the largest rerun, which the mean over the stage's whole rerun
    /// runs is where they are equal; a run the stage cuts (its first or last) is part of a block, no larger than a
    /// whole one, and counts nothing beside one. Without a whole rerun run, each counts in full (at most two parts,
    /// their sum an upper bound).
    let rerunShares: [Int: Double]
    /// Under full recomputation, the layer runs whose matrix products read each parameter: the 16-bit copies autocast
    /// casts are kept by the run that reads them.
    let productRuns: [ValueID: Set<Int>]
    /// The layers whose ZeRO-3 weights are gathered again for the backward pass (`StageCostModel.layersGatheredForBackward`):
    /// the others' (frozen layers below every trained weight) are gathered before the forward pass only.
    let layersGatheredForBackward: Set<String?>

    init(model: StageCostModel, operations: Range<Int>, mesh: DeviceMesh, inFlight: Double, prices: ReshardingPrices? = nil) {
        precondition(prices.map { $0.mesh.shape == mesh.shape && $0.mesh.devices == mesh.devices } ?? true, "prices are for another mesh")
        self.model = model
        self.prices = prices
        self.operations = operations
        self.mesh = mesh
        self.inFlight = inFlight
        operatorModel = model.operatorModel(meshShape: mesh.shape)
        gatherShare = model.options.tensorParallelOverlapShare(of: .allGather)
        var first: [ValueID: (Int, Int)] = [:]
        for op in operations {
            for (operand, input) in model.graph.operations[op].inputs.enumerated()
            where first[input] == nil && !(model.graph[input].operationIndex.map(operations.contains) ?? false) {
                first[input] = (op, operand)
            }
        }
        firstReader = first
        layersGatheredForBackward = model.layersGatheredForBackward(operations)
        var later = Set<ValueID>()
        var again = Set<ValueID>()
        for op in operations {
            let operation = model.graph.operations[op]
            if model.options.recompute == .full && operation.op.isContraction && model.rerunsUnderFullRecomputation(op, within: operations) {
                again.formUnion(operation.inputs.filter { model.graph[$0].isParameter })
            }
            // Only products no FP8 recipe converts count here: which of the others runs in FP8 depends on their
            // own strategy, which this parameter's terms do not know.
            guard operation.op.isContraction, operatorModel.precision == .bf16 || model.linearLayers[op] == nil else { continue }
            for input in operation.inputs where model.graph[input].isParameter {
                if let reader = first[input], !model.graph.operations[reader.0].op.isContraction { later.insert(input) }
            }
        }
        castByLaterProduct = later
        castAgainInRerun = again
        var keeps: [ValueID: Int] = [:], rerunKeeps: [ValueID: Int] = [:]
        var reruns = Set<Int>()
        for op in operations {
            let checkpointed = model.isInOperatorCheckpointedBlock(op)
            // Under norm-act only the blocks that rerun an op hold anything again (a dense block of a model with
            // experts drops nothing).
            if checkpointed || (model.isInOutputDiscardingBlock(op) && model.operatorRecomputation.contains(op)) { reruns.insert(model.layerRun[op]) }
            let saved = OperationCost.savedForBackward(model.graph.operations[op], in: model.graph, gradients: model.gradients)
            for tensor in saved.tensors where !model.graph[tensor].isParameter && !model.isRecomputedByFusedBackward(tensor) {
                if checkpointed {
                    if rerunKeeps[tensor] == nil { rerunKeeps[tensor] = op }
                } else if keeps[tensor] == nil {
                    keeps[tensor] = op
                }
            }
        }
        keeper = keeps
        rerunKeeper = rerunKeeps
        var blockInputs: [ValueID: (Int, Int)] = [:]
        for op in operations where model.isInOperatorCheckpointedBlock(op) {
            for (operand, input) in model.graph.operations[op].inputs.enumerated() where !model.graph[input].isParameter {
                let (fate, storage) = model.operatorRecomputationFate(of: input, readBy: op, within: operations)
                if fate == .kept && blockInputs[storage] == nil { blockInputs[storage] = (op, operand) }
            }
        }
        blockInputReader = blockInputs
        var checkpoints: [ValueID: (Int, Int)] = [:]
        var readers: [ValueID: Set<Int>] = [:]
        if model.options.recompute == .full {
            for op in operations {
                let operation = model.graph.operations[op]
                let run = model.layerRun[op]
                for (operand, input) in operation.inputs.enumerated()
                where !model.graph[input].isParameter && checkpoints[input] == nil && model.runsWithBackward.contains(run) {
                    let producedInRun = model.graph[input].operationIndex.map { operations.contains($0) && model.layerRun[$0] == run } ?? false
                    if !producedInRun { checkpoints[input] = (op, operand) }
                }
                if model.rerunsUnderFullRecomputation(op, within: operations) { reruns.insert(run) }
                if operation.op.isContraction {
                    for input in operation.inputs where model.graph[input].isParameter { readers[input, default: []].insert(run) }
                }
            }
        }
        checkpointReader = checkpoints
        let layerRun = model.layerRun
        let cut: Set<Int> = operations.isEmpty ? [] : Set([
            operations.lowerBound > 0 && layerRun[operations.lowerBound - 1] == layerRun[operations.lowerBound] ? layerRun[operations.lowerBound] : nil,
            operations.upperBound < layerRun.count && layerRun[operations.upperBound] == layerRun[operations.upperBound - 1]
                ? layerRun[operations.upperBound - 1] : nil,
        ].compactMap { $0 })
        let whole = reruns.subtracting(cut)
        rerunShares = Dictionary(uniqueKeysWithValues: reruns.map { run in
            (run, whole.isEmpty ? 1 : whole.contains(run) ? 1 / Double(whole.count) : 0)
        })
        productRuns = readers
    }

    var graph: Graph { model.graph }
    var microbatches: Double { Double(model.microbatches) }

    /// Op `op`'s strategies the search may choose; under the all-to-all exchange, attention's only where each device
    /// takes whole heads (`ContextParallelExchange.splitsWholeHeads`), as TransformerEngine requires, and under
    /// hierarchical context parallelism only where each device of an all-to-all group does.
    func candidates(of op: Int) -> [OpStrategy] {
        let operation = graph.operations[op]
        let all = OpStrategy.candidates(for: operation, operandShapes: operation.inputs.map { graph[$0].type.shape },
                                        resultShape: graph[operation.result].type.shape, meshShape: mesh.shape,
                                        batchIndex: model.roles.batchIndex[op], microbatches: model.microbatches,
                                        storedParameters: operation.inputs.indices.filter { operand in
                                            graph[operation.inputs[operand]].isParameter
                                                && firstReader[operation.inputs[operand]].map { $0.operation == op && $0.operand == operand } ?? false
                                        }, maximumZeroStage: model.options.maximumZeroStage, zeroOne: model.options.searchesZeroOne)
        let exchange = model.options.contextParallelCommunication
        guard exchange == .allToAll || exchange == .hierarchical, case .attention = operation.op else { return all }
        return all.filter { ContextParallelExchange.splitsWholeHeads(operation, $0, in: graph, meshShape: mesh.shape, communication: exchange) }
    }

    func seconds(_ collectives: [Collective]) -> Double {
        collectives.reduce(0) { $0 + ($1.bytes > 0 ? mesh.seconds(for: $1) : 0) }
    }

    /// The seconds of `collectives` that show beside the options' overlaps: tensor parallelism's (`--overlap-tp-comm`)
    /// hides part of each but an all-to-all where they are `behindGEMM` (`StageCostModel.overlapsOwnCollectives`),
    /// expert parallelism's (`--overlap-moe-comm`) the all-to-alls (`TrainingOptions.searchOverlapShare`).
    func shownSeconds(_ collectives: [Collective], behindGEMM: Bool = true) -> Double {
        collectives.reduce(0) { total, collective in
            guard collective.bytes > 0 else { return total }
            let share = behindGEMM || collective.kind == .allToAll
                ? model.options.searchOverlapShare(of: collective.kind, microbatches: model.microbatches) : 1
            return total + mesh.seconds(for: collective) * share
        }
    }

    /// Seconds one device spends changing `value`'s layout from `source` to `target`; with `overlapped`, what shows
    /// beside the options' overlaps (`shownSeconds`), tensor parallelism's only where the change is `behindGEMM`
    /// (`StageCostModel.overlapsLayoutChange`). `bytesPerElement` overrides the tensor's own (an FP8 gather).
    func reshardSeconds(_ value: ValueID, from source: ShardingSpec, to target: ShardingSpec, bytesPerElement: Int? = nil,
                        overlapped: Bool = false, behindGEMM: Bool = true) -> Double {
        if source == target { return 0 }
        let type = graph[value].type
        let change = ReshardingPrices.Change(elementCount: operatorModel.localElements(value, .replicated(rank: type.rank)),
                                             bytesPerElement: bytesPerElement ?? type.dtype.byteSize, source: source, target: target,
                                             dispatch: model.tokenDispatch(of: value))
        let price = prices?.price(of: change) ?? {
            let collectives = Resharding.collectives(from: source, to: target, elementCount: change.elementCount,
                                                     bytesPerElement: change.bytesPerElement, meshShape: mesh.shape,
                                                     dispatch: change.dispatch)
            let answer = ReshardingPrices.Price(seconds: seconds(collectives),
                                                allToAllSeconds: seconds(collectives.filter { $0.kind == .allToAll }))
            prices?.remember(change, price: answer)
            return answer
        }()
        guard overlapped else { return price.seconds }
        return (price.seconds - price.allToAllSeconds)
            * (behindGEMM ? model.options.searchOverlapShare(of: .allGather, microbatches: model.microbatches) : 1)
            + price.allToAllSeconds * model.options.searchOverlapShare(of: .allToAll, microbatches: model.microbatches)
    }

    /// Whether the backward pass reruns op `op`'s forward pass: full recomputation's blocks, selective
    /// recomputation's attention, and the ops of an op-level mode's set (empty under any other mode).
    func reruns(_ op: Int) -> Bool {
        switch model.options.recompute {
        case .full: model.rerunsUnderFullRecomputation(op, within: operations)
        case .selective: model.rerunsUnderSelectiveRecomputation(op)
        default: model.operatorRecomputation.contains(op)
        }
    }

    /// Whether a rerun of op `op` runs its forward communication again: every op of a block full recomputation
    /// reruns, and attention elsewhere (`StageCostModel.rerunsCommunication`).
    func rerunsCommunication(_ op: Int) -> Bool {
        model.options.recompute == .full || StageCostModel.rerunsCommunication(graph.operations[op])
    }

    /// Seconds per iteration and bytes per device of op `op` under `strategy`.
    func nodeTerms(_ op: Int, _ strategy: OpStrategy) -> (seconds: Double, memory: Double) {
        let operation = graph.operations[op]
        let space = operation.indexSpace
        let cost = operatorModel.cost(op, strategy)
        // Tensor parallelism's overlap hides none of context parallelism's exchange, nor a collective of an op that is no
        // linear layer (as `StageCostModel` charges them).
        let exchanges = ContextParallelExchange.ringSize(operation, strategy, meshShape: mesh.shape) > 1
        let behindGEMM = StageCostModel.overlapsOwnCollectives(operation, in: graph)
        let shown = { (collectives: [Collective]) in exchanges ? self.seconds(collectives) : self.shownSeconds(collectives, behindGEMM: behindGEMM) }
        let ownCollectives = shown(cost.forwardCollectives)
        var perMicrobatch = cost.forwardSeconds + cost.backwardSeconds + ownCollectives + shown(cost.backwardCollectives)
        // A rerun op runs its kernels again, and its forward collectives where it reruns its communication (and
        // the layout changes into it, `linkSeconds`).
        if reruns(op) { perMicrobatch += cost.forwardSeconds + (rerunsCommunication(op) ? ownCollectives : 0) }
        var perIteration = 0.0
        // FP8 copies of the weight (recipes that cache them) stay for the whole iteration.
        var memory = cost.fp8?.weightCopyBytes ?? 0
        for (operand, input) in operation.inputs.enumerated() {
            if graph[input].isParameter {
                guard let first = firstReader[input], first.operation == op, first.operand == operand else { continue }
                // With FP8 parameters the weight of a linear layer in FP8 is kept, gathered and cast in FP8.
                let fp8Weight = model.options.fp8Parameters && cost.fp8 != nil
                let parameter = parameterTerms(input, strategy: strategy, operand: operand, in: space,
                                               castByFirstReader: operation.op.isContraction ? cost.fp8 == nil || fp8Weight
                                                   : castByLaterProduct.contains(input),
                                               fp8Weight: fp8Weight, gatheredForBackward: layersGatheredForBackward.contains(operation.layer))
                perIteration += parameter.seconds
                perMicrobatch += parameter.perMicrobatchSeconds
                memory += parameter.memory
            } else if model.gradients[input], let first = firstReader[input], first.operation == op, first.operand == operand {
                // Arrived from an earlier stage in the layout its first reader wants; that reader's gradient goes
                // back reduced (other readers pay on their `.arrival` links).
                perMicrobatch += reshardSeconds(input, from: strategy.gradientSpec(operand, in: space),
                                                 to: strategy.operandSpec(operand, in: space), overlapped: true,
                                                 behindGEMM: StageCostModel.overlapsLayoutChange(of: input, into: operation, in: graph))
            }
        }
        memory += activationBytes(op, operation, strategy, cost)
        return (perMicrobatch * microbatches + perIteration, memory)
    }

    /// Bytes of activations one device holds for op `op` under `strategy`, as `StageCostModel` counts them: what
    /// the op keeps for its backward pass, per microbatch in flight, and the loss's gradient buffers once. Under full
    /// recomputation instead: the tensors each layer run reads from outside itself (the blocks' checkpoints) and
    /// what the ops outside the blocks keep, per microbatch in flight; and once, a share of what a block holds while
    /// it reruns for each of the stage's rerun blocks (`rerunShares`: the exact model takes the largest block, which
    /// the mean over equal whole blocks is). What a block holds while it reruns, or what op-level recomputation drops, and the loss's
    /// buffers are added; the exact model takes the larger of the buffers and the block's set less one microbatch's
    /// kept tensors of the loss's layer, so the sum is an upper bound.
    private func activationBytes(_ op: Int, _ operation: Operation, _ strategy: OpStrategy, _ cost: OperatorCost) -> Double {
        let space = operation.indexSpace
        var once = 0.0
        if case .crossEntropy = operation.op, model.gradients[operation.result] {
            once += operatorModel.localElements(operation.inputs[0], strategy.operandSpec(0, in: space))
                * crossEntropyMemory(operation.inputs[0]).workingBytesPerElement
        }
        guard model.options.recompute == .full else {
            if model.isInOperatorCheckpointedBlock(op) || model.isInOutputDiscardingBlock(op) {
                once += droppedBytes(op, operation, strategy, cost) * rerunShares[model.layerRun[op], default: 1]
            }
            return keptBytes(op, operation, strategy, cost) * inFlight + once
        }
        var perMicrobatch = 0.0
        for (operand, input) in operation.inputs.enumerated() {
            if let reader = checkpointReader[input], reader.operation == op, reader.operand == operand {
                perMicrobatch += operatorModel.localBytes(input, strategy.operandSpec(operand, in: space))
            }
        }
        if model.rerunsUnderFullRecomputation(op, within: operations) {
            once += keptBytes(op, operation, strategy, cost) * rerunShares[model.layerRun[op], default: 1]
        } else {
            perMicrobatch += keptBytes(op, operation, strategy, cost, checkpointsApart: true)
        }
        return perMicrobatch * inFlight + once
    }

    /// Bytes op `op` keeps for its backward pass under `strategy`, a microbatch's: each tensor counted by its
    /// `keeper`; `checkpointsApart` leaves out the tensors counted as checkpoints (`checkpointReader`).
    private func keptBytes(_ op: Int, _ operation: Operation, _ strategy: OpStrategy, _ cost: OperatorCost,
                           checkpointsApart: Bool = false) -> Double {
        let space = operation.indexSpace
        let saved = OperationCost.savedForBackward(operation, in: graph, gradients: model.gradients)
        var activations = 0.0
        let checkpointed = model.isInOperatorCheckpointedBlock(op)
        if checkpointed {
            // Op-level selective recomputation keeps the results its policy stores, read or not, and the block's
            // inputs (at their first reader, `blockInputReader`), and nothing else of the block; partial sums are counted reduced
            // and whole, an upper bound where sequence parallelism reduce-scatters them (the readers' layouts
            // are not known here).
            if model.storesResultUnderOperatorRecomputation(op) {
                activations += operatorModel.localBytes(operation.result, strategy.resultSpec(in: space).reduced)
            }
            for (operand, input) in operation.inputs.enumerated() where !graph[input].isParameter {
                let (fate, storage) = model.operatorRecomputationFate(of: input, readBy: op, within: operations)
                guard fate == .kept, keeper[storage] == nil, let first = blockInputReader[storage], first.operation == op,
                      first.operand == operand else { continue }
                activations += operatorModel.localBytes(input, strategy.operandSpec(operand, in: space)) * OperationCost.storedShare(of: input, readBy: operation, in: graph)
            }
        }
        let discards = model.isInOutputDiscardingBlock(op)
        for tensor in saved.tensors where !checkpointed && keeper[tensor] == op {
            if checkpointsApart && checkpointReader[tensor] != nil { continue }
            if discards && model.findsRerun(tensor, readBy: op, within: operations) { continue }
            if model.options.recompute == .selective && model.isAttentionCore(tensor) { continue }
            if tensor == operation.result {
                activations += operatorModel.localBytes(tensor, strategy.resultSpec(in: space))
            } else if let operand = operation.inputs.firstIndex(of: tensor) {
                var bytes = operatorModel.localBytes(tensor, strategy.operandSpec(operand, in: space)) * OperationCost.storedShare(of: tensor, readBy: operation, in: graph)
                if let fp8 = cost.fp8, fp8.inputOperand == operand, let kept = fp8.savedInputBytesPerElement {
                    bytes *= kept / Double(graph[tensor].type.dtype.byteSize)
                }
                if case .crossEntropy = operation.op, operand == 0 {
                    // The loss keeps what its kernels keep: an fp32 softmax unless fused (`CrossEntropyMemory`).
                    bytes *= crossEntropyMemory(tensor).savedBytesPerElement / Double(graph[tensor].type.dtype.byteSize)
                }
                activations += bytes
            }
        }
        if !(model.options.recompute == .selective && model.rerunsUnderSelectiveRecomputation(op))
            && !model.operatorRecomputation.contains(op) {
            activations += auxiliaryBytes(operation, strategy, saved.auxiliaryBytes) + operatorModel.exchangeSavedBytes(operation, strategy)
        }
        return activations
    }

    /// Under op-level selective recomputation, the bytes op `op` of a checkpointed block keeps for its backward pass
    /// that the block drops and reruns: alive while the block reruns (the exact model's working bytes, the largest
    /// block's). Each tensor is counted by its `rerunKeeper`, or its `keeper` where the block discards only some
    /// results (`StageCostModel.isInOutputDiscardingBlock`).
    private func droppedBytes(_ op: Int, _ operation: Operation, _ strategy: OpStrategy, _ cost: OperatorCost) -> Double {
        let space = operation.indexSpace
        let saved = OperationCost.savedForBackward(operation, in: graph, gradients: model.gradients)
        var bytes = 0.0
        let keepers = model.isInOutputDiscardingBlock(op) ? keeper : rerunKeeper
        for tensor in saved.tensors where keepers[tensor] == op && model.findsRerun(tensor, readBy: op, within: operations) {
            if tensor == operation.result {
                bytes += operatorModel.localBytes(tensor, strategy.resultSpec(in: space))
            } else if let operand = operation.inputs.firstIndex(of: tensor) {
                var kept = operatorModel.localBytes(tensor, strategy.operandSpec(operand, in: space)) * OperationCost.storedShare(of: tensor, readBy: operation, in: graph)
                if let fp8 = cost.fp8, fp8.inputOperand == operand, let share = fp8.savedInputBytesPerElement {
                    kept *= share / Double(graph[tensor].type.dtype.byteSize)
                }
                bytes += kept
            }
        }
        if model.operatorRecomputation.contains(op) {
            bytes += auxiliaryBytes(operation, strategy, saved.auxiliaryBytes) + operatorModel.exchangeSavedBytes(operation, strategy)
        }
        return bytes
    }

    /// The share of an op's masks and statistics (`auxiliaryBytes` of them whole) one device keeps: they shrink
    /// with the op's first operand, or its result.
    private func auxiliaryBytes(_ operation: Operation, _ strategy: OpStrategy, _ auxiliaryBytes: Int) -> Double {
        guard auxiliaryBytes > 0 else { return 0 }
        let reference = operation.inputs.first ?? operation.result
        let spec = operation.inputs.isEmpty ? strategy.resultSpec(in: operation.indexSpace) : strategy.operandSpec(0, in: operation.indexSpace)
        return Double(auxiliaryBytes) * operatorModel.localElements(reference, spec) / Double(max(graph[reference].type.elementCount, 1))
    }

    /// What the loss over `logits` keeps and allocates, per logit, in the plan's training stack.
    private func crossEntropyMemory(_ logits: ValueID) -> CrossEntropyMemory {
        CrossEntropyMemory(options: model.options, logitBytes: Double(graph[logits].type.dtype.byteSize))
    }

    /// A parameter stored in the layout its first reader wants: model state, optimizer step, gradient
    /// synchronisation, under ZeRO-3 the gathers before each use, and over fp32 weights their 16-bit casts
    /// (`castByFirstReader`: the first reader is a matrix product in 16 bits, or reads it for one that is, or one in
    /// FP8 that keeps its weight in FP8: `fp8Weight`, whose casts and gathers write and move 1 byte an element).
    /// The gradient synchronisation is priced in the parameter's type, FP8 weights' included.
    private func parameterTerms(_ parameter: ValueID, strategy: OpStrategy, operand: Int, in space: IndexSpace,
                                castByFirstReader: Bool, fp8Weight: Bool,
                                gatheredForBackward: Bool) -> (seconds: Double, perMicrobatchSeconds: Double, memory: Double) {
        let type = graph[parameter].type
        let options = model.options
        let stored = strategy.operandSpec(operand, in: space)
        let dataParallelAxes = strategy.gradientSpec(operand, in: space).partialAxes
        let dataParallel = Double(mesh.size(ofAxes: dataParallelAxes))
        let local = Double(type.elementCount) / Double(stored.totalSplitFactor(meshShape: mesh.shape))
        let zeroStage = max(options.zeroStage, strategy.zeroStage)
        // A frozen parameter keeps its weight alone and sends no gradient back.
        let trainable = !graph[parameter].isFrozen
        let state = ParameterState(elements: local, dataParallel: dataParallel, zeroStage: zeroStage,
                                   options: options, fp8Weight: fp8Weight, microbatches: model.microbatches, trainable: trainable)
        // What the gathers move and the casts of fp32 weights write an element: 16 bits, or the FP8 weight.
        let gatheredBytes = fp8Weight ? ParameterState.fp8WeightBytesPerElement : Double(type.dtype.byteSize)
        let copyBytes = fp8Weight ? ParameterState.fp8WeightBytesPerElement : 2
        var memory = state.totalBytes
        var seconds = state.optimizerStepSeconds(on: model.kernels)
        if trainable { seconds += reshardSeconds(parameter, from: strategy.gradientSpec(operand, in: space), to: stored) }
        // Every microbatch adds the weight gradient into the fp32 gradient buffer.
        var perMicrobatch = model.kernels.streamSeconds(bytes: state.gradientAccumulationBytes)
        let shardsWeights = zeroStage >= 3 && dataParallel > 1
        let keepsGatheredCopy = ParameterState.keepsGatheredCopy(zeroStage: zeroStage, dataParallel: dataParallel,
                                                                 optimizerState: options.optimizerState)
        let gathers = shardsWeights && gatheredForBackward ? 2.0 : 1.0
        if shardsWeights || keepsGatheredCopy {
            // ZeRO-3 gathers the 16-bit weights before each forward and each backward pass (the forward pass only
            // where the reader's layer has none); FSDP's `SHARD_GRAD_OP` before each forward pass, keeping them through
            // the backward pass. Priced whole, as if nothing hid them.
            let gather = Collective(.allGather, axes: dataParallelAxes, bytes: local * gatheredBytes)
            perMicrobatch += gathers * self.seconds([gather]) * gatherShare
        }
        if options.optimizerState == .fp32Weights {
            // As `StageCostModel.addParameters` prices them: FSDP casts the local shard before each of its
            // gathers (once under ZeRO-2, whose gathered copy is part of the state); autocast casts a product's
            // weight once a forward pass (again in a full recomputation's rerun of a block that reads it) and keeps
            // the 16-bit copy for the backward pass, a weight a lookup reads first and a product later (tied
            // embeddings, `castByLaterProduct`) included.
            let rereads = castAgainInRerun.contains(parameter) ? 2.0 : 1.0
            if shardsWeights {
                perMicrobatch += gathers * model.kernels.memorySeconds(bytes: (4 + copyBytes) * local / dataParallel) * gatherShare
            } else if keepsGatheredCopy {
                // The gathered copy stays until the backward pass: a full recomputation's rerun reads it.
                perMicrobatch += model.kernels.memorySeconds(bytes: (4 + copyBytes) * local / dataParallel)
            } else if castByFirstReader {
                perMicrobatch += rereads * model.kernels.memorySeconds(bytes: (4 + copyBytes) * local)
                memory += castCopyBytes(parameter, copyBytes: copyBytes * local)
            }
        }
        return (seconds, perMicrobatch, memory)
    }

    /// Bytes one device holds of autocast's 16-bit copy of `parameter` (`copyBytes` each): per microbatch in flight;
    /// under full recomputation, per microbatch in flight for each layer run outside the blocks whose products read
    /// it, and once for a block (its `rerunShares`, as `activationBytes` counts what a rerun holds).
    private func castCopyBytes(_ parameter: ValueID, copyBytes: Double) -> Double {
        guard model.options.recompute == .full else { return copyBytes * inFlight }
        return (productRuns[parameter] ?? []).reduce(0) { total, run in
            total + copyBytes * (rerunShares[run] ?? inFlight)
        }
    }

    /// The seconds of a layout change as `StageCostModel` prices it where it depends on the consumer's kernels:
    /// an all-gather into an FP8 linear layer's input moves FP8 (`OperatorCost.gathersInFP8`), and a K or V
    /// exchange into an attention op that splits its queries hides behind its kernels (`ContextParallelExchange`).
    /// `cost` is the consumer's own cost under `consumer`; `forward` and `backward` are the layout changes' seconds
    /// after tensor parallelism's overlap (`shownSeconds`), which hides none of the exchange.
    private func consumerAdjusted(_ link: Link, _ value: ValueID, from layout: ShardingSpec, to layouts: [ShardingSpec],
                                  consumer: OpStrategy, cost: OperatorCost, forward: Double, backward: Double,
                                  returned: ShardingSpec) -> (Double, Double) {
        let operation = graph.operations[link.to]
        let type = graph[value].type
        func collectives(_ source: ShardingSpec, _ target: ShardingSpec) -> [Collective] {
            Resharding.collectives(from: source, to: target,
                                   elementCount: operatorModel.localElements(value, .replicated(rank: type.rank)),
                                   bytesPerElement: type.dtype.byteSize, meshShape: mesh.shape,
                                   dispatch: model.tokenDispatch(of: value))
        }
        if cost.fp8 != nil, link.kind != .parameter, cost.gathersInFP8(collectives(layout, layouts[0]), operand: link.toOperand) {
            return (reshardSeconds(value, from: layout, to: layouts[0], bytesPerElement: 1, overlapped: true), backward)
        }
        let ring = ContextParallelExchange.ringSize(operation, consumer, meshShape: mesh.shape)
        guard ring > 1, link.toOperand > 0 else { return (forward, backward) }
        var result = (forward, backward)
        let communication = operatorModel.contextParallelCommunication
        /// The exposed seconds of the collectives that carry an exchange whose layout change is `exchange`.
        func exposed(_ exchange: [Collective], attentionSeconds: Double, forward: Bool) -> Double {
            ContextParallelExchange.carry(exchange, ringSize: ring, communication: communication, gradientWidening: 4 / Double(type.dtype.byteSize),
                                          attentionSeconds: attentionSeconds, forward: forward, meshShape: mesh.shape,
                                          priced: { seconds([$0]) }).exposedSeconds
        }
        let gather = collectives(layout, layouts[0])
        if ContextParallelExchange.isRingExchange(gather, kind: .allGather, operation, consumer) {
            result.0 = exposed(gather, attentionSeconds: cost.forwardSeconds, forward: true)
        }
        if model.gradients[value] {
            let reduction = collectives(layouts[1], returned)
            if ContextParallelExchange.isRingExchange(reduction, kind: .reduceScatter, operation, consumer) {
                result.1 = exposed(reduction, attentionSeconds: cost.backwardSeconds, forward: false)
            }
        }
        return result
    }

    /// Every tensor passed between two ops of the stage, in op order.
    func links() -> [Link] {
        var result: [Link] = []
        let shared = StageCostModel.sharedActivations(of: operations, in: graph)
        var activationsRead = Set<ValueID>()
        for op in operations {
            for (operand, input) in graph.operations[op].inputs.enumerated() {
                if graph[input].isParameter {
                    if let first = firstReader[input], first.operation != op || first.operand != operand {
                        result.append(Link(from: first.operation, operand: first.operand, to: op, toOperand: operand, kind: .parameter))
                    }
                } else if let producer = graph[input].operationIndex, operations.contains(producer) {
                    let kind: Link.Kind = !shared.contains(input) ? .activation
                        : activationsRead.insert(input).inserted ? .sharedActivation : .reducedActivation
                    result.append(Link(from: producer, operand: -1, to: op, toOperand: operand, kind: kind))
                } else if let first = firstReader[input], first.operation != op || first.operand != operand {
                    result.append(Link(from: first.operation, operand: first.operand, to: op, toOperand: operand, kind: .arrival))
                }
            }
        }
        return result
    }

    /// The layout of the tensor `link` passes as its producer leaves it: all the link's cost depends on.
    func producerLayout(_ link: Link, _ producer: OpStrategy) -> ShardingSpec {
        let from = graph.operations[link.from]
        switch link.kind {
        case .activation, .sharedActivation: return producer.resultSpec(in: from.indexSpace)
        case .reducedActivation: return producer.resultSpec(in: from.indexSpace).reduced
        case .parameter, .arrival: return producer.operandSpec(link.operand, in: from.indexSpace)
        }
    }

    /// The layouts the consumer of `link` wants the tensor and produces its gradient in.
    func consumerLayout(_ link: Link, _ consumer: OpStrategy) -> [ShardingSpec] {
        let to = graph.operations[link.to]
        return [consumer.operandSpec(link.toOperand, in: to.indexSpace), consumer.gradientSpec(link.toOperand, in: to.indexSpace)]
    }

    /// Seconds per iteration of `link` for each layout its producer may leave the tensor in (`produced`)
    /// against each pair of layouts its consumer may want it and return its gradient in (`consumed`, the
    /// pairs of `consumerLayout`). Each layout change is priced once, however many pairs share it.
    /// `consumers`, when given, holds one consumer strategy per entry of `consumed` (any with those layouts): an
    /// attention op needs it to hide context parallelism's K/V exchange behind its kernels.
    func linkSeconds(_ link: Link, produced: [ShardingSpec], consumed: [[ShardingSpec]], consumers: [OpStrategy]? = nil) -> [[Double]] {
        let from = graph.operations[link.from]
        let value = link.kind == .activation || link.kind == .sharedActivation || link.kind == .reducedActivation
            ? from.result : from.inputs[link.operand]
        let (wantedIndex, wanted) = consumed.map { $0[0] }.numberedByFirstAppearance()
        let (gradientIndex, gradients) = consumed.map { $0[1] }.numberedByFirstAppearance()
        // Tensor parallelism's overlap hides a weight's layout change into a linear layer, and an activation's beside one
        // (as `StageCostModel` charges them).
        let behindGEMM = link.kind == .parameter ? StageCostModel.overlapsOwnCollectives(graph.operations[link.to], in: graph)
            : StageCostModel.overlapsLayoutChange(of: value, into: graph.operations[link.to], in: graph)
        func price(_ source: ShardingSpec, _ target: ShardingSpec, overlapped: Bool = true) -> Double {
            reshardSeconds(value, from: source, to: target, overlapped: overlapped, behindGEMM: behindGEMM)
        }
        // A rerun reader that reruns its communication changes the layouts into it again.
        let replays = reruns(link.to) && rerunsCommunication(link.to) ? 2.0 : 1.0
        // The consumer's own cost under each of its strategies (its FP8 gathers and ring exchange depend on it), once.
        let consumerCosts = consumers?.map { operatorModel.cost(link.to, $0) }
        return produced.map { layout in
            // A shared activation's partial sums are all-reduced once, then read from the reduced layout.
            let reduction = link.kind == .sharedActivation ? price(layout, layout.reduced) : 0
            let source = link.kind == .sharedActivation ? layout.reduced : layout
            let forward = wanted.map { price(source, $0) }
            switch link.kind {
            case .activation, .sharedActivation, .reducedActivation, .arrival:
                // The gradient comes back reduced to the layout the producer left (or, for an arrival, to the
                // layout it arrived in, its first reader's).
                let returned = link.kind == .arrival ? layout : layout.reduced
                let backward = model.gradients[value] ? gradients.map { price($0, returned) } : gradients.map { _ in 0 }
                return consumed.indices.map { pair in
                    var (ahead, back) = (forward[wantedIndex[pair]], backward[gradientIndex[pair]])
                    if let consumers, let consumerCosts {
                        (ahead, back) = consumerAdjusted(link, value, from: source, to: consumed[pair], consumer: consumers[pair],
                                                         cost: consumerCosts[pair], forward: ahead, backward: back, returned: returned)
                    }
                    return ((reduction + ahead) * replays + back) * microbatches
                }
            case .parameter:
                // Read every microbatch (and again in a rerun); its gradient goes back to the stored layout once per
                // iteration (a frozen one has none).
                let backward = graph[value].isFrozen ? gradients.map { _ in 0 } : gradients.map { price($0, layout, overlapped: false) }
                return consumed.indices.map { pair in
                    forward[wantedIndex[pair]] * replays * microbatches + backward[gradientIndex[pair]]
                }
            }
        }
    }
}
