/// Predicts a `TrainingPlan`'s iteration time and memory: prices every chunk with `StageCostModel`, adds
/// the point-to-point transfers between chunks, runs the schedule over the ranks' chunks pass by pass
/// (`PipelineTimeline`), and adds the gradient synchronisation left exposed and the optimizer step.
public struct PlanEvaluator: Sendable {
    /// The kernel times every op's compute is priced with.
    public let kernels: KernelModel

    /// An evaluator pricing kernels with `kernels` (a calibrated or measured model, for one).
    public init(kernels: KernelModel) { self.kernels = kernels }

    /// An evaluator pricing kernels on `cluster`'s device (`KernelModel(device:)`). The device must list a peak
    /// rate, as `Cluster.validate()` requires: the kernel model is built from its bf16 one, and a device listing none
    /// traps. For a cluster that may not be sound (built or edited in code), use `init(checking:)`.
    ///
    /// The evaluator prices kernels on that device only: `evaluate(checking:)` refuses a plan whose cluster has
    /// another device, and `evaluate(_:)` would mix this device's kernel rates with the plan's memory and links.
    public init(cluster: Cluster) { self.kernels = KernelModel(device: cluster.device) }

    /// `init(cluster:)` for a cluster that may not be sound: one `Cluster.validate()` refuses (no peak rate, a
    /// figure that is not positive) is an `InputError` rather than a trap.
    public init(checking cluster: Cluster) throws(InputError) {
        try cluster.validate()
        self.init(cluster: cluster)
    }

    /// The predicted iteration time, throughput and memory of `plan`. The plan must be one `PlanValidator` accepts,
    /// on a cluster `Cluster.validate()` accepts, with options in range (as the planners, `TrainingPlan.megatron`
    /// and the plan document's reader make them): a plan put together or edited by hand may break what the
    /// pricing relies on (no stages, no microbatches, ops the graph does not have) and trap, or price to NaN.
    /// `evaluate(checking:)` checks all of that first.
    public func evaluate(_ plan: TrainingPlan) -> PlanPrediction {
        let modelFLOPs = OperationCost.modelTrainingFLOPs(of: plan.graph)
        return evaluate(plan, model: StageCostModel(graph: plan.graph, kernels: kernels, options: plan.options, microbatches: plan.microbatches),
                        modelTrainingFLOPs: modelFLOPs,
                        causalHalvedTrainingFLOPs: modelFLOPs - 3 * OperationCost.causalAttentionSavingFLOPs(of: plan.graph))
    }

    /// `evaluate(_:)` for a plan that may not be sound: a plan whose cluster `Cluster.validate()` refuses, whose
    /// options are out of range (`TrainingOptions.checkRanges`, as a plan document's `options` member names them) or
    /// in a precision its devices do not run (`TrainingOptions.check(on:)`: FP8 without FP8 tensor cores), or in which `PlanValidator` finds a broken invariant is an `InputError` rather than a trap. So is a plan on a
    /// device other than the one this evaluator's kernel model was made from (`KernelModel.deviceName`; an
    /// error at `cluster`), whose memory and links would be priced with another device's kernel rates; a kernel model
    /// built from figures alone (`deviceName` nil) prices a plan on any device.
    public func evaluate(checking plan: TrainingPlan) throws(InputError) -> PlanPrediction {
        try plan.options.checkPricing(on: plan.cluster)
        if let device = kernels.deviceName, device != plan.cluster.device.name {
            throw InputError(.invalidValue, at: JSONPath([.key("cluster")]),
                             "the plan runs on \(VisibleText.escape(plan.cluster.device.name)) but this evaluator prices kernels on \(VisibleText.escape(device)); make the evaluator from the plan's cluster (PlanEvaluator(cluster: plan.cluster))")
        }
        if let violation = PlanValidator.violation(in: plan) {
            throw InputError(.invalidValue, at: .root, "the plan is not sound: \(violation)")
        }
        return evaluate(plan)
    }

