@testable import ShardPlan

/// A deterministic stand-in for the intra-operator search: every (layer range, submesh) gets three
/// pseudo-random strategies from `seed` (a latency, model-state bytes and activation bytes per microbatch),
/// and the answer is the fastest one whose peak memory with the in-flight microbatches fits in `memoryBytes`,
/// as an ILP with a memory budget would choose. A fast strategy with large activations loses to a slower
/// one as the in-flight count grows, so latency depends on where the stage sits.
struct SyntheticStageCostOracle: StageCostOracle {
    var seed: UInt64
    /// Device memory, in the oracle's units.
    var memoryBytes = 10.0
    /// Whether the oracle reports per-iteration work.
    var reportsIterationSeconds = false
    /// Whether it states `memoryBytes` as its `deviceMemoryBytes`, letting the table reuse answers.
    var statesMemory = true

    var deviceMemoryBytes: Double? { statesMemory ? memoryBytes : nil }

    func stageCost(layers: Range<Int>, submesh: SubmeshShape, microbatches: Int, inFlightMicrobatches: Int) -> StageCandidate<Int>? {
        var state = seed ^ UInt64(layers.lowerBound) << 8 ^ UInt64(layers.upperBound) << 16
            ^ UInt64(submesh.nodes) << 24 ^ UInt64(submesh.devicesPerNode) << 40
        func uniform() -> Double { Double(Self.mix(&state) >> 11) / Double(1 << 53) }
        let work = Double(layers.count) * (0.5 + uniform())
        let devices = Double(submesh.deviceCount)
        let extra = reportsIterationSeconds ? uniform() : 0
        var best: StageCandidate<Int>?
        for strategy in 0 ..< 3 {
            let latency = work / devices.squareRoot() * (1 + 0.3 * Double(strategy)) + uniform() * 0.5
            let modelState = Double(layers.count) * 8 * uniform() / devices
            let activations = Double(layers.count) * uniform() / Double(strategy + 1)
            let peak = modelState + activations * Double(inFlightMicrobatches)
            guard peak <= memoryBytes, latency < best?.microbatchSeconds ?? .infinity else { continue }
            // A handle a caller could look the stage up by.
            let handle = layers.lowerBound * 10000 + layers.upperBound * 100 + submesh.deviceCount * 3 + strategy
            best = StageCandidate(microbatchSeconds: latency, iterationSeconds: extra, peakMemoryBytes: peak,
                                  activationBytesPerMicrobatch: activations, payload: handle)
        }
        return best
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
