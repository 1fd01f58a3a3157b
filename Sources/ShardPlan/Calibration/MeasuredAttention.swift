/// One measured fused-attention kernel: the forward and backward pass of one attention call (batch, heads,
/// sequence, head dimension, causal or not) with a named kernel on one GPU, timed on the device. Rows live in a
/// file of `attention_measurements` (Examples/gpu/measure.py writes one); `shardplan calibrate` replays each through
/// `KernelModel.attentionSeconds` on the GPU's single-device preset.
public struct MeasuredAttention: Sendable {
    /// The row's name in the file.
    public var id: String
    /// Where the numbers come from (the script and machine, or a published table).
    public var source: String
    /// The GPU as the published-runs rows name it (`H100-SXM5-80GB`, `H200-SXM-141GB`, `A100-SXM4-80GB`).
    public var gpu: String
    /// The cluster preset whose device prices the row (`single-h200`).
    public var preset: String
    /// The kernel that ran.
    public var kernel: AttentionKernel
    public var batch: Int
    /// Query heads; keys and values may have fewer (grouped-query attention), which changes no FLOP.
    public var heads: Int
    /// Key and value heads (`kv_heads`, the query heads unless the row says otherwise): what the backward pass's
    /// side kernels read and sum over.
    public var keyValueHeads: Int
    public var headDimension: Int
    /// Tokens per sequence, queries and keys alike.
    public var sequenceLength: Int
    public var causal: Bool
    /// Measured seconds of the forward and of the backward pass.
    public var forwardSeconds: Double
    public var backwardSeconds: Double
    /// The software versions and anything else a reader needs.
    public var notes: String

    /// FLOPs of the whole score matrix in the forward pass, `4 x batch x sequence^2 x heads x head_dim`, the
    /// convention `KernelModel.attentionSeconds` prices (a causal kernel skips part of it).
    public var denseForwardFLOPs: Double {
        4 * Double(batch) * Double(sequenceLength) * Double(sequenceLength) * Double(heads) * Double(headDimension)
    }

    /// The model's forward and backward seconds for this row on `kernels` (the preset's device model), as the stage
    /// cost model charges one attention call: the backward pass does 2.5 times the forward's FLOPs and runs the
    /// kernel's side kernels (FlashAttention-2's preprocessing and its gradient's conversion, which a timed
    /// `backward()` includes).
    public func predictedSeconds(on kernels: KernelModel) -> (forward: Double, backward: Double) {
        var kernels = kernels
        kernels.attentionKernel = kernel
        func seconds(backward: Bool) -> Double {
            kernels.attentionSeconds(denseFLOPs: (backward ? 2.5 : 1) * denseForwardFLOPs, headDimension: Double(headDimension),
                                     keyLength: Double(sequenceLength), causal: causal, dtype: .bf16, backward: backward)
        }
        let rows = Double(batch) * Double(sequenceLength) * Double(heads)
        let keyValue = Double(batch) * Double(sequenceLength) * Double(keyValueHeads) * Double(headDimension)
        let side = kernels.attentionBackwardSideSeconds(queryElements: rows * Double(headDimension), rows: rows,
                                                        keyValueElements: keyValue,
                                                        expandedKeyValueElements: rows * Double(headDimension),
                                                        width: Double(DType.bf16.byteSize))
        return (seconds(backward: false), seconds(backward: true) + side)
    }

    /// Reads every row of an attention-measurements document (`{"attention_measurements": [...]}`).
    public static func rows(in document: JSONValue) throws(InputError) -> [MeasuredAttention] {
        let top = try JSONReader(document, at: .root)
        let elements = try top.array("attention_measurements")
        guard !elements.isEmpty else { throw top.invalid("attention_measurements", "no measurements to replay") }
        var rows: [MeasuredAttention] = []
        var seen: Set<String> = []
        for (index, element) in elements.enumerated() {
            let row = try JSONReader(element, at: .root.appending("attention_measurements").appending(index: index))
            let id = try row.calibrationRowID(seen: &seen, why: "the table names each row by it")
            let gpu = try row.string("gpu")
            guard let preset = CalibrationRun.presetName(forGPU: gpu, devices: 1) else {
                throw row.invalid("gpu", "row \(id): no single-GPU preset for \"\(gpu)\"; known: \(CalibrationRun.knownGPUs(devices: 1).joined(separator: ", "))")
            }
            guard let kernel: AttentionKernel = try row.optionalCase("kernel", "attention kernel") else {
                throw InputError(.missingField, at: row.path.appending("kernel"), "row \(id): name the kernel that ran")
            }
            var sizes: [String: Int] = [:]
            for key in ["batch", "heads", "head_dim", "seq_len"] {
                let value = try row.int(key)
                guard value >= 1 else { throw row.invalid(key, "row \(id): \(key) must be at least 1, found \(value)") }
                sizes[key] = value
            }
            let widest = kernel.widestHeadDimension(on: GPUGeneration(deviceName: gpu))
            guard sizes["head_dim"]! <= widest else {
                throw row.invalid("head_dim", "row \(id): \(kernel.rawValue) runs heads of at most \(widest) on \(gpu), not \(sizes["head_dim"]!)")
            }
            let keyValueHeads = try row.optionalInt("kv_heads") ?? sizes["heads"]!
            guard keyValueHeads >= 1 else { throw row.invalid("kv_heads", "row \(id): kv_heads must be at least 1, found \(keyValueHeads)") }
            guard sizes["heads"]! % keyValueHeads == 0 else {
                throw row.invalid("kv_heads", "row \(id): \(keyValueHeads) key and value heads do not divide \(sizes["heads"]!) query heads")
            }
            var times: [String: Double] = [:]
            for key in ["forward_ms", "backward_ms"] {
                times[key] = try row.measuredSeconds(key, unit: "ms", scale: 1e-3, row: id)
            }
            rows.append(MeasuredAttention(id: id, source: try row.string("source"), gpu: gpu, preset: preset, kernel: kernel,
                                          batch: sizes["batch"]!, heads: sizes["heads"]!, keyValueHeads: keyValueHeads, headDimension: sizes["head_dim"]!,
                                          sequenceLength: sizes["seq_len"]!, causal: try row.bool("causal"),
                                          forwardSeconds: times["forward_ms"]!, backwardSeconds: times["backward_ms"]!,
                                          notes: try row.optionalString("notes") ?? ""))
        }
        return rows
    }
}
