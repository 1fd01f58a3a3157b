@testable import ShardPlan

/// A deterministic stand-in for the intra-operator search: every (layer range, submesh) gets pseudo-random
/// figures from `seed`, and fits in memory only while its model state plus `inFlight` microbatches of
/// activations stay within `memoryBytes`. Some ranges also slow down as memory tightens, as an ILP with a
/// memory budget would, so latency depends on the in-flight count too.
struct SyntheticStageCostOracle: StageCostOracle {
    var seed: UInt64
    /// Device memory, in the oracle's units.
    var memoryBytes = 10.0
    /// Whether the oracle reports per-iteration work.
    var reportsIterationSeconds = false

    func stageCost(layers: Range<Int>, submesh: SubmeshShape, inFlightMicrobatches: Int) -> StageCandidate<Int>? {
        var state = seed ^ UInt64(layers.lowerBound) << 8 ^ UInt64(layers.upperBound) << 16
            ^ UInt64(submesh.nodes) << 24 ^ UInt64(submesh.devicesPerNode) << 40
        func uniform() -> Double { Double(Self.mix(&state) >> 11) / Double(1 << 53) }
        let work = Double(layers.count) * (0.5 + uniform())
        let devices = Double(submesh.deviceCount)
        let latency = work / devices.squareRoot() + uniform() * 0.5
        let modelState = Double(layers.count) * 8 * uniform() / devices
        let activations = Double(layers.count) * uniform()
        let tightening = uniform() < 0.3 ? 0.05 * Double(inFlightMicrobatches) : 0
        let extra = reportsIterationSeconds ? uniform() : 0
        let peak = modelState + activations * Double(inFlightMicrobatches)
        guard peak <= memoryBytes else { return nil }
        // A handle a caller could look the stage up by.
        let handle = layers.lowerBound * 1000 + layers.upperBound * 10 + submesh.deviceCount
        return StageCandidate(microbatchSeconds: latency * (1 + tightening), iterationSeconds: extra,
                              peakMemoryBytes: peak, payload: handle)
    }

    /// SplitMix64 (Steele, Lea and Flood 2014).
    static func mix(_ state: inout UInt64) -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
