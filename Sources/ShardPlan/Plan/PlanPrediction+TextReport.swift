extension PlanPrediction {
    /// What runs in FP8, as a clause to append to a summary line (", linear layers in FP8 (tensorwise)"); empty in bf16.
    static func precisionText(_ options: TrainingOptions) -> String {
        let layers = switch options.precision {
        case .bf16: ""
        case .fp8: ", linear layers in FP8 (\(options.fp8Recipe.rawValue))"
        case .auto: ", linear layers in FP8 (\(options.fp8Recipe.rawValue)) where faster"
        }
        return layers + (options.fp8Parameters ? ", their weights kept in FP8" : "")
    }

    /// How MFU and TFLOP/s per device count, as one line: the model FLOPs (`OperationCost.modelTrainingFLOPs`) and
    /// the peak `PlanEvaluator` divides by, the device's dense rate for bf16 (its f16 rate on a V100), also under FP8,
    /// as NVIDIA's and torchtitan's FP8 tables count it. "MFU and TFLOP/s per device count model FLOPs: 3 x forward,
    /// causal attention counted dense; MFU against the 989.4 TFLOP/s dense bf16 peak".
    /// With `causalHalved` (`PlanPrediction.causalHalvedUtilization`: long sequences), the line adds that MFU: "; MFU
    /// 43.0% with causal attention counted as the half it computes".
    static func utilizationDefinition(_ plan: TrainingPlan, causalHalved: Double? = nil) -> String {
        let graph = plan.graph
        let causal = graph.operations.contains { if case .attention(causal: true, _, _) = $0.op { true } else { false } }
        let windowed = graph.operations.contains { OperationCost.window($0, in: graph) != nil }
        // As Megatron-LM's (Narayanan et al. 2021) and PaLM's MFU formulas count it: dense, twice the triangle a causal kernel computes.
        let attention = causal ? ", causal attention counted dense" + (windowed ? ", a sliding window as twice its band" : "") : ""
        let frozen = graph.frozenParameters.isEmpty ? "" : " less the backward work frozen weights skip"
        let device = plan.cluster.device
        let peak = Cluster.figure(device.peakFLOPsPerSecond(for: .bf16) / DeviceSpec.flopsPerTFLOP)
        let fp8 = plan.options.precision == .bf16 ? "" : ", not the FP8 peak"
        let halved = causalHalved.map { "; MFU \(percent($0)) with causal attention counted as the half it computes" } ?? ""
        return "MFU and TFLOP/s per device count model FLOPs: 3 x forward\(frozen)\(attention); "
            + "MFU against the \(peak) TFLOP/s dense \(device.arithmeticType(for: .bf16).rawValue) peak\(fp8)\(halved)"
    }

    /// A report a person reads in ten seconds: the headline numbers, where the time goes, and each rank's
    /// devices, times and memory.
    public func textReport(for plan: TrainingPlan) -> String {
        var lines: [String] = []
        // "(16 devices)", or "(8 of 24 devices)" where the plan leaves some of the cluster's idle.
        let idle = plan.deviceCount < plan.cluster.deviceCount ? " of \(plan.cluster.deviceCount)" : ""
        let title = "\(plan.graph.name) on \(plan.clusterTitle) (\(plan.deviceCount)\(idle) device\(plan.deviceCount == 1 && idle.isEmpty ? "" : "s"))"
        lines.append(plan.summary.map { "\(title): \($0)" } ?? title)
        let batch = plan.rebatchedFrom == nil ? "" : plan.globalBatchText() + ", "
        lines.append(batch + "schedule \(plan.schedule.rawValue), \(plan.microbatches) microbatch\(plan.microbatches == 1 ? "" : "es")"
                     + (plan.virtualStages > 1 ? ", \(plan.virtualStages) chunks per rank" : "")
                     + (plan.accumulatesUnshardedGradients
                        ? ", ZeRO-3 gradients accumulated unsharded and reduce-scattered once (no_sync)" : "")
                     + Self.precisionText(plan.options))
        if let provenance = plan.provenance { lines.append(provenance.description) }
        lines.append("iteration \(Self.seconds(iterationSeconds))  |  \(Self.significant(samplesPerSecond)) samples/s  |  "
                     + "\(Self.significant(tflopsPerDevice)) TFLOP/s per device  |  MFU \(Self.percent(modelFLOPsUtilization))")
        lines.append(Self.utilizationDefinition(plan, causalHalved: causalHalvedUtilization))
        lines.append("peak memory \(Self.bytes(peakMemoryBytesPerDevice)) of \(Self.deviceMemory(deviceMemoryBytes)) per device"
                     + (fitsInMemory ? "" : "  DOES NOT FIT"))
        if !plan.rewrites.isEmpty { lines.append("graph rewrites: " + plan.rewriteCounts) }
        if let frozen = plan.frozenParametersText { lines.append(frozen) }
        lines.append("")
        lines.append("time per iteration (slowest rank):")
        for share in reportedTimeBreakdown {
            lines.append("  " + share.name.padding(toLength: 36, withPad: " ", startingAt: 0)
                         + Self.seconds(share.seconds).leftPadded(10) + Self.percent(share.seconds / iterationSeconds).leftPadded(8))
        }
        lines.append("")
        lines.append("ranks (per microbatch; memory per device):")
        for rank in ranks {
            let chunks = plan.stages.indices.filter { plan.rank(ofStage: $0) == rank.rank }
            let ops = chunks.map { chunk -> String in
                let range = plan.stages[chunk].operations
                let first = plan.graph.operations[range.lowerBound], last = plan.graph.operations[range.upperBound - 1]
                return "\(first.layer ?? first.name)..\(last.layer ?? last.name)"
            }.joined(separator: ", ")
            let devices = DeviceListText.describe(rank.devices)
            let mesh = plan.stages[chunks[0]].mesh.shape.map(String.init).joined(separator: "x")
            let recompute = plan.stages[chunks[0]].recompute.map { ", recompute \(plan.options.recomputeName($0))" } ?? ""
            lines.append("  rank \(rank.rank): \(devices), mesh \(mesh), \(ops)\(recompute)")
            lines.append("    forward \(Self.seconds(rank.forwardSeconds)), backward \(Self.seconds(rank.backwardSeconds))"
                         + (rank.pointToPointSeconds > 0 ? ", point-to-point \(Self.seconds(rank.pointToPointSeconds))" : "")
                         + ", \(Self.number(rank.microbatchesInFlight)) microbatches in flight")
            lines.append("    memory \(Self.bytes(rank.peakMemoryBytes)): weights \(Self.bytes(rank.weightBytes)), gradients "
                         + "\(Self.bytes(rank.gradientBytes)), optimizer \(Self.bytes(rank.optimizerStateBytes)), activations "
                         + "\(Self.bytes(rank.activationBytes)), framework \(Self.bytes(TrainingOptions.frameworkOverheadBytes))")
        }
        if !fitsInMemory, let worst = ranks.max(by: { $0.peakMemoryBytes < $1.peakMemoryBytes }) {
            lines.append("")
            lines.append(memoryShortfall(worst))
        }
        return VisibleText.lines(lines)
    }

    /// The time breakdown as the text and HTML reports show it: each entry of at least 0.05% of the iteration, in
    /// order, then one entry, "other (3 rows under 0.05%)", summing the rest that take any time, so that the rows add
    /// up to the iteration. (The JSON keeps every entry.)
    var reportedTimeBreakdown: [TimeShare] {
        let threshold = iterationSeconds * 0.0005
        let shown = timeBreakdown.filter { $0.seconds >= threshold }
        let small = timeBreakdown.filter { $0.seconds < threshold && $0.seconds != 0 }
        guard !small.isEmpty else { return shown }
        return shown + [TimeShare(name: "other (\(small.count) row\(small.count == 1 ? "" : "s") under 0.05%)", seconds: small.reduce(0) { $0 + $1.seconds })]
    }

    /// "does not fit: rank 0 needs 95.3 GB per device, 15.3 GB more than the 80 GB each device has".
    public func memoryShortfall(_ rank: Rank) -> String {
        "does not fit: rank \(rank.rank) needs \(Self.bytes(rank.peakMemoryBytes)) per device, "
            + "\(Self.bytes(rank.peakMemoryBytes - deviceMemoryBytes)) more than the \(Self.bytes(deviceMemoryBytes)) each device has"
    }

    static func seconds(_ value: Double) -> String {
        if value >= 1 { return "\(Self.number(value)) s" }
        if value >= 1e-3 { return "\(Self.number(value * 1e3)) ms" }
        return "\(Self.number(value * 1e6)) us"
    }

    static func bytes(_ value: Double) -> String { "\(Self.number(value / 1e9)) GB" }

    /// A device's memory in GB, with the GiB a vendor names it by where it is a whole number of them: "85.9 GB
    /// (80 GiB)" for an 80 GB A100, so the GB every report counts in is not taken for a bigger card.
    static func deviceMemory(_ value: Double) -> String {
        let gibibytes = value / 1_073_741_824
        let whole = gibibytes.rounded()
        return bytes(value) + (whole >= 1 && abs(gibibytes - whole) < 0.01 ? " (\(Int(whole)) GiB)" : "")
    }

    static func percent(_ value: Double) -> String { "\(Self.number(value * 100))%" }

    /// Two decimals below 10, one below 100, none from 100 up (`0.01`, `42.5`, `868889`): three significant digits
    /// from 1 to 999, for times, sizes and shares whose unit keeps them in that range.
    static func number(_ value: Double) -> String {
        let magnitude = abs(value)
        return fixed(value, decimals: magnitude >= 100 ? 0 : magnitude >= 10 ? 1 : 2)
    }

    /// Three significant digits at any magnitude, no exponent (`0.00599`, `0.0600`, `1.23`, `869000`): for rates
    /// such as samples/s and TFLOP/s per device, which run from thousandths to millions across plans.
    static func significant(_ value: Double) -> String {
        guard value != 0, value.isFinite else { return number(value) }
        // Rounded to three digits first, so that 0.009996 becomes 0.0100 (three digits), not 0.01000.
        let step = pow10(decimalExponent(value) - 2)
        let rounded = (value / step).rounded() * step
        return fixed(rounded, decimals: max(2 - decimalExponent(rounded), 0))
    }

    /// The power of ten of `value`'s leading digit: 5 for 868889, -3 for 0.00599.
    private static func decimalExponent(_ value: Double) -> Int {
        // Compared with powers of ten, not divided down, so that 0.001 is -3 exactly.
        var exponent = 0
        while abs(value) >= pow10(exponent + 1) { exponent += 1 }
        while abs(value) < pow10(exponent) { exponent -= 1 }
        return exponent
    }

    /// `value` with exactly `decimals` digits after the point, no exponent; never "-0".
    private static func fixed(_ value: Double, decimals: Int) -> String {
        let units = (abs(value) * pow10(decimals)).rounded()
        guard units.isFinite, units < 9e18 else { return String(value) }
        var digits = String(Int(units))
        let sign = value < 0 && units > 0 ? "-" : ""
        guard decimals > 0 else { return sign + digits }
        if digits.count <= decimals { digits = String(repeating: "0", count: decimals + 1 - digits.count) + digits }
        return sign + digits.dropLast(decimals) + "." + digits.suffix(decimals)
    }

    /// 10 to the power `exponent`, negative exponents included.
    private static func pow10(_ exponent: Int) -> Double {
        let power = (0 ..< abs(exponent)).reduce(1.0) { value, _ in value * 10 }
        return exponent < 0 ? 1 / power : power
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