    /// `evaluate(_:)` with the stage cost model for the plan's graph, options and microbatches, and the graph's
    /// model training FLOPs (`GraphAnalysis.modelTrainingFLOPs`), already made (a caller pricing many plans of one
    /// graph makes them once).
    func evaluate(_ plan: TrainingPlan, model: StageCostModel, modelTrainingFLOPs analysisFLOPs: Double,
                  causalHalvedTrainingFLOPs: Double) -> PlanPrediction {
        precondition(model.microbatches == plan.microbatches && model.options == plan.options, "the model prices another setting")
        let graph = plan.graph
        let stageCosts = plan.stages.indices.map { index in
            model.onRank(plan.rank(ofStage: index), of: plan.pipelineRanks, schedule: plan.schedule, virtualStages: plan.virtualStages)
                .cost(of: plan.stages[index])
        }
        let (transfers, pointToPointBytes) = pointToPoint(plan, model: model)
        var ranks: [PlanPrediction.Rank] = []
        for rank in 0..<plan.pipelineRanks {
            let chunks = plan.stages.indices.filter { plan.rank(ofStage: $0) == rank }
            var entry = PlanPrediction.Rank(
                rank: rank, devices: plan.stages[chunks[0]].mesh.devices, forwardSeconds: 0, backwardSeconds: 0, recomputeSeconds: 0,
                pointToPointSeconds: 0, microbatchesInFlight: 0, weightBytes: 0, gradientBytes: 0,
                optimizerStateBytes: 0, activationBytes: 0, peakMemoryBytes: 0,
                exposedGradientSynchronizationSeconds: 0, optimizerSeconds: 0, computeSeconds: [:], communicationSeconds: [:])
            // Working sets are alive only while their chunk runs, one chunk at a time.
            var synchronization = 0.0, lastMicrobatch = 0.0, transient = TransientMemory()
            var chunkActivations: [Double] = []
            for chunk in chunks {
                let cost = stageCosts[chunk]
                entry.forwardSeconds += cost.forwardSeconds
                entry.backwardSeconds += cost.backwardSeconds
                entry.recomputeSeconds += cost.recomputeSeconds
                entry.pointToPointSeconds += transfers[chunk]
                entry.weightBytes += cost.weightBytes
                entry.gradientBytes += cost.gradientBytes
                entry.optimizerStateBytes += cost.optimizerStateBytes
                entry.optimizerSeconds += cost.optimizerSeconds
                chunkActivations.append(cost.activationBytesPerMicrobatch)
                transient.include(cost.transientMemory)
                synchronization += cost.gradientSynchronizationSeconds
                lastMicrobatch += cost.lastMicrobatchSeconds
                entry.computeSeconds.merge(cost.computeSeconds, uniquingKeysWith: +)
                entry.communicationSeconds.merge(cost.communicationSeconds, uniquingKeysWith: +)
            }
            // The gathered weights count with the weights, the reduce-scatter's input as far as the backward working
            // set does not already hold its bytes with the gradients, the rest with the activations.
            entry.weightBytes += transient.gathered
            entry.gradientBytes += transient.addedByUnshardedGradients
            // Which chunks hold activations at once follows the schedule (warm-up depth per rank and chunk).
            let occupancy = ChunkOccupancy(schedule: plan.schedule, stage: rank, stages: plan.pipelineRanks,
                                           microbatches: plan.microbatches, virtualStages: chunks.count,
                                           extraWarmUp: plan.options.overlapExpertParallelCommunication ? 1 : 0)
            entry.microbatchesInFlight = Double(occupancy.mostChunksAlive) / Double(occupancy.chunkCount)
            entry.activationBytes = (occupancy.chunkCount == chunks.count
                ? occupancy.peakBytes(chunkBytes: chunkActivations)
                : chunkActivations.reduce(0, +) * entry.microbatchesInFlight) + transient.backwardWorkingBytes
            entry.peakMemoryBytes = entry.weightBytes + entry.gradientBytes + entry.optimizerStateBytes
                + entry.activationBytes + TrainingOptions.frameworkOverheadBytes
            // The reduce-scatters only the last microbatch runs are exposed gradient synchronisation too. The overlap
            // follows the rank's own ZeRO stage, its ops' as the search's rank summaries take it (`RankSummary`), where
            // the options' is a floor (a searched plan's stages take their own).
            var rankOptions = plan.options
            rankOptions.zeroStage = max(plan.options.zeroStage,
                                        chunks.flatMap { plan.stages[$0].strategies.map(\.zeroStage) }.max() ?? 0)
            entry.exposedGradientSynchronizationSeconds = exposedSynchronization(
                synchronization, options: rankOptions, forwardSeconds: entry.forwardSeconds, backwardSeconds: entry.backwardSeconds)
                + lastMicrobatch
            ranks.append(entry)
        }
        let shared = sharedParameterSynchronization(plan, model: model)
        for (rank, seconds) in shared.seconds.enumerated() { ranks[rank].exposedGradientSynchronizationSeconds += seconds }
        let perMicrobatch = ranks.map { $0.forwardSeconds + $0.backwardSeconds + $0.pointToPointSeconds }
        // The schedule as it runs (`PipelineTimeline`), exact for ranks of unequal time, where the closed form
        // `PipelineSchedule.pipelineSeconds` is not.
        let passes = PipelineTimeline.passSeconds(plan: plan, stageCosts: stageCosts, pointToPointSeconds: ranks.map(\.pointToPointSeconds))
        let pipeline = PipelineTimeline.makespan(schedule: plan.schedule, microbatches: plan.microbatches,
                                                 forwardSeconds: passes.forward, backwardSeconds: passes.backward)
        let tail = ranks.map { $0.exposedGradientSynchronizationSeconds + $0.optimizerSeconds }.max() ?? 0
        let iteration = pipeline + tail
        let slowest = perMicrobatch.indices.max { perMicrobatch[$0] < perMicrobatch[$1] } ?? 0
        let slow = ranks[slowest]
        let m = Double(plan.microbatches)
        var breakdown: [(String, Double)] = OperatorCost.Category.allCases.map { category in
            ("compute: \(category.rawValue)", m * (slow.computeSeconds[category] ?? 0))
        }
        breakdown.append(("compute: recomputation", m * slow.recomputeSeconds))
        for kind in CollectiveKind.allCases where kind != .sendReceive {
            breakdown.append(("communication: \(kind.rawValue)", m * (slow.communicationSeconds[kind] ?? 0)))
        }
        breakdown.append(("communication: point-to-point", m * slow.pointToPointSeconds))
        // The slowest rank's wait in the schedule (a rounding residue below zero where it never waits).
        breakdown.append(("pipeline bubble", max(0, pipeline - m * perMicrobatch[slowest])))
        breakdown.append(("gradient synchronisation (exposed)", slow.exposedGradientSynchronizationSeconds))
        breakdown.append(("optimizer step", slow.optimizerSeconds))
        let used = breakdown.reduce(0) { $0 + $1.1 }
        if abs(iteration - used) > 1e-12 { breakdown.append(("waiting for other ranks", iteration - used)) }
        let devices = Double(plan.deviceCount)
        let peak = plan.cluster.device.peakFLOPsPerSecond(for: .bf16)
        var bytes: [CollectiveKind: Double] = [:]
        for cost in stageCosts {
            for (kind, value) in cost.communicationBytes { bytes[kind, default: 0] += value * m }
            for (kind, value) in cost.gradientSynchronizationBytes { bytes[kind, default: 0] += value }
        }
        if pointToPointBytes > 0 { bytes[.sendReceive, default: 0] += pointToPointBytes * m }
        if shared.bytes > 0 { bytes[.allReduce, default: 0] += shared.bytes }
        return PlanPrediction(
            iterationSeconds: iteration,
            samplesPerSecond: Double(graph.batchSize ?? 1) / iteration,
            modelFLOPs: analysisFLOPs,
            tflopsPerDevice: analysisFLOPs / iteration / devices / 1e12,
            modelFLOPsUtilization: analysisFLOPs / iteration / devices / peak,
            causalHalvedUtilization: causalHalvedTrainingFLOPs <= 0.95 * analysisFLOPs ? causalHalvedTrainingFLOPs / iteration / devices / peak : nil,
            peakMemoryBytesPerDevice: ranks.map(\.peakMemoryBytes).max() ?? 0,
            deviceMemoryBytes: plan.cluster.device.memoryBytes,
            ranks: ranks, stageCosts: stageCosts, timeBreakdown: breakdown.map { PlanPrediction.TimeShare(name: $0.0, seconds: $0.1) }, communicationBytes: bytes)
    }

