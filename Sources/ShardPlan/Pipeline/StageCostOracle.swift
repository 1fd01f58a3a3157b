/// What the stage DP asks of the intra-operator search: the best stage that runs clustered layers `layers` on
/// a submesh of shape `submesh` (any of its logical meshes), the global batch split into `microbatches`
/// microbatches, while holding the activations of `inFlightMicrobatches` of them, or nil when no sharding of it
/// fits in device memory.
///
/// The DP needs an answer for every in-flight count a stage can have (1F1B: stage i of S holds
/// min(S - i, m) microbatches; GPipe: all m), so memory is checked exactly where the stage sits. Answers must
/// depend only on the arguments (the DP and `CachedStageCostOracle` reuse them), and layer ranges with equal
/// structure signatures (`LayerClustering.structureSignature(of:)`) must get equal answers, with a payload
/// that reads the same relative to each range's first op.
public protocol StageCostOracle<Payload>: Sendable {
    associatedtype Payload: Sendable

    /// The memory per device, in bytes, that every answer is the fastest stage within, when answers follow
    /// the memory rule: a stage's peak grows by `activationBytesPerMicrobatch` per microbatch in flight, so
    /// the fastest stage for k microbatches is also the fastest for more while it still fits, and nothing fits
    /// for more when nothing fits for k. Then `StageCandidateTable` asks once per layer range and submesh
    /// and asks again only where memory binds. Nil asks about every count.
    var deviceMemoryBytes: Double? { get }

    func stageCost(layers: Range<Int>, submesh: SubmeshShape, microbatches: Int, inFlightMicrobatches: Int) -> StageCandidate<Payload>?
}
