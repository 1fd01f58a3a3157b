/// What the stage DP asks of the intra-operator search: the best stage that runs clustered layers `layers` on
/// a submesh of shape `submesh` (any of its logical meshes), the global batch split into `microbatches`
/// microbatches, at `position` in the pipeline (which decides the activations it keeps alive), or nil when no
/// sharding of it fits in device memory.
///
/// Under the interleaved schedule a stage is a pipeline rank: it holds `layers.count` layers split into
/// `position.virtualStages` chunks (`ChunkSplit`), and the layers' positions in the model matter only at
/// its two ends (the first rank's first chunk holds layer 0, the last rank's last chunk the last layer). The DP
/// uses interleaving only for models whose middle layers all have one structure.
///
/// Answers must depend only on the arguments (the DP and `CachedStageCostOracle` reuse them), and layer ranges
/// with equal structure signatures (`LayerClustering.structureSignature(of:)`) must get equal answers, with a
/// payload that reads the same relative to each range's first op.
public protocol StageCostOracle<Payload>: Sendable {
    associatedtype Payload: Sendable

    /// The memory per device, in bytes, that every answer is the fastest stage within, when GPipe and 1F1B
    /// answers follow the memory rule: a stage's peak grows by `activationBytesPerMicrobatch` per microbatch in
    /// flight, so the fastest stage for k microbatches is also the fastest for more while it still fits, and
    /// nothing fits for more when nothing fits for k. Then `StageCandidateTable` asks once per layer range
    /// and submesh and asks again only where memory binds. Nil asks about every count.
    var deviceMemoryBytes: Double? { get }

    /// The best stage under GPipe or 1F1B with the activations of `inFlightMicrobatches` microbatches alive.
    func stageCost(layers: Range<Int>, submesh: SubmeshShape, microbatches: Int, inFlightMicrobatches: Int) -> StageCandidate<Payload>?

    /// The best stage at `position`. By default, the answer for the microbatches alive there, the whole
    /// range taken as one chunk.
    func stageCost(layers: Range<Int>, submesh: SubmeshShape, microbatches: Int, position: PipelinePosition) -> StageCandidate<Payload>?

    /// The best stage at `position`, for a search that may stop (at its time limit): once `isCancelled` says
    /// so, and from then on it always says so, an oracle whose questions can take long may give up and answer
    /// nil without having answered, keeping nothing half-made. By default the question is answered in full.
    func stageCost(layers: Range<Int>, submesh: SubmeshShape, microbatches: Int, position: PipelinePosition,
                   isCancelled: () -> Bool) -> StageCandidate<Payload>?
}

extension StageCostOracle {
    public func stageCost(layers: Range<Int>, submesh: SubmeshShape, microbatches: Int,
                          position: PipelinePosition) -> StageCandidate<Payload>? {
        stageCost(layers: layers, submesh: submesh, microbatches: microbatches, inFlightMicrobatches: position.inFlightMicrobatches)
    }

    public func stageCost(layers: Range<Int>, submesh: SubmeshShape, microbatches: Int, position: PipelinePosition,
                          isCancelled: () -> Bool) -> StageCandidate<Payload>? {
        stageCost(layers: layers, submesh: submesh, microbatches: microbatches, position: position)
    }
}
