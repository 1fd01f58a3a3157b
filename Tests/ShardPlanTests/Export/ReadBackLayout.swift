@testable import ShardPlan

/// What a framework's settings say about the layout, read back by the readers in this folder: the values
/// the round-trip tests compare with the plan's.
struct ReadBackLayout: Equatable, CustomStringConvertible {
    var tensorParallel: Int
    var pipelineParallel: Int
    var dataParallel: Int
    var contextParallel: Int
    var expertParallel: Int
    var virtualStages: Int
    var microBatchSize: Int
    var recompute: RecomputeMode
    /// Whether the linear layers run in FP8.
    var fp8: Bool

    /// The values `layout` should read back as.
    init(_ layout: ParallelLayout) {
        self.init(tensorParallel: layout.tensorParallel, pipelineParallel: layout.pipelineParallel, dataParallel: layout.dataParallel,
                  contextParallel: layout.contextParallel, expertParallel: layout.expertParallel, virtualStages: layout.virtualStages,
                  microBatchSize: layout.microBatchSize, recompute: layout.recompute,
                  fp8: layout.configuration.options.precision == .fp8)
    }

    init(tensorParallel: Int, pipelineParallel: Int, dataParallel: Int, contextParallel: Int, expertParallel: Int,
         virtualStages: Int, microBatchSize: Int, recompute: RecomputeMode, fp8: Bool) {
        self.tensorParallel = tensorParallel
        self.pipelineParallel = pipelineParallel
        self.dataParallel = dataParallel
        self.contextParallel = contextParallel
        self.expertParallel = expertParallel
        self.virtualStages = virtualStages
        self.microBatchSize = microBatchSize
        self.recompute = recompute
        self.fp8 = fp8
    }

    var description: String {
        "tp=\(tensorParallel) pp=\(pipelineParallel) dp=\(dataParallel) cp=\(contextParallel) ep=\(expertParallel) "
            + "vp=\(virtualStages) mbs=\(microBatchSize) recompute=\(recompute.rawValue)" + (fp8 ? " fp8" : "")
    }
}

/// A setting a reader could not make sense of.
struct ReadBackError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
