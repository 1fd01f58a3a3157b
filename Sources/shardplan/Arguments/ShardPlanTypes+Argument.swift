import ArgumentParser
import ShardPlan

// The library's own enums, parsed by their raw values (`selective`, `interleaved-1f1b`).
extension RecomputeMode: ExpressibleByArgument {
    /// What each mode keeps and reruns, for the options' help (Docs/cost-model.md, "Recomputation modes").
    static let helpDiscussion = "none keeps every activation; norm-act reruns the norm before each mixture of experts and the experts' activation, keeping the rest (Megatron-Core's --recompute-modules layernorm moe_act; nothing in a model without experts); selective reruns attention (explicit attention's scores and softmax, or a fused kernel, as Megatron-Core's core_attn checkpoint does); elementwise keeps every product with a weight and attention's output and reruns the rest of each block (MaxText's minimal_with_context); selective-op keeps attention and every other product (torchtitan's op-level policy); mlp reruns the MLP (MaxText's save_dot_with_context_except_mlp); all-but-qkv keeps only the q, k and v projections (MaxText's save_qkv_proj); full reruns each transformer block from its input."
}
extension PipelineSchedule: ExpressibleByArgument {}
extension MatmulPrecision: ExpressibleByArgument {}
extension FP8Recipe: ExpressibleByArgument {}
extension GradientPrecision: ExpressibleByArgument {}
extension OptimizerStatePrecision: ExpressibleByArgument {}
extension TrainingFramework: ExpressibleByArgument {}
extension RewriteSelection: ExpressibleByArgument {}
