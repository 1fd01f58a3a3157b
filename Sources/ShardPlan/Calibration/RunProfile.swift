import Foundation

/// What a training run looks like to the cost model's accuracy: the device and how many, the tokens per sequence,
/// the model's size (for a mixture of experts, the parameters a token runs through and how sparse it is), whether
/// ZeRO-3 gathers the weights layer by layer, whether the model is pipelined, and whether it is a mixture of experts,
/// with its expert parallelism and token dispatcher. The calibration rows' errors follow these (Docs/calibration.md:
/// by GPU count, sequence length and source; the MoE rows' errors are their own), so two runs alike in them were
/// priced alike. `CalibrationEvidence` compares a plan with measured runs by it.
public struct RunProfile: Sendable, Equatable {
    /// The device's product name (`H100-SXM5-80GB`).
    public var deviceName: String
    /// Its dense bf16 peak, FLOP/s: devices of one generation share it (an H200's is an H100's).
    public var peakFLOPsPerSecond: Double
    public var devices: Int
    /// Tokens per sequence, or nil for a graph without a `[batch, sequence]` token input.
    public var sequenceLength: Int?
    /// Every parameter element, frozen ones and every expert's included.
    public var parameters: Double
    /// The parameters one token's forward pass multiplies by (`activeParameterCount(of:)`): `parameters` for a dense
    /// model, fewer for a mixture of experts (DeepSeek-V3: 37 B of 671 B). The compute per token follows it.
    public var activeParameters: Double
    /// Whether the model is a mixture of experts (has expert GEMMs).
    public var mixtureOfExperts: Bool
    /// The ranks that split each expert GEMM's experts (the most any stage does): 1 without expert parallelism.
    public var expertParallel: Int
    /// The token dispatcher where expert parallelism moves tokens between ranks; nil where it does not.
    public var expertDispatcher: ExpertDispatcher?
    /// Whether any parameter's weights are sharded by ZeRO-3 (FSDP) and gathered before each use.
    public var shardsWeights: Bool
    /// Whether the plan has more than one pipeline rank.
    public var pipelined: Bool

    /// A profile; `activeParameters` nil is `parameters` (a dense model).
    public init(deviceName: String, peakFLOPsPerSecond: Double, devices: Int, sequenceLength: Int?, parameters: Double,
                activeParameters: Double? = nil, mixtureOfExperts: Bool = false, expertParallel: Int = 1,
                expertDispatcher: ExpertDispatcher? = nil, shardsWeights: Bool, pipelined: Bool) {
        self.deviceName = deviceName
        self.peakFLOPsPerSecond = peakFLOPsPerSecond
        self.devices = devices
        self.sequenceLength = sequenceLength
        self.parameters = parameters
        self.activeParameters = activeParameters ?? parameters
        self.mixtureOfExperts = mixtureOfExperts
        self.expertParallel = expertParallel
        self.expertDispatcher = expertParallel > 1 ? expertDispatcher : nil
        self.shardsWeights = shardsWeights
        self.pipelined = pipelined
    }

    /// The profile of `plan`.
    public init(plan: TrainingPlan) {
        let device = plan.cluster.device
        let shardsWeights = plan.options.zeroStage >= 3 || plan.stages.contains { $0.strategies.contains { $0.zeroStage >= 3 } }
        let expertParallel = Self.expertParallel(of: plan)
        self.init(deviceName: device.name, peakFLOPsPerSecond: device.peakFLOPsPerSecond(for: .bf16), devices: plan.deviceCount,
                  sequenceLength: ParallelLayout.sequenceLength(of: plan.graph),
                  parameters: Double(ModelCatalog.parameterCount(of: plan.graph)),
                  activeParameters: Self.activeParameterCount(of: plan.graph),
                  mixtureOfExperts: !ExpertLayers(plan.graph).expertCounts.isEmpty, expertParallel: expertParallel,
                  expertDispatcher: plan.options.expertDispatcher, shardsWeights: shardsWeights, pipelined: plan.pipelineRanks > 1)
    }

    /// How unlike `other` this profile is, in doublings: the ratios of device counts, sequence lengths and active
    /// parameter counts (the compute per token; all of a dense model's) each count their distance in powers of two, and
    /// so does the ratio of the devices' peaks; another device of the same peak adds 1/2 (an H200 next to an H100),
    /// ZeRO-3 against none adds 2, a pipeline against none adds 1, and a sequence length known on one side only adds 1.
    /// A mixture of experts against a dense model adds `kindDistance` (3: the experts' all-to-alls, routing and
    /// grouped GEMMs are priced by terms a dense run never tests), half the doublings between their sparsities
    /// (total over active parameters: 18x for DeepSeek-V3, 1x dense) and half those between their expert-parallel
    /// sizes; a deduplicating dispatcher (DeepEP, HybridEP) against NCCL's all-to-all adds 1/2. Symmetric; 0 for
    /// equal profiles; two dense profiles' distance is what it was before the experts were counted.
    public func distance(to other: RunProfile) -> Double {
        func doublings(_ a: Double, _ b: Double) -> Double { abs(log2(a / b)) }
        var distance = doublings(Double(devices), Double(other.devices)) + doublings(activeParameters, other.activeParameters)
        if deviceName != other.deviceName {
            distance += 0.5 + doublings(peakFLOPsPerSecond, other.peakFLOPsPerSecond)
        }
        switch (sequenceLength, other.sequenceLength) {
        case let (mine?, theirs?): distance += doublings(Double(mine), Double(theirs))
        case (nil, nil): break
        default: distance += 1
        }
        if shardsWeights != other.shardsWeights { distance += 2 }
        if pipelined != other.pipelined { distance += 1 }
        if mixtureOfExperts != other.mixtureOfExperts { distance += Self.kindDistance }
        distance += 0.5 * doublings(parameters / activeParameters, other.parameters / other.activeParameters)
        distance += 0.5 * doublings(Double(expertParallel), Double(other.expertParallel))
        if (expertDispatcher?.deduplicates ?? false) != (other.expertDispatcher?.deduplicates ?? false) { distance += 0.5 }
        return distance
    }

    /// What a mixture of experts against a dense model adds to `distance`: as far as `CalibrationEvidence.farDistance`,
    /// so that runs of the other kind are never close.
    public static let kindDistance = 3.0

    /// "a mixture of experts" or "dense".
    public var kind: String { mixtureOfExperts ? "a mixture of experts" : "dense" }

    /// "64 A100-SXM4-80GB, 4096 tokens, 69.0 B parameters, ZeRO-3"; "2048 H800-SXM5-80GB, 4096 tokens, 671.0 B
    /// parameters (37.6 B active), ep=64 deepep, pipelined".
    public var description: String {
        var parts = ["\(devices) \(deviceName)"]
        if let sequenceLength { parts.append("\(sequenceLength) tokens") }
        parts.append("\(UnitFormat.count(parameters)) parameters")
        if mixtureOfExperts {
            parts[parts.count - 1] += " (\(UnitFormat.count(activeParameters)) active)"
            if expertParallel > 1 { parts.append("ep=\(expertParallel)" + (expertDispatcher.map { $0 == .allToAll ? "" : " \($0.rawValue)" } ?? "")) }
        }
        if shardsWeights { parts.append("ZeRO-3") }
        if pipelined { parts.append("pipelined") }
        return parts.joined(separator: ", ")
    }
}
