/// One stage of a pipeline the stage DP chose: clustered layers `layers` run on the devices `devices` (a
/// submesh of shape `submesh`) with the candidate the oracle gave for them.
public struct PipelineStage<Payload: Sendable>: Sendable {
    /// Indices into `LayerClustering.layers`.
    public var layers: Range<Int>
    public var submesh: SubmeshShape
    /// Device ids, node-major, from `SubmeshShape.placement(of:nodes:devicesPerNode:)`.
    public var devices: [Int]
    /// Microbatches whose activations the stage holds at its peak under the schedule.
    public var inFlightMicrobatches: Int
    public var candidate: StageCandidate<Payload>

    public init(layers: Range<Int>, submesh: SubmeshShape, devices: [Int], inFlightMicrobatches: Int,
                candidate: StageCandidate<Payload>) {
        self.layers = layers
        self.submesh = submesh
        self.devices = devices
        self.inFlightMicrobatches = inFlightMicrobatches
        self.candidate = candidate
    }
}
