extension AttentionKernel {
    /// Bytes moved by each memory-bound kernel that one backward call of this kernel launches besides its main
    /// kernel, in launch order, read from each library's launch code (Docs/cost-model.md, "Issue 14, twelfth pass:
    /// eager side kernels"). The main kernel accumulates the query gradient in fp32 across key blocks, so a pass
    /// before it computes the rows' `dot(dO, O)` and clears the accumulator, and a pass after it converts the
    /// accumulator to `width`-byte elements.
    ///
    /// - `queryElements`: elements of q (equally of the output and of its gradient); `rows`: batch x queries x
    ///   heads, the rows whose 4-byte statistics the first pass writes.
    /// - `keyValueElements`: elements of k (equally of v); `expandedKeyValueElements`: the same at the query's
    ///   head count. They differ under grouped-query attention with k and v not repeated, where FlashAttention-2
    ///   writes every query head's key and value gradients and sums each group afterwards, and FlashAttention-3
    ///   accumulates them in cleared fp32 buffers that it converts afterwards.
    ///
    /// FlashAttention-2 (flash-attn 2.x and PyTorch's copy, `run_flash_bwd_seqk_parallel`): the preprocess kernel
    /// reads O and dO, writes the row sums and, with `Clear_dQaccum`, zeroes the accumulator (`mha_bwd` allocates
    /// it with `empty`), then `convert_dq`: two kernels. FlashAttention-3 (`hopper/flash_bwd_launch_template.h`):
    /// the same two, its preprocess also reading the log-sum-exp and writing its base-2 copy. The Triton kernel
    /// (`flash_attn_triton.py`, llm-foundry's copy): `_bwd_preprocess_do_o_dot`, the autotuner's `init_to_zero`
    /// hook on the accumulator, and `dq.copy_(dq_accum)`: three. cuDNN's fused attention is closed and documents no
    /// kernels of its own beside the main one: none are priced.
    public func backwardSideKernelBytes(queryElements: Double, rows: Double, keyValueElements: Double,
                                        expandedKeyValueElements: Double, width: Double) -> [Double] {
        let (q, kv, expanded) = (queryElements, keyValueElements, expandedKeyValueElements)
        let grouped = expanded > kv
        switch self {
        case .flash2:
            let sums = grouped ? Array(repeating: width * (expanded + kv), count: 2) : []
            return [2 * width * q + 4 * q + 4 * rows, (4 + width) * q] + sums
        case .flash3:
            let accumulators = grouped ? [4 * kv, 4 * kv, (4 + width) * kv, (4 + width) * kv] : []
            return [2 * width * q + 4 * q + 12 * rows, (4 + width) * q] + accumulators
        case .triton:
            return [2 * width * q + 4 * rows, 4 * q, (4 + width) * q]
        case .cudnn:
            return []
        }
    }
}
