/// How activations are rematerialised in the backward pass.
public enum RecomputeMode: String, CaseIterable, Sendable {
    /// Keep every activation the backward pass needs.
    case none
    /// Keep what every op's backward pass reads, except the results of the norm before each mixture of experts, of a
    /// multi-head latent attention's input norm and of the experts' activation function, which are freed once their
    /// readers have run and rerun when the layer's backward pass reaches them (Megatron-Core's `--recompute-granularity
    /// selective --recompute-modules layernorm moe_act`, its output-discarding checkpoints:
    /// `StageCostModel.normActivationReruns`). Beside TransformerEngine the other norms are fused into the linear layer
    /// after them, where `layernorm` reruns nothing; a model with neither experts nor latent attention reruns nothing.
    case normAct = "norm-act"
    /// Drop the tensors quadratic in the sequence (the attention core) and recompute them (Korthikanti et al. 2022);
    /// beside a fused attention kernel, rerun the kernel and drop its statistics, as Megatron-Core's `core_attn`
    /// checkpoint does.
    case selective
    /// Keep what every product with a weight (each linear layer, each router) and attention produce, and recompute
    /// the rest of each transformer block: norms, activation functions, the rotary embedding, residual adds,
    /// dropout, and under explicit attention its scores, softmax and context product (MaxText's `remat_policy: minimal_with_context`, formerly
    /// `minimal_flash`: AI-Hypercomputer/maxtext `src/MaxText/layers/decoders.py`, `Decoder.minimal_policy` with
    /// `with_context=True`, which saves the outputs named for every projection and MLP product plus `context`,
    /// attention's output; older versions, `MaxText/layers/models.py`, saved every dot without batch dimensions
    /// and `context`. Docs/cost-model.md).
    case elementwise
    /// Keep what attention and the products with a weight produce, except every other product of a transformer
    /// block, and recompute the rest of the block (PyTorch's op-level selective activation checkpointing as
    /// torchtitan applies it: `selective_ac_option = "op"`, Docs/cost-model.md).
    case selectiveOperators = "selective-op"
    /// Keep what attention's products with a weight (its q, k, v and output projections) and attention produce,
    /// and recompute the rest of each transformer block: the MLP's products (or a mixture of experts' router and
    /// experts) and every elementwise op (MaxText's `remat_policy: save_dot_with_context_except_mlp`, which saves
    /// the outputs named `qkv_proj`, `out_proj` and `context`).
    case mlp
    /// Keep only what the q, k and v projections produce, and recompute the rest of each transformer block:
    /// attention itself, its output projection, the MLP and every elementwise op (MaxText's
    /// `remat_policy: save_qkv_proj`).
    case allButQKV = "all-but-qkv"
    /// Keep only each layer's input and rerun the layer's forward pass in the backward pass.
    case full

    /// The modes `--recompute auto` tries for each stage: every mode but MaxText's two that rerun products with a
    /// weight (`mlp`, `allButQKV`), which a user names to price a MaxText run. Between selective-op and full they
    /// would double the search's time (each mode a layout is another variant to price) for plans that full or
    /// selective-op already come within a few percent of where memory is short.
    public static let automaticChoices: [RecomputeMode] = [.none, .normAct, .selective, .elementwise, .selectiveOperators, .full]

    /// How much a mode recomputes: none < norm-act < selective < elementwise < selective-op < mlp < all-but-qkv < full. The order
    /// is partial beside a fused attention kernel, which selective reruns and elementwise, selective-op and mlp keep
    /// (`FittingVariants`).
    public var strength: Int { Self.allCases.firstIndex(of: self)! }

    /// Whether the mode is op-level selective recomputation: a policy over each transformer block's ops that keeps
    /// the results it names and reruns the rest of the block (`elementwise`, `selectiveOperators`, `mlp`,
    /// `allButQKV`).
    public var isOperatorLevel: Bool { [.elementwise, .selectiveOperators, .mlp, .allButQKV].contains(self) }

    /// The mode as the reports name it: with the count of blocks each stage reruns where full recomputation reruns
    /// only some (`full(4 blocks)`, `TrainingOptions.recomputedBlocks`).
    public func name(recomputedBlocks: Int?) -> String {
        guard self == .full, let blocks = recomputedBlocks else { return rawValue }
        return "full(\(blocks) block\(blocks == 1 ? "" : "s"))"
    }
}

