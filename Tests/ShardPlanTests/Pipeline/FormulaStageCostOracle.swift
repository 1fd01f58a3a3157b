@testable import ShardPlan

/// A stage cost oracle given by closed forms, for known answers: latency and peak memory from the number of
/// layers, the submesh and the in-flight microbatches.
struct FormulaStageCostOracle: StageCostOracle {
    var latency: @Sendable (_ layers: Int, _ submesh: SubmeshShape) -> Double
    /// Model-state bytes per device for a stage of `layers` layers on `submesh`.
    var modelState: @Sendable (_ layers: Int, _ submesh: SubmeshShape) -> Double = { _, _ in 0 }
    /// Activation bytes per device per microbatch in flight.
    var activations: @Sendable (_ layers: Int, _ submesh: SubmeshShape) -> Double = { _, _ in 0 }
    var iterationSeconds: @Sendable (_ layers: Int, _ submesh: SubmeshShape) -> Double = { _, _ in 0 }
    var memoryBytes = Double.infinity

    var deviceMemoryBytes: Double? { memoryBytes }

    func stageCost(layers: Range<Int>, submesh: SubmeshShape, microbatches: Int, inFlightMicrobatches: Int) -> StageCandidate<Int>? {
        let perMicrobatch = activations(layers.count, submesh)
        let peak = modelState(layers.count, submesh) + perMicrobatch * Double(inFlightMicrobatches)
        guard peak <= memoryBytes else { return nil }
        return StageCandidate(microbatchSeconds: latency(layers.count, submesh),
                              iterationSeconds: iterationSeconds(layers.count, submesh), peakMemoryBytes: peak,
                              activationBytesPerMicrobatch: perMicrobatch, payload: layers.count)
    }
}
