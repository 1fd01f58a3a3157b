import Foundation

extension MegatronGrid {
    /// What a configuration is predicted to take, from the same composed layer costs the stage DP uses
    /// (`LayerCostProfile`, `RankSummary`), its chunks run through the schedule as `PlanEvaluator` runs them
    /// (`PipelineTimeline.makespan`): exact where the model's layers interact only with their neighbours,
    /// so the grid's configurations are ranked in milliseconds each and only the fastest few are priced by
    /// `PlanEvaluator`.
    struct Estimate: Sendable {
        var iterationSeconds: Double
        var peakMemoryBytes: Double
    }

    /// The estimate of each configuration (nil where the graph does not admit it), on all cores. `clustering`
    /// holds every analysis layer (`LayerClustering(analysis, smallLayerFraction: 0)`).
    ///
    /// Once `isCancelled` says so (a search past its time limit) and a configuration, here or one the caller
    /// knows of (`fitFound`), is estimated to fit in device memory, the configurations not yet begun are left
    /// out (nil); `complete` says whether any was.
    static func estimates(_ configurations: [MegatronConfiguration], graph: Graph, cluster: Cluster, analysis: GraphAnalysis,
                          clustering: LayerClustering, kernels: KernelModel, fitFound: Bool = false,
                          isCancelled: @Sendable () -> Bool = { false }) -> (estimates: [Estimate?], complete: Bool) {
        let batch = graph.batchSize ?? 1
        let evaluator = PlanEvaluator(kernels: kernels)
        let roles = TensorRoles(graph)
        // Layer index of each op boundary, to read chunks of ops as ranges of layers.
        var boundaries: [Int: Int] = [:]
        for (index, layer) in clustering.layers.enumerated() { boundaries[layer.operations.lowerBound] = index }
        boundaries[graph.operations.count] = clustering.layers.count
        let layerStarting = boundaries
        let models = SharedTable<[Int], StageCostModel>()
        let profiles = SharedTable<[Int], LayerCostProfile?>()
        // Megatron's layout of the whole graph, by view and sequence parallelism: shared by every option set.
        let layouts = SharedTable<[Int], [OpStrategy]>()
        let results = SharedTable<Int, Estimate>()
        /// What the threads have found: whether a configuration fits, and whether one was left out.
        final class Outcome: @unchecked Sendable {
            let lock = NSLock()
            var fits: Bool
            var leftOut = false
            init(fits: Bool) { self.fits = fits }
        }
        let outcome = Outcome(fits: fitFound)
        let pipelinedLayers = TrainingPlan.repeatedLayers(analysis.layers, in: graph)
        let readsSharedParameter = PlanEvaluator.readsSharedParameter(graph)
        DispatchQueue.concurrentPerform(iterations: configurations.count) { index in
            if outcome.lock.withLock({ outcome.fits }) && isCancelled() {
                outcome.lock.withLock { outcome.leftOut = true }
                return
            }
            let configuration = configurations[index]
            let tp = configuration.tensorParallel, pp = configuration.pipelineParallel, vp = configuration.virtualStages
            let ep = configuration.expertParallel, cp = configuration.contextParallel
            let dp = configuration.dataParallel ?? cluster.deviceCount / (tp * pp * cp)
            guard batch % (configuration.microBatchSize * dp) == 0,
                  let chunks = try? TrainingPlan.chunkOperations(graph, pipelinedLayers: pipelinedLayers, ranks: pp, chunks: vp,
                                                                 split: configuration.layerSplit) else { return }
            let microbatches = batch / (configuration.microBatchSize * dp)
            let options = configuration.options
            let optionsKey = [RecomputeMode.allCases.firstIndex(of: options.recompute)!, options.recomputedBlocks ?? -1, options.zeroStage,
                              options.overlapGradientReduction ? 1 : 0, options.overlapTensorParallelCommunication ? 1 : 0,
                              options.overlapExpertParallelCommunication ? 1 : 0,
                              ContextParallelCommunication.allCases.firstIndex(of: options.contextParallelCommunication)!,
                              ExpertDispatcher.allCases.firstIndex(of: options.expertDispatcher)!]
            // The graph's analyses once per option set; only the microbatch count differs between the grid's models.
            let model = models.value(for: optionsKey) {
                StageCostModel(graph: graph, kernels: kernels, options: options, microbatches: microbatches)
            }.with(microbatches: microbatches)
            let fold = configuration.expertFold, overTensor = configuration.foldsExpertsOverTensor
            let profileKey = [microbatches, tp, dp, cp, ep, overTensor ? 1 : 0, configuration.sequenceParallel ? 1 : 0,
                              configuration.contextGroup ?? 0] + optionsKey
            let shape = TrainingPlan.megatronMeshShape(dataParallel: dp, tensorParallel: tp, contextParallel: cp,
                                                       contextAllToAll: configuration.contextGroup, expertParallel: ep, expertFold: fold)
            // The shape alone does not say which axis is which ([dp/ep, ep, tp] and [dp, cp, tp] can match).
            let strategies = layouts.value(for: shape + [configuration.sequenceParallel ? 1 : 0, ep / fold > 1 ? 1 : 0, cp > 1 ? 1 : 0,
                                                         ep > 1 ? 1 : 0, overTensor ? 1 : 0, configuration.contextGroup ?? 0]) {
                configuration.layout().strategies(for: graph, meshShape: shape, roles: roles)
            }
            let profile = profiles.value(for: profileKey) { () -> LayerCostProfile? in
                guard let mesh = try? DeviceMesh(devices: Array(0 ..< dp * cp * tp), shape: shape, in: cluster) else { return nil }
                return LayerCostProfile(model: model, clustering: clustering, mesh: mesh,
                                        layouts: clustering.layers.map { Array(strategies[$0.operations]) }, recompute: nil,
                                        cluster: cluster, neighbour: cluster.pipelineNeighbour(after: 0, devices: dp * cp * tp))
            }
            guard let profile else { return }
            // Parameters chunks on several ranks read (a tied embedding table) are all-reduced once an iteration.
            var rankOf = Array(repeating: 0, count: graph.operations.count)
            for (chunk, operations) in chunks.enumerated() { for op in operations { rankOf[op] = chunk % pp } }
            let rankDevices = dp * cp * tp
            let operatorModel = model.operatorModel(meshShape: shape)
            let shared = PlanEvaluator.sharedParameterSynchronization(
                graph: graph, operations: chunks.flatMap { $0.filter { readsSharedParameter[$0] } }, ranks: pp, rank: { rankOf[$0] },
                shardElements: { parameter, reader in
                    let operation = graph.operations[reader]
                    return operatorModel.localElements(parameter, strategies[reader].operandSpec(operation.inputs.firstIndex(of: parameter)!,
                                                                                                  in: operation.indexSpace))
                },
                gradientBytes: options.gradientPrecision.bytesPerElement,
                transferSeconds: { bytes, from, to in cluster.sendSeconds(bytes: bytes, from: rankOf[from] * rankDevices, to: rankOf[to] * rankDevices) })
            let schedule = configuration.schedule ?? (vp > 1 ? .interleaved : .oneForwardOneBackward)
            var forward: [[Double]] = [], backward: [[Double]] = [], transfers: [Double] = [], tail = 0.0, peak = 0.0
            for rank in 0 ..< pp {
                let layers = stride(from: rank, to: chunks.count, by: pp).map { chunk in
                    layerStarting[chunks[chunk].lowerBound]! ..< layerStarting[chunks[chunk].upperBound]!
                }
                let figures = layers.map { RankSummary.chunk($0, profile: profile, layerCount: clustering.layers.count) }
                var summary = RankSummary()
                for chunk in figures { summary.append(chunk) }
                forward.append(figures.map { $0.summary?.forwardSeconds ?? 0 })
                backward.append(figures.map { $0.summary?.backwardSeconds ?? 0 })
                transfers.append(summary.transferSeconds)
                tail = max(tail, summary.iterationSeconds(evaluator: evaluator, options: options, zeroStage: options.zeroStage) + shared.seconds[rank])
                let occupancy = ChunkOccupancy(schedule: schedule, stage: rank, stages: pp, microbatches: microbatches, virtualStages: vp,
                                               extraWarmUp: options.overlapExpertParallelCommunication ? 1 : 0)
                let activations = occupancy.chunkCount == layers.count
                    ? occupancy.peakBytes(chunkBytes: summary.chunkActivations)
                    : summary.chunkActivations.reduce(0, +) * Double(occupancy.mostChunksAlive) / Double(occupancy.chunkCount)
                peak = max(peak, summary.fixedBytes + activations)
            }
            // The schedule run pass by pass, as the evaluator prices it: the closed form would rank configurations
            // of unequal ranks (the embedding's, the head's) otherwise than their prices.
            let passes = PipelineTimeline.withTransfers(forwardSeconds: forward, backwardSeconds: backward, pointToPointSeconds: transfers)
            let pipeline = PipelineTimeline.makespan(schedule: schedule, microbatches: microbatches,
                                                     forwardSeconds: passes.forward, backwardSeconds: passes.backward)
            results[index] = Estimate(iterationSeconds: pipeline + tail, peakMemoryBytes: peak)
            if peak <= cluster.device.memoryBytes { outcome.lock.withLock { outcome.fits = true } }
        }
        return (configurations.indices.map { results[$0] }, !outcome.leftOut)
    }
}