/// Training-stack choices that change time and memory but not the sharding of ops: mixed-precision Adam's
/// bytes per parameter, ZeRO, recomputation, which communication overlaps computation, and whether the
/// linear layers' GEMMs run in FP8.
public struct TrainingOptions: Sendable, Equatable {
    /// How activations are rematerialised where a plan's stage names no mode of its own (`StageLayout.recompute`). The
    /// planners do not read it to choose: they try their own list of modes (`PipelinePlanner.variants`,
    /// `SingleStagePlanner.recomputeModes`), each of which replaces it; `TrainingPlan.megatron` and the evaluator price it.
    public var recompute: RecomputeMode
    /// Under full recomputation, how many transformer blocks of each stage (each model chunk of a pipeline rank)
    /// rerun their forward pass, counted from the stage's first block; the stage's other blocks keep what their
    /// backward pass reads, as without recomputation (Megatron-LM's `--recompute-method block
    /// --recompute-num-layers N`, NeMo's `recompute_method='block'`). nil: every block reruns. A stage of fewer
    /// blocks reruns them all; 0 or less reruns none (the search's own profiles of kept blocks); other modes ignore
    /// it. The command line and plan documents take 1 to 2^20.
    public var recomputedBlocks: Int?
    /// ZeRO stage: 1 shards optimizer state over the data-parallel devices, 2 also gradients, 3 also weights. A floor:
    /// every parameter is sharded at least so, whatever stage its op's strategy or a planner's variant gives it
    /// (`maximumZeroStage` caps what a search chooses above it).
    public var zeroStage: Int
    /// Whether the data-parallel gradient reduction overlaps the backward pass (Megatron-Core's
    /// `--overlap-grad-reduce`, PyTorch DDP buckets).
    public var overlapGradientReduction: Bool
    /// Whether tensor-parallel collectives overlap the GEMMs around them (`--tp-comm-overlap`).
    public var overlapTensorParallelCommunication: Bool
    /// Whether the experts' dispatch and combine all-to-alls of one microbatch overlap the compute of another
    /// (Megatron-Core's `--overlap-moe-expert-parallel-comm`, its combined 1F1B schedule: `ExpertParallelOverlap`).
    public var overlapExpertParallelCommunication = false
    /// The kernels that carry the experts' tokens (`--moe-dispatcher`): NCCL's all-to-all unless told.
    public var expertDispatcher = ExpertDispatcher.allToAll
    /// The arithmetic of the linear layers' GEMMs (`--precision`).
    public var precision: MatmulPrecision
    /// How FP8 tensors are scaled when `precision` is `fp8` or `auto` (`--fp8-recipe`).
    public var fp8Recipe: FP8Recipe
    /// Whether each FP8 linear layer's weight is kept and gathered in FP8 rather than as a 16-bit copy
    /// (`--fp8-params`: Megatron-Core's `--fp8-param-gather`, TransformerEngine's `fp8_model_init`, NeMo's
    /// `model.fp8_params=True`, torchao's `enable_fsdp_float8_all_gather`): the weight is 1 byte a parameter beside
    /// the fp32 master copy, the optimizer step writes it in FP8, and the distributed optimizer's and ZeRO-3's
    /// gathers move 1 byte a parameter (Docs/cost-model.md, "FP8 parameters"). Only for layers that run in FP8
    /// (`fp8ParametersConflict` says which stacks refuse it).
    public var fp8Parameters: Bool
    /// The fused attention kernel the stack runs (`--attention-kernel`); nil for the GPU generation's usual one
    /// (`AttentionKernel.standard(on:)`).
    public var attentionKernel: AttentionKernel?
    /// How the stack fuses its kernels (`--fusion`): eager PyTorch, hand-fused kernels (Megatron-LM,
    /// TransformerEngine), or a compiled step (torch.compile, llm.c).
    public var kernelFusion: KernelFusionLevel
    /// Whether the loss runs as one fused kernel per pass (`--fused-cross-entropy`: Megatron-Core's
    /// `--cross-entropy-loss-fusion`, flash-attn's cross-entropy); a compiled step always fuses it, unless its loss
    /// runs outside the compiled graph (`eagerLoss`).
    public var fusedCrossEntropy: Bool
    /// Whether a compiled step leaves its loss to eager PyTorch (`--eager-loss` with `--fusion compiled`): a stack
    /// that compiles its transformer blocks one by one and calls `cross_entropy(logits.float())` outside them
    /// (torchtitan's `[compile]` without its `loss` component, Examples/gpu/measure.py). The loss's kernels are then
    /// priced, and hold memory, as under `--fusion eager`; every other op stays compiled.
    public var eagerLoss: Bool
    /// Whether an eager, unfused loss upcasts the logits to fp32 first (`cross_entropy(logits.float())`, torchtitan's
    /// loss; the default). False (`--no-loss-upcast`) prices PyTorch's `cross_entropy(logits)` on the 16-bit logits
    /// themselves, as a training loop that holds the logits through the backward pass calls it (KempnerForge's):
    /// log-softmax keeps its 16-bit output beside the logits, and the backward pass allocates the NLL's and
    /// log-softmax's gradients in 16 bits (`CrossEntropyMemory`). Only an eager loss without a fused kernel has the
    /// choice (`lossFusion == .eager`, no `fusedCrossEntropy`).
    public var upcastsLoss = true
    /// Whether the fused loss kernel writes the logits' gradient over the logits (`--loss-in-place` with
    /// `--fused-cross-entropy`: flash-attn's `CrossEntropyLoss(inplace_backward=True)`, TransformerEngine's fused
    /// loss; llm.c's classifier always does): the logits are all it keeps, and its backward pass allocates nothing
    /// (`CrossEntropyMemory`).
    public var writesLossGradientInPlace = false
    /// The type the gradient buffer accumulates and reduces in (fp32 as Megatron-LM; bf16 as NeMo's
    /// performance recipes).
    public var gradientPrecision: GradientPrecision
    /// What Adam keeps between steps: fp32 master weights and moments (Megatron-LM, FSDP over fp32 parameters) or
    /// bf16 moments and no master copy (`torch.optim.Adam` on a bf16 model, NeMo AutoModel).
    public var optimizerState: OptimizerStatePrecision
    /// Whether data-parallel gradients are sent in fp32 rather than in the weights' 16-bit type, whatever the
    /// buffer's type (`gradientPrecision`, which sets memory and the accumulation's bytes) (`--grad-reduce-in-fp32`: Megatron-LM's bf16 default, NeMo's `grad_reduce_in_fp32`, PyTorch FSDP with
    /// `reduce_dtype=float32` as torchtitan and Composer's `DEFAULT` mixed precision set it): the reduction
    /// moves 4 bytes a parameter instead of 2.
    public var reduceGradientsInFP32: Bool
    /// Whether ZeRO-3 runs as PyTorch FSDP2 (`fully_shard`, `--fsdp2`): each all-gather lands in one flat buffer
    /// that `foreach_all_gather_copy_out` then copies into the parameters' own storage on the compute stream
    /// (`split_with_sizes_copy`), a memory-bound kernel reading and writing the layer's 16-bit weights before the
    /// layer can run. FSDP1's flat parameter is computed on in the gathered buffer itself; without this option the
    /// model prices that stack, whose backward pass concatenates the layer's gradients into its flat gradient.
    public var copiesOutGatheredParameters: Bool
    /// The data-parallel devices that share one sharded copy of the ZeRO-3 state (`--zero-shard-group`): hybrid
    /// sharding, as PyTorch FSDP's `HYBRID_SHARD` and torchtitan's `data_parallel_shard_degree` run it. Weights,
    /// gradients and optimizer state are sharded over the group, each layer's gathers and reduce-scatters stay
    /// inside it, and the groups all-reduce their gradient shards after each reduce-scatter. The group is the
    /// innermost mesh axes splitting the batch, with any context- or tensor-parallel axis the gradients are also
    /// partial over (`HybridSharding`); nil shards over every data-parallel device.
    public var zeroShardGroup: Int?
    /// Whether ZeRO-3 gradients accumulate unsharded over the microbatches and are reduce-scattered once, in the
    /// last microbatch's backward pass (`--fsdp-no-sync`): PyTorch FSDP's `no_sync()`, FSDP2's
    /// `set_requires_gradient_sync(False)` on every microbatch but the last, Hugging Face Accelerate's gradient
    /// accumulation with FSDP. Each device then holds its whole local gradient in the buffer's type through the
    /// iteration (FSDP2 accumulates in `reduce_dtype`), as under ZeRO-1, and pays one reduce-scatter an iteration
    /// instead of one a microbatch. With one microbatch nothing changes.
    public var accumulatesUnshardedGradients = false