    /// With overlap on, the last gradient bucket still waits for the end of the backward pass.
    static let unhiddenGradientShare = 0.1

    /// The part of an iteration's gradient synchronisation (`seconds`, priced as all-reduces) left exposed.
    /// Megatron reduces gradients only during the last microbatch's backward pass, so with
    /// `--overlap-grad-reduce` that pass (`backwardSeconds`) is all that hides it. With the distributed
    /// optimizer (ZeRO-1 and up) the all-reduce is a reduce-scatter of the gradients (half the ring) hidden
    /// behind that backward pass and an all-gather of the updated weights (the other half) hidden behind the
    /// next iteration's first forward pass (`--overlap-param-gather`). The first bucket of each still waits.
    func exposedSynchronization(_ seconds: Double, options: TrainingOptions, forwardSeconds: Double,
                                backwardSeconds: Double) -> Double {
        guard options.overlapGradientReduction else { return seconds }
        func exposed(_ part: Double, behind compute: Double) -> Double {
            max(part - compute, Self.unhiddenGradientShare * part)
        }
        guard options.zeroStage >= 1 else { return exposed(seconds, behind: backwardSeconds) }
        return exposed(seconds / 2, behind: backwardSeconds) + exposed(seconds / 2, behind: forwardSeconds)
    }

