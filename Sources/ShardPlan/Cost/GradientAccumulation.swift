/// The add kernels eager PyTorch's autograd launches to sum a tensor's gradient contributions in the backward
/// pass: a tensor that k ops read (each passing it a gradient) gets k gradients, and the engine's input buffer
/// adds them one at a time, k - 1 kernels each reading two tensors of its size and writing one (Docs/cost-model.md,
/// "Issue 14, twelfth pass: eager side kernels"). In a Llama block: the residual stream where the norm and the
/// residual add both read it (twice a block), the attention norm's output read by the q, k and v products (two),
/// and the MLP norm's output read by the gate and up products (one).
///
/// Only eager stacks are priced for them: a compiled step (Inductor) fuses each sum into the pointwise kernel that
/// reads the gradient next (the norm's backward), and the hand-fused stacks' products read a norm once (Megatron's
/// fused QKV and gate/up GEMMs), their residual sums priced within their fused kernels' backward. The slices of one tensor
/// (a split) pass one gradient, assembled by one node. Parameters read twice (tied embeddings) also accumulate,
/// once a step; they are left out (well under a millisecond a step).
public struct GradientAccumulation: Sendable {
    /// For each value, the add kernels that sum its gradient contributions.
    public private(set) var additions: [Int]

    /// The accumulations of `graph`'s activations under `level`: none unless eager.
    public init(_ graph: Graph, gradients: GradientFlow, level: KernelFusionLevel) {
        additions = Array(repeating: 0, count: graph.values.count)
        guard level == .eager else { return }
        for (index, readers) in graph.consumers().enumerated() {
            let value = ValueID(index)
            guard gradients[value], graph[value].operationIndex != nil else { continue }
            var contributions = 0, readBySlice = false
            for reader in readers {
                let operation = graph.operations[reader]
                guard gradients[operation.result] else { continue }
                if case .slice = operation.op {
                    readBySlice = true
                } else {
                    contributions += operation.inputs.filter { $0 == value }.count
                }
            }
            additions[index] = max(contributions + (readBySlice ? 1 : 0) - 1, 0)
        }
    }

    public subscript(id: ValueID) -> Int { additions[id.rawValue] }
}