    /// Whether ZeRO-3 gradients accumulate unsharded in an iteration of `microbatches`: with one there is nothing
    /// to accumulate.
    public func accumulatesUnshardedGradients(over microbatches: Int) -> Bool {
        accumulatesUnshardedGradients && microbatches > 1
    }
    /// How context parallelism exchanges keys and values (`--cp-comm-type`): TransformerEngine's ring, hidden behind
    /// attention, an exposed all-gather, exposed all-to-alls that re-split q, k, v and the output by heads, or PyTorch's
    /// ring (torchtitan's), gathered behind the first step; the all-gather and the all-to-all run sliding windows
    /// (`ContextParallelExchange`). Only attention that splits its queries uses it.
    public var contextParallelCommunication = ContextParallelCommunication.ring
    /// The highest ZeRO stage the search may give a parameter of its own accord (`plan --zero N` pins N: with
    /// `zeroStage` as the floor, every parameter gets exactly N); 3 lets each op's sharding pick any stage. A plan
    /// that is scored carries its parameters' stages itself, so this bounds only what a search chooses.
    public var maximumZeroStage = 3
    /// Whether the search may give a parameter ZeRO-1 of its own accord (below `maximumZeroStage`): torchtitan's FSDP
    /// has no ZeRO-1 (it shards gradients with the optimizer state), so `plan --emit torchtitan` searches without it.
    public var searchesZeroOne = true

