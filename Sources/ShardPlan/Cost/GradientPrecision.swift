/// The type of the buffer that accumulates weight gradients over the microbatches and is reduced across the
/// data-parallel devices (Docs/cost-model.md, "Gradient buffer").
public enum GradientPrecision: String, CaseIterable, Sendable {
    /// fp32: Megatron-LM's `main_grad`, which it keeps in fp32 whenever it trains in bf16
    /// (`--accumulate-allreduce-grads-in-fp32`), and PyTorch FSDP's fp32 `reduce_dtype`.
    case fp32
    /// bf16: NeMo's `optim.grad_sync_dtype: bf16` (Apex `DistributedFusedAdam` allocates its contiguous gradient
    /// buffer in the gradient-synchronisation type) and Megatron-Core's `grad_reduce_in_fp32=False`; NeMo 24.07's
    /// performance scripts for Llama 2 70B, Llama 3 and GPT-3 pass it. Calibration rows price an fp16 buffer
    /// (Megatron-LM's `main_grad` under `--fp16`) as this one (`GradientPrecision(rowName:)`).
    case bf16

    /// Bytes per gradient element in the buffer.
    public var bytesPerElement: Double {
        switch self {
        case .fp32: 4
        case .bf16: 2
        }
    }
}
