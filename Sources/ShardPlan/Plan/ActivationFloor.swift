/// The least activation memory a stage can keep: for each clustered layer, the activations its ops keep per
/// microbatch under a recomputation mode, with every op on one device (a stage on n devices keeps at least
/// 1/n of it), and the most one layer's recomputation works in at once. The planner refuses microbatch counts
/// and the stage oracle refuses stages whose parameters' state and this floor already exceed device memory,
/// before any ILP runs.
struct ActivationFloor: Sendable {
    /// Bytes per microbatch each clustered layer keeps.
    let perLayer: [Double]
    /// The most bytes one layer's recomputation needs at once (0 without full recomputation).
    let working: Double

    init(model: StageCostModel, clustering: LayerClustering, analysis: GraphAnalysis, cluster: Cluster) {
        guard model.options.recompute != .none,
              let device = try? DeviceMesh(devices: [0], shape: [1], in: cluster) else {
            // Without recomputation every op keeps what its backward pass reads.
            perLayer = clustering.layers.indices.map { layer in
                Double(analysis.savedForBackwardBytes(operations: clustering.operations(of: layer..<layer + 1))) / Double(model.microbatches)
            }
            working = 0
            return
        }
        let costs = clustering.layers.indices.map { layer in
            let operations = clustering.operations(of: layer..<layer + 1)
            return model.cost(of: StageLayout(operations: operations, mesh: device,
                                              strategies: operations.map { _ in OpStrategy(indexOfAxis: [nil]) }))
        }
        perLayer = costs.map(\.activationBytesPerMicrobatch)
        working = costs.map(\.recomputeWorkingBytes).max() ?? 0
    }

    /// The floor of a stage running `layers` with `inFlight` microbatches alive, on one device.
    func bytes(layers: Range<Int>, inFlight: Double) -> Double {
        perLayer[layers].reduce(0, +) * inFlight + working
    }
}