    /// Seconds each pipeline rank spends, once an iteration after its backward passes, all-reducing the gradients of
    /// parameters that chunks on several ranks read (a tied embedding table: the lookup on the first rank, the output
    /// layer on the last), so that every copy takes the same update: Megatron-LM's all-reduce over its embedding group
    /// (`_allreduce_word_embedding_grads`, after the data-parallel reduction and not overlapped with it). Each device
    /// all-reduces its shard of the gradient (in the gradient buffer's type, as its first reader holds it) with the
    /// devices of the other ranks in its place: `2 (n - 1) / n` of it over the link between the ranks' first devices.
    /// Also the bytes all-reduced, summed over the ranks that take part, as `PlanPrediction.communicationBytes` counts.
    func sharedParameterSynchronization(_ plan: TrainingPlan, model: StageCostModel) -> (seconds: [Double], bytes: Double) {
        var stageOf = Array(repeating: 0, count: plan.graph.operations.count)
        for (index, stage) in plan.stages.enumerated() { for op in stage.operations { stageOf[op] = index } }
        return Self.sharedParameterSynchronization(
            graph: plan.graph, operations: plan.stages.flatMap { Array($0.operations) }, ranks: plan.pipelineRanks,
            rank: { plan.rank(ofStage: stageOf[$0]) },
            shardElements: { parameter, reader in
                let stage = plan.stages[stageOf[reader]], operation = plan.graph.operations[reader]
                let spec = stage.strategy(of: reader).operandSpec(operation.inputs.firstIndex(of: parameter)!, in: operation.indexSpace)
                return model.operatorModel(meshShape: stage.mesh.shape).localElements(parameter, spec)
            },
            gradientBytes: plan.options.gradientPrecision.bytesPerElement,
            transferSeconds: { bytes, from, to in
                plan.cluster.sendSeconds(bytes: bytes, from: plan.stages[stageOf[from]].mesh.devices[0], to: plan.stages[stageOf[to]].mesh.devices[0])
            })
    }

    /// `sharedParameterSynchronization(_:model:)` for ops in pipeline order (`operations`) each on a rank (`rank`):
    /// `shardElements` gives a device's elements of a parameter as an op reads it, and `transferSeconds` the time of
    /// `bytes` from the first device of one op's rank to another's. The Megatron grid's estimate calls it too.
    static func sharedParameterSynchronization(graph: Graph, operations: [Int], ranks: Int, rank: (Int) -> Int,
                                               shardElements: (ValueID, Int) -> Double, gradientBytes: Double,
                                               transferSeconds: (Double, Int, Int) -> Double) -> (seconds: [Double], bytes: Double) {
        var seconds = Array(repeating: 0.0, count: ranks)
        var bytes = 0.0
        for parameter in ParameterReaders.shared(in: graph, operations: operations.map { (operation: $0, group: rank($0)) }) {
            let ops = parameter.readers.map(\.operation)
            let shard = shardElements(parameter.value, ops[0]) * gradientBytes
            let transfer = transferSeconds(sharedParameterExchangeBytes(shardBytes: shard, ranks: ops.count), ops[0], ops[1])
            for reader in parameter.readers { seconds[reader.group] += transfer }
            bytes += shard * Double(ops.count)
        }
        return (seconds, bytes)
    }

