import Foundation

/// What a training run looks like to the cost model's accuracy: the device and how many, the tokens per sequence,
/// the model's size, whether ZeRO-3 gathers the weights layer by layer, and whether the model is pipelined. The
/// calibration rows' errors follow these (Docs/calibration.md: by GPU count, sequence length and source), so two
/// runs alike in them were priced alike. `CalibrationEvidence` compares a plan with measured runs by it.
public struct RunProfile: Sendable, Equatable {
    /// The device's product name (`H100-SXM5-80GB`).
    public var deviceName: String
    /// Its dense bf16 peak, FLOP/s: devices of one generation share it (an H200's is an H100's).
    public var peakFLOPsPerSecond: Double
    public var devices: Int
    /// Tokens per sequence, or nil for a graph without a `[batch, sequence]` token input.
    public var sequenceLength: Int?
    public var parameters: Double
    /// Whether any parameter's weights are sharded by ZeRO-3 (FSDP) and gathered before each use.
    public var shardsWeights: Bool
    /// Whether the plan has more than one pipeline rank.
    public var pipelined: Bool

    public init(deviceName: String, peakFLOPsPerSecond: Double, devices: Int, sequenceLength: Int?, parameters: Double,
                shardsWeights: Bool, pipelined: Bool) {
        self.deviceName = deviceName
        self.peakFLOPsPerSecond = peakFLOPsPerSecond
        self.devices = devices
        self.sequenceLength = sequenceLength
        self.parameters = parameters
        self.shardsWeights = shardsWeights
        self.pipelined = pipelined
    }

    /// The profile of `plan`.
    public init(plan: TrainingPlan) {
        let device = plan.cluster.device
        let shardsWeights = plan.options.zeroStage >= 3 || plan.stages.contains { $0.strategies.contains { $0.zeroStage >= 3 } }
        self.init(deviceName: device.name, peakFLOPsPerSecond: device.peakFLOPsPerSecond(for: .bf16), devices: plan.deviceCount,
                  sequenceLength: ParallelLayout.sequenceLength(of: plan.graph),
                  parameters: Double(ModelCatalog.parameterCount(of: plan.graph)),
                  shardsWeights: shardsWeights, pipelined: plan.pipelineRanks > 1)
    }

    /// How unlike `other` this profile is, in doublings: the ratios of device counts, sequence lengths and
    /// parameter counts each count their distance in powers of two, and so does the ratio of the devices' peaks;
    /// another device of the same peak adds 1/2 (an H200 next to an H100), ZeRO-3 against none adds 2, a pipeline
    /// against none adds 1, and a sequence length known on one side only adds 1. Symmetric; 0 for equal profiles.
    public func distance(to other: RunProfile) -> Double {
        func doublings(_ a: Double, _ b: Double) -> Double { abs(log2(a / b)) }
        var distance = doublings(Double(devices), Double(other.devices)) + doublings(parameters, other.parameters)
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
        return distance
    }

    /// "64 A100-SXM4-80GB, 4096 tokens, 69.0 B parameters, ZeRO-3".
    public var description: String {
        var parts = ["\(devices) \(deviceName)"]
        if let sequenceLength { parts.append("\(sequenceLength) tokens") }
        parts.append("\(UnitFormat.count(parameters)) parameters")
        if shardsWeights { parts.append("ZeRO-3") }
        if pipelined { parts.append("pipelined") }
        return parts.joined(separator: ", ")
    }
}
