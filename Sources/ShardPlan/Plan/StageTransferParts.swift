/// What one device of a stage's mesh holds of a tensor that crosses between pipeline stages, in one layout:
/// its bytes, the mesh axes that hold it replicated, and the part each of those copies sends or receives (Megatron's
/// scatter/gather, Narayanan et al. 2021 section 4.1). A receiving side gathers its parts along those axes.
struct StageTransferParts {
    /// Bytes one device holds of the tensor.
    var bytes: Double
    var replicatedAxes: [Int]
    /// Devices that hold each piece.
    var copies: Double

    /// The tensor of `localBytes` a device in layout `spec` on `mesh`.
    init(localBytes: Double, spec: ShardingSpec, mesh: DeviceMesh) {
        bytes = localBytes
        replicatedAxes = mesh.shape.indices.filter { spec.dimension(splitBy: $0) == nil }
        copies = Double(mesh.size(ofAxes: replicatedAxes))
    }

    /// The part each copy moves.
    var part: Double { bytes / copies }

    /// Seconds for the receiving `mesh` to gather the parts back into `bytes` a device (none without copies).
    func gatherSeconds(on mesh: DeviceMesh) -> Double {
        copies > 1 ? mesh.allGatherSeconds(bytes: bytes, alongAxes: replicatedAxes) : 0
    }
}
