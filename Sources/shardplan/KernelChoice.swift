import ArgumentParser
import ShardPlan

extension AttentionKernel: ExpressibleByArgument {}
extension KernelFusionLevel: ExpressibleByArgument {}
extension ExpertDispatcher: ExpressibleByArgument {}

extension ContextParallelCommunication: ExpressibleByArgument {
    /// Its own name, or Megatron-Core's (`all_gather`, `a2a`), as a Megatron user types it.
    public init?(argument: String) {
        self.init(name: argument)
    }
}

/// How the training stack runs its kernels, for `plan` and `score`: `--attention-kernel`, `--fusion` and
/// `--fused-cross-entropy` (and `--loss-in-place`, `--eager-loss`, `--no-loss-upcast`), the type of the gradient buffer, `--grad-precision`, Adam's state, `--optimizer-state`,
/// the precision of the gradient reduction, `--grad-reduce-in-fp32`, FSDP2's copy-out of gathered parameters,
/// `--fsdp2`, FSDP's gradient accumulation without a reduce-scatter a microbatch, `--fsdp-no-sync`, context
/// parallelism's exchange, `--cp-comm-type`, and the experts' token dispatcher, `--moe-dispatcher` (Docs/cost-model.md,
/// "Attention kernels", "Fusion", "Memory", "ZeRO-3 / FSDP", "Context parallelism" and "Expert parallelism").
struct KernelChoice: ParsableArguments {
    @Option(name: .customLong("attention-kernel"),
            help: ArgumentHelp("Fused attention kernel: flash2, flash3 (Hopper), cudnn or triton (default: flash2 on Ampere, cudnn on Hopper and Blackwell; PyTorch before 2.11 runs flash2 on Hopper).",
                               valueName: "kernel"))
    var attentionKernel: AttentionKernel?

    @Option(help: ArgumentHelp("Kernel fusion: eager (PyTorch without torch.compile), fused (Megatron/TransformerEngine kernels) or compiled (torch.compile, llm.c); default fused.",
                               valueName: "eager|fused|compiled"))
    var fusion: KernelFusionLevel?

    @Flag(name: .customLong("fused-cross-entropy"), help: "The loss runs as one fused kernel per pass (Megatron-Core --cross-entropy-loss-fusion, flash-attn's CrossEntropyLoss); with --fusion compiled, one that writes the gradient over the logits (llm.c's fused classifier); elsewhere --loss-in-place says so.")
    var fusedCrossEntropy = false

    @Flag(name: .customLong("eager-loss"), help: "With --fusion compiled: the loss runs outside the compiled graph, as eager PyTorch's cross_entropy(logits.float()) (a stack that compiles its blocks one by one: torchtitan's [compile] without its loss component); with --fused-cross-entropy too, as one fused kernel outside it (flash-attn's CrossEntropyLoss).")
    var eagerLoss = false

    @Flag(name: .customLong("loss-in-place"),
          help: "With --fused-cross-entropy: the loss kernel writes the logits' gradient over the logits (flash-attn's CrossEntropyLoss(inplace_backward=True), TransformerEngine's fused loss), so it keeps only the logits.")
    var writesLossGradientInPlace = false

    @Flag(name: .customLong("no-loss-upcast"),
          help: "An eager loss runs PyTorch's cross_entropy on the 16-bit logits as they are, without logits.float() (with --fusion eager, or --eager-loss with --fusion compiled; not with --fused-cross-entropy).")
    var keepsLossInLogitsType = false

    @Flag(name: .customLong("grad-reduce-in-fp32"),
          help: "Data-parallel gradients are reduced in fp32 (Megatron-LM's bf16 default, NeMo grad_reduce_in_fp32, FSDP reduce_dtype=float32).")
    var reduceGradientsInFP32 = false

    @Flag(name: .customLong("fsdp2"),
          help: "ZeRO-3 runs as PyTorch FSDP2 (fully_shard): each gathered layer is copied out into its parameters on the compute stream; without it, as FSDP1's flat parameters, whose gradients are concatenated after each layer's backward pass.")
    var copiesOutGatheredParameters = false

    @Flag(name: .customLong("fsdp-no-sync"),
          help: "With ZeRO-3 and several microbatches: gradients accumulate unsharded and are reduce-scattered once, in the last microbatch (FSDP no_sync(), FSDP2 set_requires_gradient_sync(False), Accelerate's gradient accumulation): one reduce-scatter an iteration, but each device holds its whole gradient in the buffer's type.")
    var accumulatesUnshardedGradients = false

    @Option(name: .customLong("grad-precision"),
            help: ArgumentHelp("Gradient buffer, accumulated over the microbatches: fp32 (Megatron-LM's main_grad) or bf16 (NeMo optim.grad_sync_dtype=bf16); sets the gradients' memory and accumulation traffic. Default fp32.",
                               valueName: "fp32|bf16"))
    var gradientPrecision: GradientPrecision?

    @Option(name: .customLong("optimizer-state"),
            help: ArgumentHelp("Adam's state between steps: fp32 (fp32 master weights and moments beside bf16 weights, Megatron-LM: 18 bytes a parameter with fp32 gradients), fp32-weights (fp32 weights that are the master copy, cast per use, and fp32 moments: PyTorch autocast, FSDP mixed precision, torchtitan, 16 bytes) or bf16 (bf16 weights and moments and no master copy, torch.optim.Adam on a bf16 model as NeMo AutoModel); sets its memory and the step's traffic. Default fp32.",
                               valueName: "fp32|fp32-weights|bf16"))
    var optimizerState: OptimizerStatePrecision?

