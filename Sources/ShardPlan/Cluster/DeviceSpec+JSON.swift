import Foundation

extension DeviceSpec {
    static let bytesPerGiB = 1_073_741_824.0
    static let flopsPerTFLOP = 1e12
    static let bytesPerGB = 1e9
    static let hertzPerMHz = 1e6
    /// The order element types are written in, matching SPEC's example (`bf16`, `f16`, `tf32`, `f32`).
    static let dtypeOrder: [DType] = [.bf16, .f16, .tf32, .f32, .fp8, .i8, .i32, .i64, .bool]
    /// The most multiprocessors (SMs, compute units) a device file may give: ten times today's largest GPUs.
    static let maximumMultiprocessors = 4096

    /// Decodes the `device` object of a `shardplan.cluster/1` document.
    init(json reader: JSONReader) throws(InputError) {
        let name = try reader.string("name")
        guard !name.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw reader.invalid("name", "expected the device's name, such as \"H100-SXM5-80GB\", found an empty one")
        }
        let peak = try reader.numbersByDType("peak_tflops")
        // Training runs its products in 16 bits (FP8 ones beside them at most); V100 has f16 and no bf16.
        guard peak[.bf16] != nil || peak[.f16] != nil else {
            throw reader.invalid("peak_tflops", "no bf16 or f16 rate: training's products run in 16 bits, so the device needs a 16-bit peak (an A100's is {\"bf16\": 312})")
        }
        let multiprocessors = try reader.optionalPositiveInt("multiprocessors")
        if let multiprocessors, multiprocessors > Self.maximumMultiprocessors {
            throw reader.invalid("multiprocessors", "\(multiprocessors) multiprocessors is more than any GPU has (at most \(Self.maximumMultiprocessors); an H100 has 132, an MI300X 304 compute units)")
        }
        var best: [DType: Double] = [:]
        if reader.contains("best_matmul_tflops") {
            best = try reader.numbersByDType("best_matmul_tflops")
            let path = reader.path.appending("best_matmul_tflops")
            for (dtype, measured) in best.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
                guard let ceiling = peak[dtype] else {
                    throw InputError(.invalidValue, at: path.appending(dtype.rawValue),
                                     "peak_tflops has no \(dtype.rawValue) figure; a measured rate needs the peak it is measured against")
                }
                guard measured <= ceiling else {
                    throw InputError(.invalidValue, at: path.appending(dtype.rawValue),
                                     "\(JSONWriter.formatNumber(measured)) TFLOP/s exceeds the \(dtype.rawValue) peak of \(JSONWriter.formatNumber(ceiling)); a measured rate cannot beat the peak")
                }
            }
        }
        self.init(name: name,
                  memoryBytes: try reader.positiveNumber("memory_gib", outOfRange: Self.memoryOutOfRange) * Self.bytesPerGiB,
                  peakFLOPsPerSecond: peak.mapValues { $0 * Self.flopsPerTFLOP },
                  memoryBandwidth: try reader.positiveNumber("memory_bandwidth_gb_per_s") * Self.bytesPerGB,
                  multiprocessors: multiprocessors,
                  boostClockHertz: try reader.optionalPositiveNumber("boost_clock_mhz").map { $0 * Self.hertzPerMHz },
                  bestMatmulFLOPsPerSecond: best.mapValues { $0 * Self.flopsPerTFLOP },
                  achievableMemoryBandwidthFraction: try reader.optionalFraction("achievable_memory_bandwidth_fraction"))
    }

    /// Why a `memory_gib` outside `JSONReader.plausibleFigures` is refused: no accelerator holds under a KiB or more
    /// than an exabyte, so such a figure is a slip of the unit (bytes or MiB written as GiB).
    static let memoryOutOfRange = "no device holds under a KiB (1e-6 GiB) or over an exabyte (1e9 GiB) of memory; "
        + "memory_gib is in GiB (80 for an 80 GiB device), not bytes or MiB"

    /// The device as the `device` object of a `shardplan.cluster/1` document.
    public var json: JSONValue {
        var object = JSONObject()
        object["name"] = .string(name)
        object["memory_gib"] = .number((memoryBytes / Self.bytesPerGiB).roundedForJSON)
        object["peak_tflops"] = Self.tflopsTable(peakFLOPsPerSecond)
        object["memory_bandwidth_gb_per_s"] = .number((memoryBandwidth / Self.bytesPerGB).roundedForJSON)
        if let multiprocessors { object["multiprocessors"] = .int(multiprocessors) }
        if let boostClockHertz { object["boost_clock_mhz"] = .number((boostClockHertz / Self.hertzPerMHz).roundedForJSON) }
        if !bestMatmulFLOPsPerSecond.isEmpty { object["best_matmul_tflops"] = Self.tflopsTable(bestMatmulFLOPsPerSecond) }
        if let achievableMemoryBandwidthFraction {
            object["achievable_memory_bandwidth_fraction"] = .number(achievableMemoryBandwidthFraction)
        }
        return .object(object)
    }

    private static func tflopsTable(_ rates: [DType: Double]) -> JSONValue {
        .object(JSONObject(dtypeOrder.compactMap { dtype in
            rates[dtype].map { (dtype.rawValue, .number(($0 / flopsPerTFLOP).roundedForJSON)) }
        }))
    }
}
