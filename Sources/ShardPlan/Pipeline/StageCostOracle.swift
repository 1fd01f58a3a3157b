/// What the stage DP asks of the intra-operator search: the best stage that runs clustered layers `layers` on
/// a submesh of shape `submesh` (any of its logical meshes) while holding the activations of
/// `inFlightMicrobatches` microbatches, or nil when no sharding of it fits in device memory.
///
/// The DP asks for every in-flight count a stage can have (1F1B: the stage i of S holds min(S - i, m)
/// microbatches; GPipe: all m), so memory is checked exactly where the stage sits. Answers must depend only on
/// the arguments (the DP and `CachedStageCostOracle` reuse them), and layer ranges with equal structure
/// signatures (`LayerClustering.structureSignature(of:)`) must get equal answers, with a payload that reads
/// the same relative to each range's first op.
public protocol StageCostOracle<Payload>: Sendable {
    associatedtype Payload: Sendable

    func stageCost(layers: Range<Int>, submesh: SubmeshShape, inFlightMicrobatches: Int) -> StageCandidate<Payload>?
}
