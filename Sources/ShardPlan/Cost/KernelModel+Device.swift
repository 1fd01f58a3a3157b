extension KernelModel {
    /// The kernel model of `device`, from its datasheet and measured figures (Docs/cost-model.md); it remembers the
    /// device's name (`deviceName`). The device must list a peak rate, as `Cluster.validate()` requires (a device
    /// listing none traps here; `PlanEvaluator(checking:)` checks the cluster first).
    public init(device: DeviceSpec) {
        let bf16Peak = device.peakFLOPsPerSecond(for: .bf16)
        // Only a device with FP8 units and its own FP8 measurement gives an FP8 efficiency; the others scale
        // their bf16 one (`fp8ToBF16MatmulEfficiency`).
        let fp8Efficiency = device.peakFLOPsPerSecond[.fp8].flatMap { peak in
            device.bestMatmulFLOPsPerSecond[.fp8].map { $0 / peak }
        }
        self.init(
            peakFLOPs: device.peakFLOPsPerSecond,
            memoryBandwidth: device.memoryBandwidth,
            multiprocessors: device.multiprocessors ?? Self.defaultMultiprocessors,
            bestMatmulEfficiency: device.bestMatmulFLOPsPerSecond(for: .bf16).map { $0 / bf16Peak } ?? Self.defaultBestMatmulEfficiency,
            fp8MatmulEfficiency: fp8Efficiency,
            memoryEfficiency: device.achievableMemoryBandwidthFraction ?? Self.defaultMemoryEfficiency,
            attentionKernel: .standard(on: GPUGeneration(deviceName: device.name)),
            generation: GPUGeneration(deviceName: device.name))
        deviceName = device.name
    }

    /// Used when a device gives no multiprocessor count: an A100 has 108.
    public static let defaultMultiprocessors = 108
    /// Used when a device gives no measured matmul throughput: about what A100 and H100 reach (80-87%,
    /// shared/data/published-runs.json `matmul_efficiency`).
    public static let defaultBestMatmulEfficiency = 0.8
}
