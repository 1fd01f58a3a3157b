/// One accelerator as the cost model sees it: memory capacity (bytes), peak arithmetic throughput per element
/// type (FLOP/s), memory bandwidth (bytes/s), and optional measured figures for a shape-aware kernel model.
///
/// All values are SI units; `shardplan.cluster/1` writes them in GiB, TFLOP/s, GB/s and MHz (Docs/clusters.md).
public struct DeviceSpec: Sendable, Equatable {
    /// The product name, as NVIDIA writes it (`A100-SXM4-80GB`).
    public var name: String
    /// Memory capacity in bytes.
    public var memoryBytes: Double
    /// Datasheet peak (dense) arithmetic throughput in FLOP/s for each element type the device lists.
    public var peakFLOPsPerSecond: [DType: Double]
    /// Datasheet memory bandwidth in bytes per second.
    public var memoryBandwidth: Double
    /// Streaming multiprocessors (SMs); nil when unknown.
    public var multiprocessors: Int?
    /// The clock, in hertz, at which the datasheet quotes `peakFLOPsPerSecond`; nil when unknown.
    public var boostClockHertz: Double?
    /// The best measured matmul throughput in FLOP/s per element type (for example the maximum achievable
    /// matmul FLOPS, MAMF); empty when not measured.
    public var bestMatmulFLOPsPerSecond: [DType: Double]
    /// The fraction of `memoryBandwidth` that streaming kernels reach; nil when not measured.
    public var achievableMemoryBandwidthFraction: Double?

    /// A device with these figures, in SI units, taken as given: `Cluster.validate()` checks them (a name, a
    /// bf16 or f16 peak, every figure positive and plausible) for the cluster that holds the device.
    public init(name: String, memoryBytes: Double, peakFLOPsPerSecond: [DType: Double], memoryBandwidth: Double,
                multiprocessors: Int? = nil, boostClockHertz: Double? = nil,
                bestMatmulFLOPsPerSecond: [DType: Double] = [:], achievableMemoryBandwidthFraction: Double? = nil) {
        self.name = name
        self.memoryBytes = memoryBytes
        self.peakFLOPsPerSecond = peakFLOPsPerSecond
        self.memoryBandwidth = memoryBandwidth
        self.multiprocessors = multiprocessors
        self.boostClockHertz = boostClockHertz
        self.bestMatmulFLOPsPerSecond = bestMatmulFLOPsPerSecond
        self.achievableMemoryBandwidthFraction = achievableMemoryBandwidthFraction
    }

    /// The element type whose figures govern arithmetic in `dtype`: `dtype` itself when the device lists it,
    /// else the next type at least as wide that it lists (an fp8 matmul on an A100 runs at the bf16 rate, bf16
    /// and f16 share a rate, tf32 falls back to f32), else the listed type with the lowest peak (conservative).
    /// Requires at least one listed type, as `Cluster.validate()` does.
    public func arithmeticType(for dtype: DType) -> DType {
        Self.arithmeticType(for: dtype, among: peakFLOPsPerSecond)!
    }

    /// `arithmeticType(for:)` over the types `rates` lists; nil when it lists none.
    static func arithmeticType(for dtype: DType, among rates: [DType: Double]) -> DType? {
        for candidate in substitutes(for: dtype) where rates[candidate] != nil { return candidate }
        return rates.min { ($0.value, $0.key.rawValue) < ($1.value, $1.key.rawValue) }?.key
    }

    /// Peak FLOP/s for arithmetic in `dtype`, following `arithmeticType(for:)` when the type is not listed.
    /// Requires at least one listed type, as `Cluster.validate()` does.
    public func peakFLOPsPerSecond(for dtype: DType) -> Double {
        peakFLOPsPerSecond[arithmeticType(for: dtype)]!
    }

    /// The measured matmul FLOP/s for `dtype` (through `arithmeticType(for:)`), or nil when not measured.
    /// A type with the same peak stands in for an unmeasured one (f16 takes bf16's figure on an A100).
    public func bestMatmulFLOPsPerSecond(for dtype: DType) -> Double? {
        let type = arithmeticType(for: dtype)
        let peak = peakFLOPsPerSecond[type]
        return Self.substitutes(for: type)
            .first { bestMatmulFLOPsPerSecond[$0] != nil && peakFLOPsPerSecond[$0] == peak }
            .flatMap { bestMatmulFLOPsPerSecond[$0] }
    }

    /// The types whose rate applies to `dtype`, in order of preference: the type, then wider floating-point
    /// types. Integer and boolean arithmetic runs on the CUDA cores, at the f32 rate.
    private static func substitutes(for dtype: DType) -> [DType] {
        switch dtype {
        case .fp8: [.fp8, .bf16, .f16, .tf32, .f32]
        case .bf16: [.bf16, .f16, .tf32, .f32]
        case .f16: [.f16, .bf16, .tf32, .f32]
        case .tf32: [.tf32, .f32]
        case .f32: [.f32]
        case .i64, .i32, .i8, .bool: [dtype, .f32]
        }
    }
}
