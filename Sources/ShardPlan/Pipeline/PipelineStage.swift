/// One stage of a pipeline the stage DP chose: clustered layers `layers` run on the devices `devices` (a
/// submesh of shape `submesh`) with the candidate the oracle gave for them. Under the interleaved schedule a
/// stage is a pipeline rank and `layers` counts the layers its chunks hold (`ChunkSplit`).
public struct PipelineStage<Payload: Sendable>: Sendable {
    /// Indices into `LayerClustering.layers`.
    public var layers: Range<Int>
    public var submesh: SubmeshShape
    /// Device ids, node-major, from `SubmeshShape.placement(of:nodes:devicesPerNode:)`.
    public var devices: [Int]
    /// Where the stage sits in the pipeline, which decides the activations it holds.
    public var position: PipelinePosition
    public var candidate: StageCandidate<Payload>

    public init(layers: Range<Int>, submesh: SubmeshShape, devices: [Int], position: PipelinePosition,
                candidate: StageCandidate<Payload>) {
        self.layers = layers
        self.submesh = submesh
        self.devices = devices
        self.position = position
        self.candidate = candidate
    }

    /// Whole microbatches (through all the stage's chunks) whose activations the stage holds at its peak.
    public var inFlightMicrobatches: Int { position.inFlightMicrobatches }
}
