/// A training framework that ShardPlan writes launch settings for, with what it can and cannot run.
/// Option names and their sources: Docs/frameworks.md.
public enum TrainingFramework: String, CaseIterable, Sendable {
    /// Megatron-LM's `pretrain_gpt.py` command-line arguments, launched by `torchrun`.
    case megatron
    /// NeMo 2.0 recipe overrides (`nemo llm pretrain --factory RECIPE key=value ...`).
    case nemo
    /// Megatron-Bridge 0.3: a Python function that sets the plan on a recipe's `ConfigContainer` before `pretrain`.
    case megatronBridge = "megatron-bridge"
    /// A torchtitan 0.2 job config (TOML, `--job.config_file`).
    case torchtitan

    public var displayName: String {
        switch self {
        case .megatron: "Megatron-LM"
        case .nemo: "NeMo 2.0"
        case .megatronBridge: "Megatron-Bridge"
        case .torchtitan: "torchtitan"
        }
    }

    /// What builds the model in the settings ShardPlan writes, a causal decoder, and where the framework has an
    /// encoder's recipe, why it is not written; for the refusal of an encoder (`FrameworkExport.refusal`).
    var decoderRecipe: String {
        switch self {
        case .megatron: "pretrain_gpt.py; Megatron-LM's pretrain_bert.py builds BERT with a masked-LM head transform and, by default, "
            + "a sentence-order head, which this graph does not hold, and takes other arguments"
        case .nemo: "its GPT recipes' model; NeMo's BERT recipes (bert_340m, ...) build a masked-LM head transform, a pooler and, by "
            + "default, a binary head, which this graph does not hold"
        case .megatronBridge: "its recipes' GPT model providers"
        case .torchtitan: "its Llama-style models"
        }
    }

    /// Whether the framework trains with Megatron-Core's model, schedules and distributed optimizer (Megatron-LM,
    /// NeMo 2.0 and Megatron-Bridge), and so shares its kernels, recomputation options and refusals.
    public var runsMegatronCore: Bool { megatronCoreNames != nil }

    /// How a framework's settings name two of Megatron-Core's options, for the sentences that say what changed.
    struct SettingNames {
        /// The recomputed submodules (`recompute_modules`).
        var recomputeModules: String
        /// Between `recomputeModules` and a list of submodules: a space before words (a flag), else `=` or ` = `
        /// before a Python list.
        var assignsList: String?
        /// The gradient buffer, and so the data-parallel reduction, kept in bf16.
        var bf16GradientReduction: String

        /// `recomputeModules` set to `modules`: `--recompute-modules layernorm moe_act`,
        /// `model.config.recompute_modules=['layernorm', 'moe_act']`.
        func recomputing(_ modules: [String]) -> String {
            guard let assignsList else { return ([recomputeModules] + modules).joined(separator: " ") }
            return recomputeModules + assignsList + MegatronBridgeConfig.Value.strings(modules).python
        }
    }

    /// The names of Megatron-Core's options in this framework's settings; nil for torchtitan, which has none.
    var megatronCoreNames: SettingNames? {
        switch self {
        case .megatron: SettingNames(recomputeModules: "--recompute-modules", bf16GradientReduction: "--grad-reduce-in-bf16")
        case .nemo: SettingNames(recomputeModules: "model.config.recompute_modules", assignsList: "=",
                                 bf16GradientReduction: "grad_reduce_in_fp32=False")
        case .megatronBridge: SettingNames(recomputeModules: "cfg.model.recompute_modules", assignsList: " = ",
                                           bf16GradientReduction: "cfg.mixed_precision.grad_reduce_in_fp32 = False")
        case .torchtitan: nil
        }
    }

    /// The largest ZeRO stage this framework runs as the plan prices it: NeMo 2.0's `MegatronStrategy` shards the
    /// optimizer's state only (its distributed optimizer), so it runs a plan's ZeRO-2 and ZeRO-3 as ZeRO-1, which
    /// holds more; Megatron-LM and Megatron-Bridge (Megatron-FSDP) and torchtitan (FSDP) run every stage. `plan --emit` searches
    /// within it when the ZeRO stage is left to the search, so that the settings it writes hold what was planned.
    public var largestZeroStage: Int {
        switch self {
        case .megatron, .megatronBridge, .torchtitan: 3
        case .nemo: 1
        }
    }

    /// Whether this framework runs ZeRO stage `stage` as ShardPlan prices it, which `plan --emit` searches under `--zero
    /// auto`: up to `largestZeroStage`, and for torchtitan not ZeRO-1 (its FSDP keeps the gathered weights or reshards
    /// them: ZeRO-2 and 3; ZeRO-1 becomes ZeRO-2 in `expressible`).
    public func runsZeroStage(_ stage: Int) -> Bool {
        stage <= largestZeroStage && !(self == .torchtitan && stage == 1)
    }