    @Option(name: .customLong("cp-comm-type"),
            help: ArgumentHelp("How context parallelism exchanges keys and values: p2p (a ring hidden behind attention, Megatron-Core's default), all-gather (exposed, Llama 3's; runs sliding windows; Megatron's all_gather), all-to-all (queries, keys, values and outputs re-split by heads, exposed, DeepSpeed-Ulysses'; runs sliding windows; needs tp x cp to divide the heads; Megatron's a2a), pytorch-ring (PyTorch's ring attention, torchtitan's default all-gather rotation: gathered behind the first step, outputs merged in fp32), pytorch-ring-all-to-all (its all-to-all rotation, context_parallel_rotate_method = \"alltoall\": each step's transfer behind the step before) or a2a+p2p (hierarchical: all-to-alls inside groups that fit an NVLink domain and divide the heads, score's --cp-a2a-size where given, then the ring between the groups; Megatron-Core's with --hierarchical-context-parallel-sizes). Default p2p; plan takes all-gather for a model with sliding windows, which the ring refuses (plan --emit torchtitan tries both of PyTorch's).",
                               valueName: "p2p|all-gather|all-to-all|pytorch-ring|pytorch-ring-all-to-all|a2a+p2p"))
    var contextParallelCommunication: ContextParallelCommunication?

    @Option(name: .customLong("moe-dispatcher"),
            help: ArgumentHelp("The kernels that carry a mixture of experts' tokens to their experts and back: alltoall (NCCL's all-to-all, a copy of a token for each of its experts; Megatron-Core's alltoall dispatcher, torchtitan's standard backend), deepep (DeepSeek's DeepEP: a token once to each rank that holds one of its experts and once over the network to each such node, forwarded there over NVLink; Megatron-Core's flex dispatcher, torchtitan's deepep backend) or hybridep (NVIDIA's HybridEP, priced as DeepEP; Megatron-Core's flex dispatcher). The planner does not choose one: name the one your cluster has. Default alltoall.",
                               valueName: "alltoall|deepep|hybridep"))
    var expertDispatcher: ExpertDispatcher?

    /// Whether any option was given (`score --plan` refuses them: the plan sets its own).
    var isGiven: Bool {
        contextParallelCommunication != nil || expertDispatcher != nil || attentionKernel != nil || fusion != nil || fusedCrossEntropy || writesLossGradientInPlace || eagerLoss || keepsLossInLogitsType
            || reduceGradientsInFP32
            || copiesOutGatheredParameters
            || accumulatesUnshardedGradients || gradientPrecision != nil || optimizerState != nil
    }

    /// Whether the flag of `setting` was given, rather than set by `--emit`'s framework or the model's default.
    func gives(_ setting: IneffectiveOption.Setting) -> Bool {
        switch setting {
        case .attentionKernel: attentionKernel != nil
        case .fsdp2CopyOut: copiesOutGatheredParameters
        case .fsdpNoSync: accumulatesUnshardedGradients
        case .contextParallelExchange: contextParallelCommunication != nil
        case .expertDispatcher: expertDispatcher != nil
        case .tensorParallelOverlap: false
        }
    }

    /// The given flags that only ZeRO-3 gives a meaning, each with what it says.
    var zeroThreeFlags: [(flag: String, says: String)] {
        [("--fsdp2", "how ZeRO-3 gathers weights", copiesOutGatheredParameters),
         ("--fsdp-no-sync", "how ZeRO-3 reduces gradients over the microbatches", accumulatesUnshardedGradients)]
            .filter(\.2).map { ($0.0, $0.1) }
    }

    func validate() throws {
        if eagerLoss && fusion != .compiled {
            throw ValidationError("--eager-loss leaves the loss out of a compiled step: give it with --fusion compiled (under eager or fused kernels the loss is not compiled anyway), and not with score --plan, which takes it from the plan's options.")
        }
        if applied(to: TrainingOptions()).lossInPlaceConflict != nil {
            throw ValidationError("--loss-in-place: only a fused cross-entropy kernel writes the logits' gradient over them; give --fused-cross-entropy (score --plan takes both from the plan's options instead).")
        }
    }

    /// Refuses `--no-loss-upcast` where the loss does not run as eager PyTorch's `cross_entropy`, under `--fusion` or,
    /// where it is not given, under `defaultFusion`: Megatron's fused kernels for `score` and `plan`, eager PyTorch for
    /// `plan --emit torchtitan`, whose search runs torchtitan's kernels. The commands call it from their `validate()`.
    func validateLossUpcast(defaultFusion: KernelFusionLevel) throws {
        var options = applied(to: TrainingOptions())
        options.kernelFusion = fusion ?? defaultFusion
        if let conflict = options.lossUpcastConflict {
            throw ValidationError("--no-loss-upcast: \(conflict); score --plan takes it from the plan's options instead.")
        }
    }

    /// `options` with the chosen kernels.
    func applied(to options: TrainingOptions) -> TrainingOptions {
        var options = options
        options.attentionKernel = attentionKernel
        options.kernelFusion = fusion ?? .fused
        options.fusedCrossEntropy = fusedCrossEntropy
        options.writesLossGradientInPlace = writesLossGradientInPlace
        options.eagerLoss = eagerLoss
        options.upcastsLoss = !keepsLossInLogitsType
        options.reduceGradientsInFP32 = reduceGradientsInFP32
        options.copiesOutGatheredParameters = copiesOutGatheredParameters
        options.accumulatesUnshardedGradients = accumulatesUnshardedGradients
        options.gradientPrecision = gradientPrecision ?? .fp32
        options.optimizerState = optimizerState ?? .fp32
        options.contextParallelCommunication = contextParallelCommunication ?? .ring
        options.expertDispatcher = expertDispatcher ?? .allToAll
        return options
    }
}