    /// Whether each op of `graph` reads a trainable parameter that another op reads too: the only ops whose reads
    /// `sharedParameterSynchronization(graph:operations:...)` prices (a parameter one op reads is exchanged by none),
    /// so that a caller pricing many layouts of one graph (the Megatron grid's estimate) can pass those alone, in
    /// the same order, for the same figures.
    static func readsSharedParameter(_ graph: Graph) -> [Bool] {
        var readers: [ValueID: Int] = [:]
        for operation in graph.operations {
            for input in Set(operation.inputs) where graph[input].isParameter && !graph[input].isFrozen { readers[input, default: 0] += 1 }
        }
        return graph.operations.map { operation in operation.inputs.contains { readers[$0, default: 0] > 1 } }
    }

    /// Per-microbatch seconds each chunk spends sending its outputs forward and receiving their gradients
    /// back (those that carry one: `GradientFlow`). A tensor replicated over r devices of the sending mesh is sent in r parts, and one replicated
    /// over r' devices of the receiving mesh, in the layout its first reader there takes, is received in r'
    /// parts and gathered there (`StageTransferParts`). The link carries
    /// the larger of the two parts; when both stages have the same mesh and layout they are the same part.
    /// The meshes of a hand-written plan may differ in shape, so each side's axes are its own mesh's. A tensor read
    /// only by a stage further on (a mixture of experts' auxiliary loss, read by the head) goes to that stage, which
    /// pays for receiving it. Also the bytes of those parts a microbatch moves, both ways, summed over the links: the
    /// prediction's `sendReceive` bytes, as `PlanPrediction.communicationBytes` counts a device's bytes.
    private func pointToPoint(_ plan: TrainingPlan, model: StageCostModel) -> (seconds: [Double], bytesPerMicrobatch: Double) {
        let graph = plan.graph
        var seconds = Array(repeating: 0.0, count: plan.stages.count)
        var bytes = 0.0
        guard plan.stages.count > 1 else { return (seconds, bytes) }
        var stageOf = Array(repeating: -1, count: graph.operations.count)
        for (index, stage) in plan.stages.enumerated() { for op in stage.operations { stageOf[op] = index } }
        let consumers = graph.consumers()
        let operatorModels = plan.stages.map { model.operatorModel(meshShape: $0.mesh.shape) }
        for (index, stage) in plan.stages.enumerated() where index + 1 < plan.stages.count {
            for op in stage.operations {
                let result = graph.operations[op].result
                guard let reader = consumers[result.rawValue].filter({ stageOf[$0] > index }).min() else { continue }
                let receiving = stageOf[reader]
                let receiver = plan.stages[receiving]
                let reading = graph.operations[reader]
                let sendingSpec = stage.strategy(of: op).resultSpec(in: graph.operations[op].indexSpace).reduced
                let sent = StageTransferParts(localBytes: operatorModels[index].localBytes(result, sendingSpec),
                                              spec: sendingSpec, mesh: stage.mesh)
                let operand = reading.inputs.firstIndex(of: result)!
                let receivingSpec = receiver.strategy(of: reader).operandSpec(operand, in: reading.indexSpace)
                let received = StageTransferParts(localBytes: operatorModels[receiving].localBytes(result, receivingSpec),
                                                  spec: receivingSpec, mesh: receiver.mesh)
                let transfer = plan.cluster.sendSeconds(bytes: max(sent.part, received.part), from: stage.mesh.devices[0],
                                                        to: receiver.mesh.devices[0])
                    + received.gatherSeconds(on: receiver.mesh)
                // The activation goes forward and its gradient comes back, once per microbatch; an activation that
                // carries no gradient (only frozen weights below it) goes forward only.
                let ways = model.gradients[result] ? 2.0 : 1.0
                seconds[index] += transfer * ways / 2
                seconds[receiving] += transfer * ways / 2
                bytes += ways * max(sent.part, received.part)
            }
        }
        return (seconds, bytes)
    }
}