    public init(recompute: RecomputeMode = .none, recomputedBlocks: Int? = nil, zeroStage: Int = 0, overlapGradientReduction: Bool = false,
                overlapTensorParallelCommunication: Bool = false, precision: MatmulPrecision = .bf16,
                fp8Recipe: FP8Recipe = .tensorwise, fp8Parameters: Bool = false, attentionKernel: AttentionKernel? = nil,
                kernelFusion: KernelFusionLevel = .fused, fusedCrossEntropy: Bool = false, eagerLoss: Bool = false,
                gradientPrecision: GradientPrecision = .fp32, optimizerState: OptimizerStatePrecision = .fp32,
                reduceGradientsInFP32: Bool = false, copiesOutGatheredParameters: Bool = false, zeroShardGroup: Int? = nil) {
        self.recompute = recompute
        self.recomputedBlocks = recomputedBlocks
        self.zeroStage = zeroStage
        self.overlapGradientReduction = overlapGradientReduction
        self.overlapTensorParallelCommunication = overlapTensorParallelCommunication
        self.precision = precision
        self.fp8Recipe = fp8Recipe
        self.fp8Parameters = fp8Parameters
        self.attentionKernel = attentionKernel
        self.kernelFusion = kernelFusion
        self.fusedCrossEntropy = fusedCrossEntropy
        self.eagerLoss = eagerLoss
        self.gradientPrecision = gradientPrecision
        self.optimizerState = optimizerState
        self.reduceGradientsInFP32 = reduceGradientsInFP32
        self.copiesOutGatheredParameters = copiesOutGatheredParameters
        self.zeroShardGroup = zeroShardGroup
    }

    /// `mode` as the reports name it under these options (`RecomputeMode.name(recomputedBlocks:)`).
    public func recomputeName(_ mode: RecomputeMode) -> String { mode.name(recomputedBlocks: recomputedBlocks) }

    /// How the loss's kernels run: eager where a compiled step leaves the loss out of its graph (`eagerLoss`), else
    /// as every other op's (`kernelFusion`).
    public var lossFusion: KernelFusionLevel { eagerLoss ? .eager : kernelFusion }

    /// Why `writesLossGradientInPlace` cannot hold under these options (nil when it can, or when it is false).
    public var lossInPlaceConflict: String? {
        guard writesLossGradientInPlace, !fusedCrossEntropy else { return nil }
        return "only a fused cross-entropy kernel writes the logits' gradient over them, and fused_cross_entropy is not set"
    }

