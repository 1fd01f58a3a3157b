/// One pipeline rank's figures, assembled from its chunks' summaries as `PlanEvaluator` assembles a rank from
/// its chunks' costs: forward, backward and point-to-point seconds per microbatch add up over the chunks, the
/// gradient synchronisation and optimizer step too (exposed once per iteration against the rank's whole
/// forward and backward pass), model state adds up, and each chunk keeps its own activations per microbatch
/// in flight (`ChunkOccupancy` says how many), besides the largest working sets of the backward pass
/// (recomputation's, the loss gradient's) and of
/// ZeRO-3's gathered weights and unsharded gradients (one chunk runs at a time).
struct RankSummary: Sendable {
    var forwardSeconds = 0.0
    var backwardSeconds = 0.0
    /// Sending results to the next chunk and receiving them from the previous one, forward and back.
    var transferSeconds = 0.0
    var synchronizationSeconds = 0.0
    var optimizerSeconds = 0.0
    var lastMicrobatchSeconds = 0.0
    var modelStateBytes = 0.0
    /// The chunks' working sets of the backward pass, gathered weights and unsharded gradients.
    var transientMemory = TransientMemory()
    /// Activation bytes per microbatch of each chunk, in the rank's chunk order.
    var chunkActivations: [Double] = []

    /// The rank running `chunks` (ranges of `profile`'s clustered layers; empty chunks allowed) of a model of
    /// `layerCount` layers: a chunk receives unless it starts the model and sends unless it ends it.
    init(profile: LayerCostProfile, chunks: [Range<Int>], layerCount: Int) {
        for chunk in chunks { append(Self.chunk(chunk, profile: profile, layerCount: layerCount)) }
    }

    /// A rank of no chunks yet.
    init() {}

    /// One chunk's figures and its transfers to the neighbouring chunks.
    struct Chunk: Sendable {
        var summary: StageCostSummary?
        var transferSeconds: Double
    }

    /// The figures of chunk `layers` of a model of `layerCount` layers on `profile`.
    static func chunk(_ layers: Range<Int>, profile: LayerCostProfile, layerCount: Int) -> Chunk {
        guard !layers.isEmpty else { return Chunk(summary: nil, transferSeconds: 0) }
        var transfers = 0.0
        if layers.lowerBound > 0 { transfers += profile.transferSeconds[layers.lowerBound - 1] }
        if layers.upperBound < layerCount { transfers += profile.transferSeconds[layers.upperBound - 1] }
        return Chunk(summary: profile.summary(layers: layers), transferSeconds: transfers)
    }

    /// Adds the rank's next chunk.
    mutating func append(_ chunk: Chunk) {
        guard let summary = chunk.summary else { chunkActivations.append(0); return }
        forwardSeconds += summary.forwardSeconds
        backwardSeconds += summary.backwardSeconds
        synchronizationSeconds += summary.synchronizationSeconds
        optimizerSeconds += summary.optimizerSeconds
        lastMicrobatchSeconds += summary.lastMicrobatchSeconds
        modelStateBytes += summary.modelStateBytes
        transientMemory.include(summary.transientMemory)
        chunkActivations.append(summary.activationBytesPerMicrobatch)
        transferSeconds += chunk.transferSeconds
    }

    /// Seconds per microbatch: the rank's latency in the schedule.
    var microbatchSeconds: Double { forwardSeconds + backwardSeconds + transferSeconds }

    /// Seconds once per iteration: the synchronisation `evaluator` leaves exposed with `options` (and `zeroStage` at
    /// least), what only the last microbatch pays, and the optimizer step.
    func iterationSeconds(evaluator: PlanEvaluator, options: TrainingOptions, zeroStage: Int) -> Double {
        var options = options
        options.zeroStage = max(options.zeroStage, zeroStage)
        return evaluator.exposedSynchronization(synchronizationSeconds, options: options, forwardSeconds: forwardSeconds,
                                                backwardSeconds: backwardSeconds) + lastMicrobatchSeconds + optimizerSeconds
    }

    /// Bytes per device besides activations: model state, the working sets and the framework's own.
    var fixedBytes: Double {
        modelStateBytes + transientMemory.bytes + TrainingOptions.frameworkOverheadBytes
    }
}