    /// The recomputation modes of `RecomputeMode.automaticChoices` this framework runs as ShardPlan prices them under
    /// `options`, which `plan --emit` searches: Megatron-Core's selective granularity (the attention core, or the norm
    /// before the experts and their activation: `layernorm` and `moe_act`, which TransformerEngine refuses beside FP8
    /// with delayed scaling) and full recomputation;
    /// torchtitan's op-level policy (`selective_ac_option = "op"`) and full. The rest become their nearest mode in
    /// `expressible`, priced again, which may not fit where the searched mode did.
    public func automaticRecomputeModes(under options: TrainingOptions) -> [RecomputeMode] {
        switch self {
        case .megatron, .nemo, .megatronBridge:
            ParallelLayout.transformerEngineFP8Recipe(for: options) == "delayed" ? [.none, .selective, .full] : [.none, .normAct, .selective, .full]
        case .torchtitan: [.none, .selectiveOperators, .full]
        }
    }

    /// The kernels this framework runs without being told otherwise: Megatron-Core's fused ones (TransformerEngine's),
    /// and eager PyTorch for torchtitan without `[compile]`.
    public var kernelFusion: KernelFusionLevel { runsMegatronCore ? .fused : .eager }

    /// `options` as this framework runs every plan, which `plan --emit` searches: what `expressible` would change on
    /// export, where the user left it to its default (`gradientBufferGiven`, `optimizerStateGiven`, `fusionGiven` and
    /// `exchangeGiven` say which were named; a named one is searched as given and changed, with a sentence, on export).
    /// Megatron-Core keeps its gradient buffer in the type it reduces in (bf16 for ShardPlan's 16-bit reductions);
    /// torchtitan trains fp32 weights that are the master copy, reduces gradients in fp32 during the backward pass, runs
    /// eager PyTorch without `[compile]` (torch.compile's kernels where tensor-parallel overlap is asked for, which it runs
    /// only compiled), copies each gathered layer out (FSDP2) and exchanges keys and values for
    /// context parallelism in PyTorch's ring (its default all-gather rotation where none is named; `plan --emit
    /// torchtitan` also tries the all-to-all one); the Megatron-Core frameworks run their own ring where PyTorch's is
    /// asked for.
    public func searchedOptions(_ options: TrainingOptions, gradientBufferGiven: Bool, optimizerStateGiven: Bool,
                                fusionGiven: Bool, exchangeGiven: Bool) -> TrainingOptions {
        var searched = options
        if !fusionGiven {
            // torchtitan overlaps tensor-parallel communication only in a compiled model (`expressible`), so a search
            // asked for the overlap prices torch.compile's kernels, which its settings then run.
            searched.kernelFusion = self == .torchtitan && options.overlapTensorParallelCommunication ? .compiled : kernelFusion
        }
        if runsMegatronCore {
            if !gradientBufferGiven { searched.gradientPrecision = options.reduceGradientsInFP32 ? .fp32 : .bf16 }
        } else {
            if !optimizerStateGiven { searched.optimizerState = .fp32Weights }
            searched.reduceGradientsInFP32 = true
            searched.overlapGradientReduction = true
            searched.copiesOutGatheredParameters = true
            if !exchangeGiven { searched.contextParallelCommunication = .pytorchRing }
        }
        if runsMegatronCore && !exchangeGiven && searched.contextParallelCommunication.isPyTorchRing {
            searched.contextParallelCommunication = .ring
        }
        return searched
    }

