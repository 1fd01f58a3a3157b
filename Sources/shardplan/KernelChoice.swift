import ArgumentParser
import ShardPlan

extension AttentionKernel: ExpressibleByArgument {}
extension KernelFusionLevel: ExpressibleByArgument {}

/// How the training stack runs its kernels, for `plan` and `score`: `--attention-kernel`, `--fusion` and
/// `--fused-cross-entropy` (Docs/cost-model.md, "Attention kernels" and "Fusion").
struct KernelChoice: ParsableArguments {
    @Option(name: .customLong("attention-kernel"),
            help: ArgumentHelp("Fused attention kernel: flash2, flash3 (Hopper), cudnn or triton (default: flash2 on Ampere, cudnn on Hopper and Blackwell).",
                               valueName: "kernel"))
    var attentionKernel: AttentionKernel?

    @Option(help: ArgumentHelp("Kernel fusion: eager (PyTorch without torch.compile), fused (Megatron/TransformerEngine kernels) or compiled (torch.compile, llm.c); default fused.",
                               valueName: "eager|fused|compiled"))
    var fusion: KernelFusionLevel?

    @Flag(name: .customLong("fused-cross-entropy"), help: "The loss runs as one fused kernel per pass (Megatron-Core --cross-entropy-loss-fusion).")
    var fusedCrossEntropy = false

    /// Whether any option was given (`score --plan` refuses them: the plan sets its own).
    var isGiven: Bool { attentionKernel != nil || fusion != nil || fusedCrossEntropy }

    /// `options` with the chosen kernels.
    func applied(to options: TrainingOptions) -> TrainingOptions {
        var options = options
        options.attentionKernel = attentionKernel
        options.kernelFusion = fusion ?? .fused
        options.fusedCrossEntropy = fusedCrossEntropy
        return options
    }
}