    /// Why `upcastsLoss` false cannot hold under these options (nil when it can, or when it is true): only an
    /// eager loss without a fused kernel chooses whether to upcast its logits.
    public var lossUpcastConflict: String? {
        guard !upcastsLoss else { return nil }
        if fusedCrossEntropy { return "a fused cross-entropy kernel reads the 16-bit logits and keeps no fp32 copy; the loss upcast is eager PyTorch's" }
        if lossFusion != .eager {
            return "the loss runs \(lossFusion == .compiled ? "in the compiled graph" : "as Megatron's fused kernels"), not as eager PyTorch's cross_entropy, which alone chooses whether to upcast the logits"
        }
        return nil
    }

    /// Bytes an element of a data-parallel gradient reduction moves, for gradients of `dtype`.
    public func gradientReductionBytes(_ dtype: DType) -> Double {
        reduceGradientsInFP32 ? 4 : Double(dtype.byteSize)
    }

    /// Memory a training process holds besides tensors: CUDA context, cuBLAS and NCCL workspaces and
    /// allocator fragmentation (Docs/cost-model.md).
    public static let frameworkOverheadBytes = 3.0e9
    /// The fraction of a tensor-parallel collective hidden behind GEMMs when overlap is on
    /// (Docs/cost-model.md).
    public static let tensorParallelOverlapFraction = 0.6

    /// The share of a collective of `kind` that still shows under these options' tensor-parallel overlap. With
    /// `overlapTensorParallelCommunication`, TransformerEngine's userbuffers hide `tensorParallelOverlapFraction`
    /// of the all-gathers, reduce-scatters and all-reduces around the linear layers' GEMMs. An all-to-all is
    /// never theirs: the experts' dispatch and combine, and an all-to-all layout change, show whole
    /// (Megatron-Core overlaps the experts' only under its own `--overlap-moe-expert-parallel-comm`).
    public func tensorParallelOverlapShare(of kind: CollectiveKind) -> Double {
        overlapTensorParallelCommunication && kind != .allToAll ? 1 - Self.tensorParallelOverlapFraction : 1
    }

    /// The share of a collective of `kind` on tensor or expert parallelism's axes that the search's terms charge
    /// beside these options' overlaps, of `microbatches` microbatches: `tensorParallelOverlapShare`, and for an
    /// all-to-all under `overlapExpertParallelCommunication` the compute it slows (`ExpertParallelOverlap.searchShare`),
    /// as if the other microbatch's compute hid it whole (the exact model checks how much it hides).
    public func searchOverlapShare(of kind: CollectiveKind, microbatches: Int) -> Double {
        kind == .allToAll && overlapExpertParallelCommunication
            ? ExpertParallelOverlap.searchShare(microbatches: microbatches) : tensorParallelOverlapShare(of: kind)
    }
    /// Seconds of compute lost for each second a collective runs beside it on another stream: NCCL's kernels
    /// occupy SMs and memory bandwidth. Lee et al. 2025 (arXiv:2507.03114; GPT and Llama training on 4 A100s,
    /// H100s, MI250s and MI210s) measured compute 18.9% slower overlapped than alone, and compute and
    /// communication run one after the other 10.2% slower than overlapped, on average: the communication took
    /// 1.102 x 1.189 - 1 = 31.0% of the compute's time alone, and each of its seconds cost 0.189 / 0.310 = 0.61 s
    /// of compute (Docs/cost-model.md).
    public static let overlappedComputeSlowdown = 0.189 / (1.102 * 1.189 - 1)
    /// The most compute can lose to the collectives beside it, as a fraction of its own time: the largest
    /// slowdown Lee et al. measured, 40.0%.
    public static let overlappedComputeSlowdownLimit = 0.40
}

/// How a training stack turns the graph's ops into kernels (Docs/cost-model.md, "Fusion").
public enum KernelFusionLevel: String, CaseIterable, Sendable {
    /// Eager PyTorch: every op its own kernel but a linear layer's bias, which `addmm` adds in the GEMM's epilogue;
    /// the host's dispatch per op, RMSNorm as the reference Python implementation runs it (torchtitan and Hugging
    /// Face models without torch.compile).
    case eager
    /// Hand-fused kernels: chains of pointwise ops fused into their consumers, scale-mask-softmax and norms as
    /// one kernel each (Megatron-LM, TransformerEngine, Apex).
    case fused
    /// A compiled step (torch.compile's Inductor, llm.c's C/CUDA): the fused kernels, the loss as one kernel
    /// each way, and a few microseconds per kernel.
    case compiled
}