    /// The nearest configuration this framework runs, and a sentence for each thing that had to change.
    /// `chunkLayers` are the repeated layers (transformer blocks) of each model chunk as `configuration` lays them out
    /// (`ParallelLayout.chunkLayers`): they say whether torchtitan can run full recomputation of only some blocks of
    /// each stage (`TrainingOptions.recomputedBlocks`), with `blockStructures`, how many structures those blocks hold
    /// (`ParallelLayout.blockStructures`: 1 for a model of identical blocks); `microbatches`, the plan's count where
    /// known, says whether ZeRO-3's gradients accumulate at all; `hasExperts`, whether the model holds a mixture of
    /// experts (`ParallelLayout.feedForwardModules`); `rerunsUnderNormActivation`, whether `norm-act` reruns anything
    /// in it (`StageCostModel.rerunsUnderNormActivation`: experts, or a multi-head latent attention's input norm; where
    /// not given, whether it holds experts).
    public func expressible(_ configuration: MegatronConfiguration, chunkLayers: [Int], blockStructures: Int = 1,
                            microbatches: Int? = nil, hasExperts: Bool = false,
                            rerunsUnderNormActivation: Bool? = nil) -> (configuration: MegatronConfiguration, changes: [String]) {
        let rerunsUnderNormActivation = rerunsUnderNormActivation ?? hasExperts
        var nearest = configuration
        var changes: [String] = []
        if configuration.schedule == .gpipe && runsMegatronCore {
            nearest.schedule = .oneForwardOneBackward
            changes.append("\(displayName) has no GPipe schedule; 1F1B runs the same microbatches with fewer in flight")
        }
        switch (self, configuration.options.optimizerState) {
        case (.torchtitan, .fp32Weights), (.megatron, .fp32), (.nemo, .fp32), (.megatronBridge, .fp32):
            break
        case (.torchtitan, let state):
            // FSDP2's mixed precision (and autocast without it) casts fp32 parameters to bf16 for each use.
            nearest.options.optimizerState = .fp32Weights
            changes.append("torchtitan trains fp32 parameters cast to bf16 for each use, which are Adam's master copy (16 bytes a parameter with fp32 gradients); "
                           + (state == .bf16 ? "the plan's bf16 optimizer state without a master copy becomes fp32 weights and moments"
                                             : configuration.options.fp8Parameters
                                                ? "the plan's FP8 weights beside fp32 master weights become fp32 weights, cast to FP8 for each gather (1 byte a parameter less)"
                                                : "the plan's bf16 weights beside fp32 master weights become fp32 weights (2 bytes a parameter less)"))
        case (_, .bf16):
            nearest.options.optimizerState = .fp32
            changes.append("\(displayName) keeps fp32 master weights and fp32 Adam moments; the plan's bf16 optimizer state without a master copy becomes fp32")
        case (_, .fp32Weights):
            nearest.options.optimizerState = .fp32
            changes.append("\(displayName) trains bf16 weights beside an fp32 master copy in the optimizer; the plan's fp32 weights become bf16 weights and fp32 master weights (2 more bytes a parameter)")
        }
        let reducesGradients = (configuration.dataParallel ?? 1) * configuration.contextParallel > 1
        if let names = megatronCoreNames {
            // Megatron-Core runs its own fused kernels (TransformerEngine's, its fused softmax, bias-GeLU and RoPE); a
            // compiled plan's loss, fused in its graph, is Megatron-Core's fused cross-entropy.
            if nearest.options.kernelFusion != .fused {
                let compiledLoss = nearest.options.lossFusion == .compiled
                changes.append("\(displayName) runs its own fused kernels (TransformerEngine's): the plan's \(nearest.options.kernelFusion == .compiled ? "torch.compile'd" : "eager PyTorch") kernels become those"
                               + (compiledLoss && !nearest.options.fusedCrossEntropy ? ", and its compiled loss the fused cross-entropy" : ""))
                if compiledLoss { nearest.options.fusedCrossEntropy = true }
                nearest.options.kernelFusion = .fused
                nearest.options.eagerLoss = false
            }
            // Megatron-Core keeps its gradient buffer in the type it reduces in (`DistributedDataParallelConfig.
            // grad_reduce_in_fp32`): fp32 by default in bf16 training, bf16 with Megatron-LM's
            // --grad-reduce-in-bf16, NeMo's `grad_reduce_in_fp32=False` (its performance recipes' setting) or
            // Megatron-Bridge's `mixed_precision.grad_reduce_in_fp32 = False`.
            let buffer: GradientPrecision = nearest.options.reduceGradientsInFP32 ? .fp32 : .bf16
            if reducesGradients && nearest.options.gradientPrecision != buffer {
                nearest.options.gradientPrecision = buffer
                changes.append(buffer == .bf16
                    ? "\(displayName) reduces gradients in its gradient buffer's type: the plan's 16-bit reductions take a bf16 buffer (\(names.bf16GradientReduction)), 2 bytes a parameter less, with each microbatch's gradients accumulated in bf16"
                    : "\(displayName) reduces gradients in its gradient buffer's type: the plan's fp32 reductions take an fp32 buffer, 2 bytes a parameter more")
            }
        } else {
            if nearest.options.gradientPrecision == .bf16 {
                nearest.options.gradientPrecision = .fp32
                changes.append("torchtitan keeps gradients in its fp32 parameters' type; the plan's bf16 gradient buffer becomes fp32 (2 bytes a parameter more)")
            }
            if reducesGradients && !nearest.options.reduceGradientsInFP32 {
                nearest.options.reduceGradientsInFP32 = true
                changes.append("torchtitan reduces gradients in fp32 (FSDP's mixed_precision_reduce takes only float32; DDP reduces the fp32 parameters' gradients): twice the bytes of the plan's 16-bit reductions")
            }
        }
        if configuration.options.precision == .auto {
            nearest.options.precision = .fp8
            changes.append("the plan runs some linear layers in FP8 and others in bf16; \(displayName) runs every linear layer in FP8")
        }
        if let names = megatronCoreNames {
            if nearest.options.precision == .fp8 && nearest.options.fp8Recipe == .rowwise {
                nearest.options.fp8Recipe = .tensorwise
                changes.append("\(displayName)'s TransformerEngine has no row-wise FP8 recipe; delayed tensor-wise scaling is nearest")
            }
            // Megatron-Core's ModelParallelConfig refuses expert and tensor parallelism without sequence parallelism;
            // Megatron-LM's `validate_args` refuses any mixture of experts beside tensor parallelism without it.
            if nearest.tensorParallel > 1 && !nearest.sequenceParallel {
                if nearest.expertParallel > 1 {
                    nearest.sequenceParallel = true
                    changes.append("\(displayName)'s Megatron-Core runs expert parallelism beside tensor parallelism only with sequence parallelism")
                } else if self == .megatron && hasExperts {
                    nearest.sequenceParallel = true
                    changes.append("Megatron-LM runs a mixture of experts beside tensor parallelism only with sequence parallelism")
                }
            }
            // Megatron-LM's `validate_args` asserts sequence parallelism with `--tp-comm-overlap`; NeMo's
            // MegatronCommOverlapCallback turns the overlap off without it, so the run would not be the one priced.
            if nearest.options.overlapTensorParallelCommunication && nearest.tensorParallel > 1 && !nearest.sequenceParallel {
                nearest.sequenceParallel = true
                changes.append("\(displayName) overlaps tensor-parallel communication with the GEMMs only with sequence parallelism, which it turns on")
            }
            if nearest.options.recompute == .selectiveOperators {
                nearest.options.recompute = .selective
                changes.append("\(displayName) has no op-level selective checkpointing; recomputing the attention core (selective granularity) is nearest")
            } else if nearest.options.recompute == .elementwise {
                // Megatron-Core's `--recompute-modules layernorm moe_act` reruns the norms and the experts'
                // activation only: neither a dense MLP's activation, the rotary embedding nor the residual adds.
                nearest.options.recompute = .selective
                changes.append("\(displayName) has no op-level checkpointing that keeps every product with a weight and reruns the rest of each block (its \(names.recomputing(["layernorm", "moe_act"])) reruns only the norms and the experts' activation); recomputing the attention core (selective granularity) is nearest")
            }
            if nearest.options.recompute == .normAct && ParallelLayout.transformerEngineFP8Recipe(for: nearest.options) == "delayed" {
                nearest.options.recompute = .none
                changes.append("\(displayName)'s TransformerEngine refuses to rerun the norms and the experts' activation (\(names.recomputing(["layernorm", "moe_act"]))) beside FP8 with delayed scaling: nothing is recomputed")
            }
            if nearest.options.recompute == .mlp || nearest.options.recompute == .allButQKV {
                // Submodule checkpointing (`ParallelLayout.recomputeModules`) keeps each submodule's input: the rotary
                // embedding's and the residual adds' results stay, and under all-but-qkv so does the output
                // projection's; under FP8 with delayed scaling Megatron-Core refuses to recompute the norms, which stay too.
                let delayedFP8 = ParallelLayout.transformerEngineFP8Recipe(for: nearest.options) == "delayed"
                let kept = ["the rotary embedding", "the residual adds"] + (delayedFP8 ? ["the norms"] : [])
                    + (nearest.options.recompute == .allButQKV ? ["the output projection"] : [])
                changes.append("\(displayName) recomputes whole submodules (\(names.recomputeModules)), which keep what \(kept.dropLast().joined(separator: ", ")) and \(kept.last!) produce, where the plan reruns them")
            }
        }
        // Megatron-Core's combined 1F1B schedule overlaps the experts' all-to-alls where its TransformerConfig allows it
        // (expert parallelism, no full recomputation, the interleaved schedule beside pipelining) and the launch leaves
        // it more than one work queue; torchtitan has none.
        if nearest.options.overlapExpertParallelCommunication {
            let refusal: String? = if !runsMegatronCore {
                "torchtitan has no schedule that overlaps one microbatch's expert all-to-alls with another's compute"
            } else if nearest.expertParallel < 2 {
                "\(displayName) overlaps the experts' all-to-alls (overlap_moe_expert_parallel_comm) only with expert parallelism"
            } else if nearest.options.recompute == .full {
                "\(displayName) refuses full recomputation beside the overlap of the experts' all-to-alls (overlap_moe_expert_parallel_comm)"
            } else if nearest.pipelineParallel > 1 && nearest.virtualStages < 2 {
                "\(displayName) overlaps the experts' all-to-alls (overlap_moe_expert_parallel_comm) beside pipelining only with the interleaved schedule"
            } else if (nearest.tensorParallel > 1 || nearest.contextParallel > 1) && nearest.options.zeroStage < 2 {
                // `ParallelLayout.torchrunEnvironment`: Megatron-LM only warns, but with one queue the streams serialise.
                "\(displayName)'s launch sets CUDA_DEVICE_MAX_CONNECTIONS=1 beside tensor or context parallelism (Megatron-LM asserts it before Blackwell), one work queue on which the experts' all-to-alls cannot run beside another microbatch's compute"
            } else {
                nil
            }
            if let refusal {
                nearest.options.overlapExpertParallelCommunication = false
                changes.append(refusal + "; the plan's overlapped all-to-alls run exposed")
            }
        }
        // torchtitan 0.2.2's expert-parallel backends are `standard` and `deepep` (`ExpertDispatcher.inTorchTitan`).
        let priced = nearest.options.expertDispatcher
        let runs = priced.inTorchTitan(expertsSplitOverTensor: nearest.tensorParallel > 1 && !nearest.foldsExpertsOverTensor)
        if self == .torchtitan && nearest.expertParallel > 1 && runs != priced {
            nearest.options.expertDispatcher = runs
            if runs == .allToAll {
                let backend = priced == .hybridEP ? "HybridEP backend, which it lacks, or its DeepEP one" : "DeepEP backend"
                changes.append("torchtitan's \(backend) refuses experts split over the tensor-parallel ranks (expert_tensor_parallel_degree = \(nearest.tensorParallel)); its standard all-to-all sends a copy of a token for each of its experts, more than the plan prices")
            } else {
                changes.append("torchtitan has no HybridEP backend; its DeepEP one (expert_parallel_comm_backend = \"deepep\") sends the same tokens the plan prices")
            }
        }
        // torchtitan's context parallelism is PyTorch's ring attention (`context_parallel`, under either rotation its
        // `context_parallel_rotate_method` names), Megatron-Core's TransformerEngine's exchanges: each runs its own where
        // the plan prices the other's.
        let exchange = nearest.options.contextParallelCommunication
        if (self == .torchtitan) != exchange.isPyTorchRing {
            // torchtitan's all-to-all rotation passes keys and values a step at a time, as TransformerEngine's ring does.
            let runs: ContextParallelCommunication = self != .torchtitan ? .ring : exchange == .ring ? .pytorchRingAllToAll : .pytorchRing
            nearest.options.contextParallelCommunication = runs
            if configuration.contextParallel > 1 {
                let priced = switch exchange {
                case .ring: "TransformerEngine's ring (p2p)"
                case .allGather: "an exposed all-gather of keys and values (TransformerEngine's all_gather)"
                case .allToAll: "all-to-alls of queries, keys, values and outputs (TransformerEngine's a2a)"
                case .hierarchical: "all-to-alls inside groups and a ring between them (TransformerEngine's a2a+p2p)"
                case .pytorchRing: "PyTorch's ring attention under its all-gather rotation (torchtitan's), keys and values gathered behind the first step, outputs merged in fp32"
                case .pytorchRingAllToAll: "PyTorch's ring attention under its all-to-all rotation (torchtitan's), outputs merged in fp32"
                }
                let rotation = runs == .pytorchRingAllToAll
                    ? "with its all-to-all rotation (context_parallel_rotate_method = \"alltoall\"), each step's keys and values arriving behind the step before"
                    : "gathering keys and values behind the first step"
                changes.append(self == .torchtitan
                    ? "torchtitan runs PyTorch's ring attention over the sequence's chunks, \(rotation) and merging its outputs in fp32, where the plan prices \(priced)"
                    : "\(displayName) runs TransformerEngine's ring (--cp-comm-type p2p), each step's keys and values arriving behind the step before, where the plan prices \(priced)")
            }
        }
        // NeMo 2.0's strategy initialises Megatron-Core's parallel state without hierarchical context-parallel groups
        // (`init_model_parallel` in `nemo/lightning/_strategy_lib.py` passes no `hierarchical_context_parallel_sizes`), which
        // TransformerEngine's a2a+p2p needs: its ring is the nearest it runs.
        if self == .nemo && nearest.options.contextParallelCommunication == .hierarchical {
            nearest.options.contextParallelCommunication = .ring
            nearest.contextAllToAll = nil
            if configuration.contextParallel > 1 {
                changes.append("NeMo 2.0 builds no hierarchical context-parallel groups (its strategy passes no hierarchical_context_parallel_sizes to Megatron-Core), so it runs TransformerEngine's ring (cp_comm_type p2p), each step's keys and values arriving behind the step before, where the plan prices all-to-alls inside groups and a ring between them (a2a+p2p)")
            }
        }
        if nearest.options.accumulatesUnshardedGradients {
            // Neither torchtitan nor Megatron-Core's FSDP skips the reduce-scatter of the microbatches before the
            // last one; the settings ShardPlan writes reduce-scatter every microbatch. That changes something only
            // where the framework runs ZeRO-3 (NeMo's becomes ZeRO-1, said below) and there is more than one microbatch.
            nearest.options.accumulatesUnshardedGradients = false
            if largestZeroStage >= 3 && configuration.options.zeroStage >= 3 && (microbatches ?? 2) > 1 && reducesGradients {
                changes.append("ShardPlan writes \(displayName)'s ZeRO-3 with a reduce-scatter every microbatch; the plan's gradients accumulated unsharded and reduce-scattered once (FSDP's no_sync) become that, each device holding only its shard of them")
            }
        }
        if !nearest.vocabularyParallelEmbedding {
            // Megatron-Core's VocabParallelEmbedding; torchtitan's RowwiseParallel token embedding.
            nearest.vocabularyParallelEmbedding = true
            changes.append("\(displayName) splits the embedding's vocabulary over the tensor-parallel ranks; the plan's whole table on every rank becomes that")
        }
        if !nearest.vocabularyParallelLoss && runsMegatronCore {
            nearest.vocabularyParallelLoss = true
            changes.append("\(displayName) runs a vocabulary-parallel cross-entropy; the plan's loss over the whole logits on every tensor-parallel rank becomes that")
        }
        if nearest.options.writesLossGradientInPlace && runsMegatronCore {
            // Megatron-Core's fused cross-entropy saves its fp32 softmax and returns a new gradient.
            nearest.options.writesLossGradientInPlace = false
            changes.append("ShardPlan writes \(displayName)'s native fused cross-entropy, which keeps its fp32 softmax for the backward pass; the plan's loss that writes the logits' gradient over them becomes that")
        }
        if !nearest.options.upcastsLoss {
            // torchtitan's loss is `cross_entropy(pred.flatten(0, 1).float(), labels)`; Megatron-Core's computes in fp32.
            nearest.options.upcastsLoss = true
            changes.append("\(displayName)'s loss upcasts the logits to fp32; the plan's cross_entropy on the 16-bit logits becomes that")
        }
        if let group = configuration.options.zeroShardGroup, runsMegatronCore {
            nearest.options.zeroShardGroup = nil
            changes.append("ShardPlan writes \(displayName)'s ZeRO sharding over every data-parallel rank; the plan's shard groups of \(group) become one group of all of them")
        }
        if runsMegatronCore && nearest.options.fp8Parameters && nearest.options.precision == .fp8
            && nearest.options.zeroStage == 0 {
            // Megatron-LM's `validate_args`: "--fp8-param-gather only supported with distributed optimizer".
            nearest.options.zeroStage = 1
            changes.append("\(displayName) keeps FP8 weights only with its distributed optimizer, which writes them after each step: ZeRO-0 becomes ZeRO-1")
        }
        switch self {
        case .megatron, .megatronBridge:
            break
        case .nemo:
            if configuration.options.zeroStage > 1 {
                nearest.options.zeroStage = 1
                changes.append("NeMo 2.0's MegatronStrategy shards optimizer state only (the distributed optimizer): ZeRO-\(configuration.options.zeroStage) becomes ZeRO-1")
            }
        case .torchtitan:
            if nearest.options.recompute == .mlp || nearest.options.recompute == .allButQKV {
                changes.append("torchtitan's checkpointing policies cannot keep \(nearest.options.recompute == .mlp ? "attention's products while the MLP reruns" : "only the q, k and v projections"): full recomputation is nearest")
                nearest.options.recompute = .full
                nearest.options.recomputedBlocks = nil
            }
            // Layer-level selective checkpointing reruns one block in every K of a rank: the plan's first N blocks of
            // each stage only where every stage holds K x N (`TorchTitanJobConfig.checkpointInterval`).
            if nearest.options.recompute == .full, let blocks = nearest.options.recomputedBlocks,
               TorchTitanJobConfig.checkpointInterval(recomputedBlocks: blocks, chunkLayers: chunkLayers, blockStructures: blockStructures) == nil {
                nearest.options.recomputedBlocks = nil
                changes.append(TorchTitanJobConfig.unexpressedBlocks(recomputedBlocks: blocks, chunkLayers: chunkLayers, blockStructures: blockStructures))
            }
            if nearest.options.recompute == .selective {
                nearest.options.recompute = .selectiveOperators
                changes.append("torchtitan has no checkpointing that reruns only the attention core: its op-level policy (selective_ac_option = \"op\") is nearest, and keeps attention's output while it reruns every second product of each block")
            }
            if nearest.options.recompute == .elementwise {
                nearest.options.recompute = .selectiveOperators
                changes.append("torchtitan's checkpointing policies cannot keep every product with a weight: its op-level policy (selective_ac_option = \"op\") is nearest, and reruns every second product of each block too")
            }
            if nearest.options.recompute == .normAct {
                // Where norm-act reruns nothing, no recomputation is the same plan.
                nearest.options.recompute = rerunsUnderNormActivation ? .selectiveOperators : .none
                if rerunsUnderNormActivation {
                    changes.append("torchtitan cannot rerun only the norms Megatron-Core runs as modules of their own (before the experts, or a latent attention's input norm) and the experts' activation: its op-level policy (selective_ac_option = \"op\") is nearest, and reruns every op of each block but attention and every other product")
                }
            }
            if configuration.tensorParallel > 1 && !configuration.sequenceParallel {
                nearest.sequenceParallel = true
                changes.append("torchtitan's tensor parallelism always splits norms and residuals along the sequence (sequence parallelism)")
            }
            // `enable_async_tensor_parallel` needs `[compile] enable` (torchtitan's parallelize_llama), which compiles
            // the whole model and its loss.
            if nearest.options.overlapTensorParallelCommunication && configuration.tensorParallel > 1
                && nearest.options.kernelFusion != .compiled {
                nearest.options.kernelFusion = .compiled
                nearest.options.eagerLoss = false
                changes.append("torchtitan overlaps tensor-parallel communication (enable_async_tensor_parallel) only in a compiled model: the plan's \(configuration.options.kernelFusion.rawValue) kernels become torch.compile's")
            }
            // Without `[compile]` torchtitan runs eager PyTorch: no hand-fused kernels, no fused loss.
            if nearest.options.kernelFusion == .fused {
                nearest.options.kernelFusion = .eager
                changes.append("torchtitan has no hand-fused kernels such as Megatron's: without [compile] it runs eager PyTorch's (plan with --fusion compiled for torch.compile's)")
            }
            // A fused loss kernel (llm.c's, flash-attn's) keeps no logits-sized working buffer; torchtitan has none.
            if nearest.options.fusedCrossEntropy {
                nearest.options.fusedCrossEntropy = false
                nearest.options.writesLossGradientInPlace = false
                let runsAs = nearest.options.lossFusion == .compiled ? "torch.compile's, in the compiled model"
                    : nearest.options.eagerLoss ? "eager PyTorch's, outside the compiled model" : "eager PyTorch's"
                changes.append("torchtitan has no fused cross-entropy kernel: its loss runs as \(runsAs)")
            }
            if configuration.options.zeroStage == 1 && configuration.dataParallel ?? 1 > 1 {
                nearest.options.zeroStage = 2
                changes.append("torchtitan has no ZeRO-1; FSDP that keeps the gathered weights from forward to backward (ZeRO-2) is nearest")
            } else if nearest.options.zeroStage < 2 && (configuration.contextParallel > 1 || configuration.expertParallel > 1) {
                // ParallelDims: the FSDP mesh is dp_shard x cp, and the experts' groups are cut from it.
                nearest.options.zeroStage = 2
                let why = [configuration.contextParallel > 1 ? "shards parameters with FSDP over its context-parallel ranks" : nil,
                           configuration.expertParallel > 1 ? "cuts expert parallelism from the FSDP ranks" : nil].compactMap { $0 }
                changes.append("torchtitan \(why.joined(separator: " and ")); FSDP that keeps the gathered weights from forward to backward (ZeRO-2) is nearest")
            } else if nearest.options.zeroStage == 0 && configuration.dataParallel ?? 1 > 1
                        && (configuration.tensorParallel > 1 || configuration.pipelineParallel > 1) {
                // parallelize_llama applies DDP only where the data-parallel replicas are the whole world.
                nearest.options.zeroStage = 2
                changes.append("torchtitan runs DDP only as the sole parallelism (\"DDP has not supported > 1D parallelism\"); FSDP that keeps the gathered weights from forward to backward (ZeRO-2) is nearest")
            }
            if nearest.options.precision == .fp8 && nearest.options.fp8Recipe == .blockwise {
                nearest.options.fp8Recipe = .rowwise
                changes.append("torchtitan's float8 linear layers scale per tensor or per row, not per block; per row is nearest")
            }
            if !configuration.options.overlapGradientReduction && configuration.dataParallel ?? 1 > 1 {
                nearest.options.overlapGradientReduction = true
                changes.append("torchtitan's data parallelism (DDP or FSDP) always reduces gradients during the backward pass")
            }
            // torchao keeps weights in FP8 only as FSDP2's float8 all-gather, with tensorwise scales.
            if nearest.options.fp8Parameters && nearest.options.precision == .fp8
                && (nearest.options.fp8Recipe == .rowwise || nearest.options.zeroStage < 2 || configuration.dataParallel ?? 1 <= 1) {
                nearest.options.fp8Parameters = false
                changes.append(nearest.options.fp8Recipe == .rowwise
                    ? "torchtitan gathers weights in FP8 (enable_fsdp_float8_all_gather) only with tensorwise scaling; with rowwise scales its weights stay fp32, cast per use"
                    : "torchtitan keeps weights in FP8 only as FSDP's float8 all-gather (enable_fsdp_float8_all_gather); without sharded weights they stay fp32, cast per use")
            }
        }
        // FSDP2 (torchtitan's fully_shard) copies each gathered layer out of the flat buffer it lands in;
        // Megatron-Core's own FSDP computes on the buffers it gathers into. Said where weights are gathered at all:
        // under ZeRO-3, and under torchtitan's ZeRO-2 too (FSDP over fp32 weights, gathered once and kept).
        let gathersWeights = reducesGradients && nearest.options.zeroStage >= (self == .torchtitan ? 2 : 3)
        if runsMegatronCore && nearest.options.copiesOutGatheredParameters {
            nearest.options.copiesOutGatheredParameters = false
            if gathersWeights {
                changes.append("\(displayName)'s FSDP computes on the buffers it gathers weights into; the plan's FSDP2 copy of each gathered layer into its parameters is not run")
            }
        } else if self == .torchtitan && gathersWeights && !nearest.options.copiesOutGatheredParameters {
            nearest.options.copiesOutGatheredParameters = true
            changes.append("torchtitan shards with FSDP2 (fully_shard), which copies each gathered layer into its parameters' storage on the compute stream; the plan's FSDP computing on its gathered buffer becomes that")
        }
        return (nearest, changes)
    }

    /// Why this framework cannot run `layout` as the settings give it, each a sentence: a split of the repeated
    /// layers it refuses (`unexpressedSplit`), attention heads that the tensor-parallel degree does not divide
    /// (`MegatronConfiguration.unrunnableHeadSplit`), for Megatron-Core a context-parallel exchange it refuses (the ring
    /// beside sliding windows, `contextWindowProblem`; the all-to-all where `tp x cp` does not divide the heads,
    /// `contextHeadProblem`; any but the all-to-all beside attention sinks, `contextSinkProblem`), and an interleaved schedule of a microbatch count it refuses (`unrunnableInterleaving`).
    /// Empty where it runs them.
    public func unrunnable(_ layout: ParallelLayout) -> [String] {
        [unexpressedSplit(layout),
         MegatronConfiguration.headSplitProblem(tensorParallel: layout.tensorParallel, heads: layout.attentionHeads),
         runsMegatronCore ? MegatronConfiguration.contextWindowProblem(contextParallel: layout.contextParallel,
                                                                       windowed: layout.hasWindowedAttention,
                                                                       communication: layout.configuration.options.contextParallelCommunication) : nil,
         runsMegatronCore ? MegatronConfiguration.contextHeadProblem(tensorParallel: layout.tensorParallel, contextParallel: layout.contextParallel,
                                                                     contextAllToAll: layout.configuration.contextAllToAll, heads: layout.attentionHeads,
                                                                     communication: layout.configuration.options.contextParallelCommunication) : nil,
         runsMegatronCore ? MegatronConfiguration.contextSinkProblem(contextParallel: layout.contextParallel, sinks: layout.hasAttentionSinks,
                                                                     communication: layout.configuration.options.contextParallelCommunication) : nil,
         unrunnableInterleaving(layout.configuration, microbatches: layout.microbatches)].compactMap { $0 }
    }

    /// `unrunnable` for `configuration` laid out on `graph` with `microbatches` microbatches, as `score` prices it:
    /// the split of the repeated layers as the configuration gives it (`MegatronConfiguration.unrunnableLayerSplit`;
    /// torchtitan takes any), the heads and the interleaving.
    public func unrunnable(_ configuration: MegatronConfiguration, graph: Graph, microbatches: Int) -> [String] {
        [runsMegatronCore ? configuration.unrunnableLayerSplit(of: graph) : nil,
         configuration.unrunnableHeadSplit(of: graph),
         runsMegatronCore ? configuration.unrunnableContextWindow(of: graph) : nil,
         runsMegatronCore ? configuration.unrunnableContextHeads(of: graph) : nil,
         runsMegatronCore ? configuration.unrunnableContextSinks(of: graph) : nil,
         unrunnableInterleaving(configuration, microbatches: microbatches)].compactMap { $0 }
    }

    /// "1 microbatch", "6 microbatches".
    private func microbatch(_ count: Int) -> String { "\(count) microbatch\(count == 1 ? "" : "es")" }

    /// Why this framework's interleaved schedule refuses `microbatches` microbatches over `configuration`'s pipeline,
    /// which `PipelineSchedule` prices with any count; nil without interleaving or where it runs them. Megatron-Core
    /// runs them in whole rounds of the pipeline ranks (`forward_backward_pipelining_with_interleaving` refuses a count
    /// that is not a multiple of `pipeline_model_parallel_size`; NeMo runs Megatron-Core's schedule); PyTorch's
    /// `ScheduleInterleaved1F1B`, torchtitan's, runs `max(1, m / pp)` rounds and refuses a count that does not divide
    /// into them.
    public func unrunnableInterleaving(_ configuration: MegatronConfiguration, microbatches: Int) -> String? {
        let ranks = configuration.pipelineParallel
        guard configuration.virtualStages > 1, ranks > 1 else { return nil }
        switch self {
        case .megatron, .nemo, .megatronBridge:
            guard microbatches % ranks != 0 else { return nil }
            return "Megatron-Core's interleaved schedule runs microbatches in whole rounds of the \(ranks) pipeline ranks "
                + "(its default --microbatch-group-size-per-virtual-pipeline-stage), and \(microbatch(microbatches)) "
                + "\(microbatches == 1 ? "is" : "are") not a multiple of \(ranks); the prediction is of a schedule it refuses "
                + "(use a multiple of \(ranks) microbatches, or --virtual-stages 1)"
        case .torchtitan:
            let rounds = max(1, microbatches / ranks)
            guard microbatches % rounds != 0 else { return nil }
            return "PyTorch's interleaved 1F1B schedule (torchtitan's) runs \(microbatch(microbatches)) over \(ranks) pipeline ranks "
                + "in \(rounds) rounds and refuses a count that is not a multiple of them; the prediction is of a schedule it refuses"
        }
    }

    /// Why this framework cannot split the layout's repeated layers over its pipeline chunks as priced, if
    /// it cannot: Megatron-LM, NeMo and Megatron-Bridge split them evenly, evenly but for the first and last rank (each rank's
    /// chunks equal), or evenly with the embedding or the loss counted as a layer (`ParallelLayout.layerSplit`).
    public func unexpressedSplit(_ layout: ParallelLayout) -> String? {
        guard runsMegatronCore, layout.layerSplit == nil else { return nil }
        return "\(displayName) cannot split the repeated layers as \(layout.chunkLayers.map(String.init).joined(separator: "/")) per chunk: it splits them evenly, evenly but for the first and last rank with each rank's chunks equal, or evenly counting the embedding or the loss as a layer; the settings below need another pipeline depth to run"
    }

    /// The launch settings that run `layout`, after `header` (comment lines, without their comment marker; any
    /// text, escaped as `CommentText`).
    public func render(_ layout: ParallelLayout, header: [String]) -> String {
        switch self {
        case .megatron: MegatronArguments(layout).text(header: header)
        case .nemo: NeMoRecipeOverrides(layout).text(header: header)
        case .megatronBridge: MegatronBridgeConfig(layout).text(header: header)
        case .torchtitan: TorchTitanJobConfig(layout).text(header: header)
        }
    }
}
