/// The configurations a Megatron-LM user would try: every tensor-parallel size up to a node, every
/// pipeline depth that divides the repeated layers and the devices, the data parallelism the devices
/// leave, microbatch sizes, interleaving and sequence parallelism. The pipeline planner prices them next to
/// the DP's plans, so its answer is never slower than the best expert layout (the DP clusters the graph
/// into a handful of layers and runs 1F1B only; the experts' deep, interleaved pipelines are outside it).
public struct MegatronGrid: Sendable {
    /// Samples per microbatch and data-parallel replica to try.
    public var microBatchSizes: [Int]
    /// The most model chunks per pipeline rank (interleaved 1F1B).
    public var maximumVirtualStages: Int

    public init(microBatchSizes: [Int] = [1, 2, 4, 8], maximumVirtualStages: Int = 4) {
        self.microBatchSizes = microBatchSizes
        self.maximumVirtualStages = maximumVirtualStages
    }

    /// The configurations of `graph` on `cluster` with `options`, in a fixed order, without those whose
    /// parameters' training state alone, spread evenly over tensor and pipeline ranks, exceeds a device's
    /// memory. `maximumStageCount` bounds the pipeline depth, `meshShape` the `[dp, tp]` mesh of every stage
    /// and `microbatches` the microbatch count, when given.
    public func configurations(for graph: Graph, on cluster: Cluster, options: TrainingOptions, analysis: GraphAnalysis,
                               maximumStageCount: Int? = nil, meshShape: [Int]? = nil,
                               microbatches fixed: Int? = nil) -> [MegatronConfiguration] {
        let counts = Dictionary(grouping: analysis.layers, by: \.structureKey).mapValues(\.count)
        let blocks = counts.values.max() ?? 0
        let devices = cluster.deviceCount
        let batch = graph.batchSize ?? 1
        let budget = cluster.device.memoryBytes - TrainingOptions.frameworkOverheadBytes
        var result: [MegatronConfiguration] = []
        var tp = 1
        while tp <= cluster.devicesPerDomain {
            defer { tp *= 2 }
            for pp in 1...max(blocks, 1) where blocks % pp == 0 && devices % (tp * pp) == 0 && pp <= (maximumStageCount ?? pp) {
                let dp = devices / (tp * pp)
                if let meshShape, meshShape != [dp, tp] { continue }
                let state = ParameterState(elements: Double(analysis.parameterCount) / Double(tp * pp), dataParallel: Double(dp),
                                           zeroStage: options.zeroStage)
                guard state.totalBytes <= budget else { continue }
                for size in microBatchSizes where batch % (size * dp) == 0 {
                    let microbatches = batch / (size * dp)
                    if let fixed, fixed != microbatches { continue }
                    // Megatron interleaves only when the microbatches fill whole rounds of the pipeline.
                    let interleavings = (1...maximumVirtualStages).filter { vp in
                        vp == 1 || (pp > 1 && blocks % (pp * vp) == 0 && microbatches % pp == 0)
                    }
                    for vp in interleavings {
                        for sequenceParallel in tp > 1 ? [false, true] : [false] {
                            result.append(MegatronConfiguration(tensorParallel: tp, pipelineParallel: pp, dataParallel: dp,
                                                                microBatchSize: size, virtualStages: vp,
                                                                sequenceParallel: sequenceParallel, options: options))
                        }
                    }
                }
            }
        }
        return result
    }
}
