/// The least activation memory a stage can keep: for each recomputation mode a stage may run with, and each
/// clustered layer, the activations its ops keep per microbatch with every op on one device (a stage on n
/// devices keeps at least 1/n of it) and the most its recomputation works in at once; the floor of a stage is
/// the least over the modes. The planner refuses microbatch counts and the stage oracle refuses
/// stages whose parameters' state and this floor already exceed device memory, before any ILP runs.
///
/// Layers are summed, so a tensor kept by ops of several clustered layers (none of the catalog's models has
/// one) would be counted once per layer; a graph that shares, say, one mask tensor between all its layers
/// gets a floor higher than the truth by that tensor's repetitions.
struct ActivationFloor: Sendable {
    /// For each mode: bytes per microbatch each clustered layer keeps, and each layer's backward working set.
    private let modes: [(kept: [Double], working: [Double])]

    /// The floor under each of `models`' recomputation modes (the models differ only in that).
    init(models: [StageCostModel], clustering: LayerClustering, analysis: GraphAnalysis, cluster: Cluster) {
        precondition(!models.isEmpty, "at least one recomputation mode")
        modes = models.map { model in
            guard model.options.recompute != .none, let device = try? DeviceMesh(devices: [0], shape: [1], in: cluster) else {
                // Without recomputation every op keeps what its backward pass reads.
                let kept = clustering.layers.indices.map { layer in
                    Double(analysis.savedForBackwardBytes(operations: clustering.operations(of: layer..<layer + 1))) / Double(model.microbatches)
                }
                return (kept, kept.map { _ in 0 })
            }
            // Layers of one structure keep the same: each structure is priced once.
            var byStructure: [Int: StageCost] = [:]
            let costs = clustering.layers.indices.map { layer in
                if let known = byStructure[clustering.layers[layer].structureKey] { return known }
                let operations = clustering.operations(of: layer..<layer + 1)
                let cost = model.cost(of: StageLayout(operations: operations, mesh: device,
                                                      strategies: operations.map { _ in OpStrategy(indexOfAxis: [nil]) }))
                byStructure[clustering.layers[layer].structureKey] = cost
                return cost
            }
            return (costs.map(\.activationBytesPerMicrobatch), costs.map(\.backwardWorkingBytes))
        }
    }

    /// The floor of a stage running `layers` with `inFlight` microbatches alive, on one device.
    func bytes(layers: Range<Int>, inFlight: Double) -> Double {
        modes.map { $0.kept[layers].reduce(0, +) * inFlight + ($0.working[layers].max() ?? 0) }.min()!
    }
}
