/// Which tensors never reach memory because a training stack fuses their producer into their consumer.
///
/// The rule (Docs/cost-model.md, "Fusion"): a chain of pointwise ops runs as one kernel, as Megatron's fused
/// bias-GeLU and bias-dropout-add kernels and `torch.compile` do. A pointwise op's result whose only reader is
/// another pointwise op, a softmax or a sum, is kept in registers: Megatron's `FusedScaleMaskSoftmax` scales and
/// masks the attention scores inside the softmax kernel. `reshape` and `broadcast` are views that move no
/// data (a broadcast operand is read at its own, smaller size). A `slice` whose readers are all pointwise
/// ops (directly or through views) is read in place: the readers index into the sliced tensor and no copy
/// is made, as Megatron's fused SwiGLU kernel reads the gate and up halves of one GEMM output and XLA's loop
/// fusion does with any slice feeding elementwise ops.
///
/// A compiled step (`KernelFusionLevel.compiled`) also reads the q, k and v slices of a fused QKV projection in
/// place (llm.c's cuDNN attention reads the QKV buffer through strides; Inductor hands views to the attention
/// kernel). The eager and fused stacks read q, k and v in place too, but the model keeps those copies for them
/// until their per-block overheads are priced (Docs/cost-model.md, "Issue 14, fourth pass"). Compiled and eager
/// steps add a product's bias in the GEMM's epilogue: llm.c's `matmul_forward_cublaslt`, and Inductor's and eager
/// PyTorch's `addmm`, which `nn.Linear` runs and which calls cuBLASLt's bias epilogue (ATen's `gemm_and_bias`;
/// Docs/cost-model.md, "Issue 14, nineteenth pass"). At the fused level a bias followed by a pointwise op rides in
/// that op's kernel (Megatron's bias-GeLU and bias-dropout-add); one read by other ops (the QKV bias, read by the
/// q, k and v slices) keeps a kernel of its own.
public struct KernelFusion: Sendable {
    /// For each value, whether it stays in registers (its producer is fused into its only consumer).
    public private(set) var isFusedAway: [Bool]
    /// For each value, whether it is a slice its readers read in place (no kernel of its own).
    public private(set) var isReadInPlace: [Bool]
    /// For each value, whether it is a bias added to a product in the product's GEMM epilogue (compiled and eager steps).
    public private(set) var isAddedInEpilogue: [Bool]

    /// The fusion of `graph`'s ops as a stack of `level` runs them: eager PyTorch writes every op's result but a
    /// product's bias, which its GEMM adds; fused and compiled stacks keep pointwise chains in registers; a
    /// compiled step also reads the attention's operand slices in place and adds biases in GEMM epilogues.
    public init(_ graph: Graph, level: KernelFusionLevel = .fused) {
        let fusesPointwise = level != .eager, compiled = level == .compiled
        let consumers = graph.consumers()
        isFusedAway = Array(repeating: false, count: graph.values.count)
        isReadInPlace = Array(repeating: false, count: graph.values.count)
        isAddedInEpilogue = Array(repeating: false, count: graph.values.count)
        for operation in graph.operations where fusesPointwise && operation.op.isPointwise {
            let readers = consumers[operation.result.rawValue]
            guard readers.count == 1, graph.operations[readers[0]].op.absorbsPointwiseProducers,
                  !graph.outputs.contains(operation.result) else { continue }
            isFusedAway[operation.result.rawValue] = true
        }
        /// Whether every reader of `value` is pointwise, looking through views.
        func readPointwise(_ value: ValueID) -> Bool {
            let readers = consumers[value.rawValue]
            guard !readers.isEmpty, !graph.outputs.contains(value) else { return false }
            return readers.allSatisfy { reader in
                let op = graph.operations[reader]
                if op.op.isPointwise { return true }
                if compiled, case .attention = op.op { return true }
                if case .reshape = op.op { return readPointwise(op.result) }
                return false
            }
        }
        for operation in graph.operations {
            guard case .slice = operation.op, readPointwise(operation.result) else { continue }
            isReadInPlace[operation.result.rawValue] = true
        }
        guard level != .fused else { return }
        // A linear layer's bias: a parameter over the product's trailing (output-feature) dimensions, added to a
        // product of an activation with a weight whose result nothing else reads (cuBLASLt's bias epilogue adds
        // a vector along the output features of an `addmm`).
        for operation in graph.operations where !isFusedAway[operation.result.rawValue] {
            guard case .binary(.add) = operation.op, operation.inputs.count == 2,
                  let product = graph.producer(of: operation.inputs[0]), product.op.isContraction,
                  product.inputs.contains(where: { graph[$0].isParameter }),
                  consumers[operation.inputs[0].rawValue].count == 1, !graph.outputs.contains(operation.inputs[0]) else { continue }
            let bias = graph[operation.inputs[1]], result = graph[operation.result].type.shape
            guard bias.isParameter, bias.type.rank < result.count, Array(result.suffix(bias.type.rank)) == bias.type.shape else { continue }
            isAddedInEpilogue[operation.result.rawValue] = true
        }
    }

    public subscript(id: ValueID) -> Bool { isFusedAway[id.rawValue] }
}

extension Operator {
    /// Pointwise ops: one result element from the operand elements at the same position.
    public var isPointwise: Bool { isElementwise }

    /// Ops whose kernel computes a pointwise producer of their operands on the fly: a softmax (Megatron's
    /// scale-mask-softmax), and a sum or mean, whose reduction kernel reads a product as it sums it (the
    /// weighted sum of Megatron-Core's MoE unpermute, torch.compile's reductions).
    public var absorbsPointwiseProducers: Bool {
        if isPointwise { return true }
        switch self {
        case .softmax: return true
        case .reduce(let kind, _, _): return kind == .sum || kind == .mean
        default: return false
        }
    }

    /// Normalisations over a feature axis (LayerNorm, RMSNorm).
    public var isNormalization: Bool {
        switch self {
        case .layerNorm, .rmsNorm: true
        default: false
        }
    }

    /// Ops whose result is their one operand's elements rearranged, selected or retyped (transposes, reshapes, slices,
    /// casts, identities, gradient stops): a value read through them is still that operand's data.
    public var onlyMovesData: Bool {
        switch self {
        case .transpose, .reshape, .slice, .cast, .unary(.identity), .unary(.stopGradient): true
        default: false
        }
    }

    /// Ops that only reinterpret or broadcast their operand and launch no kernel.
    public var isView: Bool {
        switch self {
        case .reshape, .broadcast, .iota, .constant: true
        default: false
        }
    }
}
