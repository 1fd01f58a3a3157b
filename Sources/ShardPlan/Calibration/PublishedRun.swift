import Foundation

/// One measured training run from shared/data/published-runs.json: the model, the cluster, the parallel
/// configuration its authors chose, and the measured (or, where the source printed throughput, derived)
/// iteration time.
public struct PublishedRun: Sendable {
    public var id: String
    /// The publication or project the row comes from (`group`), for per-source error tables.
    public var group: String
    public var source: String
    public var layers: Int
    public var hidden: Int
    public var heads: Int
    public var feedForwardHidden: Int
    public var vocabulary: Int
    public var sequenceLength: Int
    public var globalBatch: Int
    public var microBatchSize: Int?
    public var gpu: String
    public var gpuCount: Int
    public var gpusPerNode: Int
    public var tensorParallel: Int
    public var pipelineParallel: Int
    public var dataParallel: Int
    public var virtualStages: Int
    public var sequenceParallel: Bool
    public var zeroStage: Int
    /// The row's `recompute` text, as written.
    public var recompute: String
    public var schedule: String
    public var notes: String
    /// The model family: `gpt` (GPT-2/3, Megatron-LM), `llama` (RMSNorm, SwiGLU, rotary positions, untied
    /// output) or `mpt` (MosaicML's MPT as llm-foundry benchmarks it: GPT without dropout).
    public var architecture: String
    /// Key/value heads (grouped-query attention) where fewer than `heads`.
    public var keyValueHeads: Int?
    /// How attention ran: `explicit` (score matrices as tensors, Megatron-LM before fused kernels) or the fused
    /// kernel (`AttentionKernel`: flash2, flash3, cudnn, triton); nil for the GPU's usual kernel.
    public var attention: String?
    /// Peak memory per device the source printed, bytes (from `measured.memory_gib`).
    public var measuredPeakMemoryBytes: Double?
    /// Memory per device the run is known to have fitted in without a printed peak, bytes
    /// (`measured.ran_within_memory_gib`).
    public var knownFitBytes: Double?
    /// The most bytes of live tensors the run held on a device, as PyTorch's `torch.cuda.max_memory_allocated`
    /// reports it (`measured.max_allocated_mib`): no CUDA context, no workspace outside the caching allocator, no
    /// cached free blocks.
    public var measuredAllocatedPeakBytes: Double? = nil
    /// Seconds a step kept the GPU itself busy (`measured.gpu_busy_s`: the union of its kernels' and copies' spans
    /// in a profile, without the time the GPU waited for the host), where the measurement gives it. The model
    /// prices the device's work, so where the host is slower than the GPU this is what to compare with.
    public var measuredDeviceBusySeconds: Double? = nil
    /// Dropout rate where the stack differs from its family's (llm.c trains GPT-2 without dropout).
    public var dropout: Double?
    /// How the stack fused its kernels (`fusion`: eager, fused, compiled; fused when absent).
    public var fusion: String?
    /// Whether the loss ran as a fused kernel (`loss`: "fused", or "fused-in-place" for one that writes the logits'
    /// gradient over them: `writesLossGradientInPlace`).
    public var fusedCrossEntropy: Bool
    public var writesLossGradientInPlace = false
    /// Whether a compiled step ran its loss eagerly, outside its compiled graph (`loss`: "eager").
    public var eagerLoss = false
    /// Whether the stack reduced data-parallel gradients in fp32 (`grad_reduce`: "fp32").
    public var reducesGradientsInFP32: Bool
    /// Whether the stack all-reduced gradients during the last microbatch's backward pass without the distributed
    /// optimizer (`overlap_grad_reduce`: PyTorch's DDP, Megatron-LM's `--DDP-impl torch`); Megatron-Core rows say
    /// so through `--overlap-param-gather` in their `schedule`, which implies the distributed optimizer.
    public var overlapsGradientReduction = false
    /// Whether the run overlapped the experts' all-to-alls with another microbatch's compute (`overlap_moe_comm`:
    /// Megatron-Core's `--overlap-moe-expert-parallel-comm`, Megatron-Bridge's `moe_a2a_overlap`).
    public var overlapsExpertCommunication = false
    /// The kernels that carried the experts' tokens (`moe_dispatcher`: alltoall, deepep, hybridep; Megatron-Core's
    /// `moe_token_dispatcher_type` and `moe_flex_dispatcher_backend`); NCCL's all-to-all when absent.
    public var expertDispatcher = ExpertDispatcher.allToAll
    /// Head dimension where it is not `hidden / heads` (Qwen3-MoE: 128 with hidden 2048 and 32 heads).
    public var headDimension: Int?
    /// `fp8` where the run trained its linear layers in FP8 (`fp8Recipe`: tensorwise, rowwise, blockwise).
    public var precision: String
    public var fp8Recipe: FP8Recipe?
    /// Whether the stack kept its FP8 linear layers' weights in FP8 (`fp8_params`: NeMo's `fp8_params`, Megatron-Core's
    /// `--fp8-param-gather`, torchtitan's `enable_fsdp_float8_all_gather`); false when absent.
    public var fp8Parameters = false
    /// The gradient buffer's type where the stack's recipe sets it (`grad_sync_dtype`: NeMo's
    /// `optim.grad_sync_dtype`, llm.c's bf16 gradients, Megatron-LM's fp16 `main_grad` under `--fp16`); fp32 when
    /// absent.
    public var gradientPrecision: String?
    /// What Adam kept between steps where the stack's recipe says (`optimizer_state`: bf16 for a model trained in
    /// bf16 without master weights); fp32 when absent.
    public var optimizerState: OptimizerStatePrecision
    public var contextParallel: Int
    public var expertParallel: Int
    /// The experts' tensor-parallel size where the run gave one (`etp`: 1 for whole experts, expert parallelism
    /// folded over the tensor-parallel ranks); nil for Megatron-Core's default, the tensor-parallel size.
    public var expertTensorParallel: Int?
    /// Repeated layers on the first and the last pipeline rank where the run gave those ranks fewer than the
    /// others (`first_stage_layers`, `last_stage_layers`: Llama 3 405B's first and last stages hold one layer
    /// fewer); nil for an even split.
    public var firstStageLayers: Int?
    public var lastStageLayers: Int?
    /// Whether the run counted the embedding as a layer when splitting the layers over the pipeline chunks
    /// (`account_for_embedding_in_pipeline_split`, Megatron-Core's name): the first chunk holds one layer fewer.
    public var embeddingInPipelineSplit: Bool
    /// Whether the run counted the loss as a layer (`account_for_loss_in_pipeline_split`): the last chunk holds
    /// one layer fewer.
    public var lossInPipelineSplit: Bool
    /// Mixture-of-experts shape, for MoE rows: routed experts, experts per token, an expert's width, shared
    /// experts.
    public var moe: (experts: Int, topK: Int, feedForwardHidden: Int, shared: Int)?
    /// Seconds per iteration: measured where the source printed it, else derived from its throughput.
    public var iterationSeconds: Double?
    /// Whether `iterationSeconds` was printed by the source (else derived).
    public var isMeasuredTime: Bool
    /// ZeRO-3 shard groups (`zero_shard_group`: FSDP's HYBRID_SHARD), nil for sharding over every data-parallel
    /// rank.
    public var zeroShardGroup: Int? = nil
    /// Under full recomputation, the transformer blocks of each stage that reran (`recompute_blocks`:
    /// `TrainingOptions.recomputedBlocks`); nil for every block.
    public var recomputedBlocks: Int? = nil
    /// Whether the stack copied grouped k and v to every query head before the attention kernel (`repeat_kv`:
    /// mid-2024 torchtitan's `repeat_kv` before SDPA).
    public var repeatsKeyValueHeads: Bool = false
    /// Whether ZeRO-3 accumulated its gradients unsharded and reduce-scattered them once an iteration
    /// (`fsdp_no_sync`: `TrainingOptions.accumulatesUnshardedGradients`).
    public var accumulatesUnshardedGradients: Bool = false
    /// Whether an eager loss upcast the logits to fp32 (`loss_upcast`: `TrainingOptions.upcastsLoss`); true when absent.
    public var upcastsLoss: Bool = true
    /// Whether the embedding and the loss split the vocabulary over the tensor-parallel ranks
    /// (`vocab_parallel_embedding`, `loss_parallel`: `MegatronLayout`); true when absent.
    public var vocabularyParallelEmbedding: Bool = true
    public var vocabularyParallelLoss: Bool = true
    /// Whether the output layer shares the embedding table (`tied_embeddings`); nil for the architecture's own
    /// (`gpt` and `mpt` tied, `llama` untied).
    public var tiedEmbeddings: Bool? = nil
    /// Sliding-window attention (`sliding_window`): a window of `size` keys in every layer, or in all but every
    /// `globalEvery`-th (the last of each group, which keeps full causal attention); nil for full attention.
    public var slidingWindow: (size: Int, globalEvery: Int?)? = nil
    /// The cluster the row ran on where its GPU's DGX preset is not it (`replay_cluster`): a preset's name, sized
    /// to the row's nodes (`a3-megagpu-8g` for GCP's TCPXO network), or a `shardplan.cluster/1` object of exactly
    /// the row's GPUs; nil to replay on the DGX preset of the row's GPU.
    public var replayCluster: (name: String, cluster: Cluster)? = nil
    /// Where the row sits in its document (`rows[3]`), which errors met replaying it name.
    public var path: JSONPath = .root

    /// Whether the row exercises what issue 13 added: FP8, context or expert parallelism, or a mixture of
    /// experts (Docs/calibration.md reports these rows apart from the earlier ones).
    public var exercisesIssue13Features: Bool {
        precision.hasPrefix("fp8") || contextParallel > 1 || expertParallel > 1 || moe != nil
    }

    /// The recomputation `recompute` names by its first words (`recomputeMode(of:)`). `rows(in:)` refuses a row whose
    /// text names none; a run whose text is edited in code to such a text recomputes nothing.
    public var recomputeMode: RecomputeMode { Self.recomputeMode(of: recompute) ?? .none }

    /// The first words of a row's `recompute` and the recomputation each names, longest first where one begins
    /// another (`selective op` before `selective`); the command line's names (`selective-op`, `norm-act`) read too.
    static let recomputeNames: [(words: String, mode: RecomputeMode)] = [
        ("none", .none), ("not stated", .none), ("full", .full), ("selective op", .selectiveOperators),
        ("selective", .selective), ("elementwise", .elementwise), ("mlp", .mlp), ("all but qkv", .allButQKV),
        ("norm act", .normAct),
    ]

    /// The recomputation a row's `recompute` text names by its first words (`recomputeNames`, Docs/calibration-rows.md),
    /// letter case aside and with hyphens or spaces between them, followed by nothing or by anything but a letter or
    /// digit (`full (every block)`, `selective + SP`); none for an empty text; nil for any other (`selectiv`, `partial`).
    static func recomputeMode(of recompute: String) -> RecomputeMode? {
        let text = recompute.lowercased().replacingOccurrences(of: "-", with: " ")
        guard !text.isEmpty else { return RecomputeMode.none }
        return recomputeNames.first { name in
            text.hasPrefix(name.words)
                && !(text.dropFirst(name.words.count).first.map { $0.isLetter || $0.isNumber } ?? false)
        }?.mode
    }

    /// Why a row without a time is skipped: a throughput alone is not converted to a step time.
    static let noTimeReason = "no measured.iteration_time_s or derived.iteration_time_s to compare with; a throughput alone "
        + "(tokens_per_s_per_gpu) is not converted: give the step time it implies as derived.iteration_time_s"

    /// Reads every row of a published-runs document; rows missing a field this model needs are skipped
    /// and named in `skipped` with the reason.
    public static func rows(in document: JSONValue) throws(InputError) -> (runs: [PublishedRun], skipped: [(id: String, reason: String)]) {
        let top = try JSONReader(document, at: .root)
        var runs: [PublishedRun] = []
        var skipped: [(String, String)] = []
        var seen: Set<String> = []
        for (index, element) in try top.array("rows").enumerated() {
            let row = try JSONReader(element, at: .root.appending("rows").appending(index: index))
            let id = try row.calibrationRowID(seen: &seen, why: "the table and --rows name each row by it")
            guard row.contains("layers"), row.contains("vocab"), row.contains("ffn_hidden") else {
                skipped.append((id, "a single layer or a model without published dimensions")); continue
            }
            // A row may give its time only as derived from a throughput (`derived.iteration_time_s`).
            let measured = try JSONReader(row.contains("measured") ? row.object["measured"]! : .object(JSONObject()),
                                          at: row.path.appending("measured"))
            let derived = row.contains("derived") ? try row.reader("derived") : nil
            var time = try measured.optionalNumber("iteration_time_s")
            if time == nil, let derived { time = try derived.optionalNumber("iteration_time_s") }
            guard time != nil else { skipped.append((id, Self.noTimeReason)); continue }
            if time! <= 0 || !MeasuredCollective.plausibleSeconds.contains(time!) {
                let holder = try measured.optionalNumber("iteration_time_s") != nil ? measured : derived!
                throw holder.invalid("iteration_time_s", time! <= 0
                    ? "row \(id): expected a positive number of seconds, found \(JSONWriter.formatNumber(time!))"
                    : "row \(id): a step of \(JSONWriter.formatNumber(time!)) s is not a measurement (1 ns to 1 hour)")
            }
            for (key, unit) in [("memory_gib", 1_073_741_824.0), ("ran_within_memory_gib", 1_073_741_824.0), ("max_allocated_mib", 1_048_576.0)] {
                guard let amount = try measured.optionalNumber(key) else { continue }
                if amount <= 0 {
                    throw measured.invalid(key, "row \(id): expected a positive amount of memory, found \(JSONWriter.formatNumber(amount))")
                }
                guard Self.plausibleMemoryBytes.contains(amount * unit) else {
                    throw measured.invalid(key, "row \(id): \(JSONWriter.formatNumber(amount)) is not a GPU's memory (1 MiB to 4 TiB)")
                }
            }
            if let busy = try measured.optionalNumber("gpu_busy_s") {
                guard MeasuredCollective.plausibleSeconds.contains(busy) else {
                    throw measured.invalid("gpu_busy_s", "row \(id): a busy time of \(JSONWriter.formatNumber(busy)) s is not a measurement (1 ns to 1 hour)")
                }
                // Busy time and step time come from different samples of the same step, so the busy time can exceed
                // the step's by a little, not by a tenth.
                guard busy <= 1.1 * time! else {
                    throw measured.invalid("gpu_busy_s", "row \(id): the GPU cannot be busy for \(JSONWriter.formatNumber(busy)) s of a \(JSONWriter.formatNumber(time!)) s step")
                }
            }
            for key in positiveCounts {
                if let count = try row.optionalInt(key), count < 1 {
                    throw InputError(.invalidValue, at: row.path.appending(key), "row \(id): expected a positive integer, found \(count)")
                }
            }
            if try row.int("layers") > maximumLayers {
                throw row.invalid("layers", "row \(id): at most \(maximumLayers) layers are replayed (the largest published model has a few hundred)")
            }
            for (key, most) in largestCounts {
                if let count = try row.optionalInt(key), count > most.count {
                    throw row.invalid(key, "row \(id): at most \(most.count) \(most.what) are replayed, far beyond any published run; found \(count)")
                }
            }
            let recomputeText = try row.optionalString("recompute") ?? ""
            guard let recompute = Self.recomputeMode(of: recomputeText) else {
                throw row.invalid("recompute", "row \(id): unknown recomputation \"\(recomputeText)\"; a row's recompute begins with "
                                  + Self.recomputeNames.map(\.words).joined(separator: ", ")
                                  + " (hyphens or spaces between the words, letter case aside; what follows them is not read)")
            }
            let loss = try loss(row)
            let (gpu, gpus, perNode) = (try row.string("gpu"), try row.int("n_gpus"), try row.int("gpus_per_node"))
            guard gpus == 1 || gpus % perNode == 0 else {
                throw InputError(.invalidValue, at: row.path.appending("n_gpus"), "row \(id): \(gpus) GPUs are not whole nodes of \(perNode)")
            }
            // Every GPU of the run is in its grid: fewer would replay on fewer GPUs than the row is reported under
            // (Docs/calibration.md's table by GPU count). More is refused at `dp` by the replay.
            var grid = 1.0
            for degree in ["tp", "pp", "dp"] { grid *= Double(try row.int(degree)) }
            grid *= Double(try row.optionalInt("cp") ?? 1)
            guard grid >= Double(gpus) else {
                throw row.invalid("n_gpus", "row \(id): tp x pp x dp x cp is \(JSONWriter.formatNumber(grid)) GPUs, fewer than the \(gpus) of n_gpus")
            }
            runs.append(PublishedRun(
                id: id, group: try row.optionalString("group") ?? "", source: try row.string("source"), layers: try row.int("layers"), hidden: try row.int("hidden"),
                heads: try row.int("heads"), feedForwardHidden: try row.int("ffn_hidden"), vocabulary: try row.int("vocab"),
                sequenceLength: try row.int("seq_len"), globalBatch: try row.int("global_batch"),
                microBatchSize: try row.optionalInt("micro_batch"), gpu: gpu, gpuCount: gpus,
                gpusPerNode: perNode, tensorParallel: try row.int("tp"), pipelineParallel: try row.int("pp"),
                dataParallel: try row.int("dp"), virtualStages: try row.optionalInt("virtual_stages") ?? 1,
                sequenceParallel: try row.optionalBool("sequence_parallel") ?? false,
                zeroStage: try zeroStage(row, id: id), recompute: recomputeText,
                schedule: try row.optionalString("schedule") ?? "", notes: try row.optionalString("notes") ?? "",
                architecture: try row.optionalString("architecture") ?? "gpt", keyValueHeads: try row.optionalInt("kv_heads"),
                attention: try row.optionalString("attention"),
                measuredPeakMemoryBytes: try measured.optionalNumber("memory_gib").map { $0 * 1_073_741_824 },
                knownFitBytes: try measured.optionalNumber("ran_within_memory_gib").map { $0 * 1_073_741_824 },
                measuredAllocatedPeakBytes: try measured.optionalNumber("max_allocated_mib").map { $0 * 1_048_576 },
                measuredDeviceBusySeconds: try measured.optionalNumber("gpu_busy_s"),
                dropout: try row.optionalNumber("dropout"), fusion: try row.optionalString("fusion"),
                fusedCrossEntropy: loss == "fused" || loss == "fused-in-place", writesLossGradientInPlace: loss == "fused-in-place",
                eagerLoss: loss == "eager",
                reducesGradientsInFP32: try gradientReduction(row) == "fp32",
                overlapsGradientReduction: try row.optionalBool("overlap_grad_reduce") ?? false,
                overlapsExpertCommunication: try row.optionalBool("overlap_moe_comm") ?? false,
                expertDispatcher: try row.optionalCase("moe_dispatcher", "expert dispatcher") ?? .allToAll,
                headDimension: try row.optionalInt("head_dim"),
                precision: try row.optionalString("precision") ?? "", fp8Recipe: try row.optionalCase("fp8_recipe", "FP8 recipe"),
                fp8Parameters: try row.optionalBool("fp8_params") ?? false,
                gradientPrecision: try row.optionalString("grad_sync_dtype"),
                optimizerState: try row.optionalCase("optimizer_state", "optimizer state") ?? .fp32,
                contextParallel: try row.optionalInt("cp") ?? 1, expertParallel: try row.optionalInt("ep") ?? 1,
                expertTensorParallel: try row.optionalInt("etp"),
                firstStageLayers: try row.optionalInt("first_stage_layers"),
                lastStageLayers: try row.optionalInt("last_stage_layers"),
                embeddingInPipelineSplit: try row.optionalBool("account_for_embedding_in_pipeline_split") ?? false,
                lossInPipelineSplit: try row.optionalBool("account_for_loss_in_pipeline_split") ?? false,
                moe: try moeShape(row),
                iterationSeconds: time, isMeasuredTime: try measured.optionalNumber("iteration_time_s") != nil,
                zeroShardGroup: try row.optionalInt("zero_shard_group"), recomputedBlocks: try recomputedBlocks(row, id: id, recompute: recompute),
                repeatsKeyValueHeads: try row.optionalBool("repeat_kv") ?? false,
                accumulatesUnshardedGradients: try row.optionalBool("fsdp_no_sync") ?? false,
                upcastsLoss: try row.optionalBool("loss_upcast") ?? true,
                vocabularyParallelEmbedding: try row.optionalBool("vocab_parallel_embedding") ?? true,
                vocabularyParallelLoss: try row.optionalBool("loss_parallel") ?? true,
                tiedEmbeddings: try row.optionalBool("tied_embeddings"),
                slidingWindow: try slidingWindow(row, id: id),
                replayCluster: try replayCluster(row, gpu: gpu, gpus: gpus, perNode: perNode), path: row.path))
        }
        return (runs, skipped)
    }

    /// `rows(in:)`, refusing a document in which no row can be replayed.
    public static func replayableRows(in document: JSONValue) throws(InputError)
        -> (runs: [PublishedRun], skipped: [(id: String, reason: String)]) {
        let (runs, skipped) = try rows(in: document)
        guard !runs.isEmpty else {
            let reasons = skipped.prefix(3).map { "\($0.id): \($0.reason)" }.joined(separator: "; ")
            throw InputError(.invalidValue, at: JSONPath([.key("rows")]), "no row can be replayed" + (reasons.isEmpty ? "" : " (\(reasons))"))
        }
        return (runs, skipped)
    }

    /// The memory a measured peak may name: a GPU's, from 1 MiB to 4 TiB (the largest GPU of 2026 holds 288 GB).
    static let plausibleMemoryBytes = 1_048_576.0 ... 4_398_046_511_104.0

    /// The row's `zero_stage` (0 without one), refused unless it is a ZeRO stage.
    private static func zeroStage(_ row: JSONReader, id: String) throws(InputError) -> Int {
        let stage = try row.optionalInt("zero_stage") ?? 0
        guard (0 ... 3).contains(stage) else { throw row.invalid("zero_stage", "row \(id): expected a ZeRO stage 0, 1, 2 or 3, found \(stage)") }
        return stage
    }

    /// The most layers a row's model may have: replaying builds every layer's ops, so a typing error such as
    /// `1e9` would run for hours.
    static let maximumLayers = 4096

    /// The most a row's sizes may count, with what they count, where a typing error (`2^50`) would otherwise build
    /// tensors of more than 2^53 elements and be refused inside the graph rather than at the member: far above any
    /// published run (Llama 3's 128K vocabulary, 1M-token sequences, 16K-sequence batches, 53K-wide layers). Sizes
    /// each within these may still together build such a tensor, which the graph refuses at the row, naming it.
    static let largestCounts: [(key: String, (count: Int, what: String))] = [
        ("global_batch", (1 << 24, "sequences a step")), ("micro_batch", (1 << 24, "sequences a microbatch")),
        ("seq_len", (1 << 24, "tokens a sequence")), ("vocab", (1 << 24, "tokens in a vocabulary")),
        ("hidden", (1 << 20, "hidden units")), ("ffn_hidden", (1 << 20, "feed-forward units")),
        ("heads", (1 << 16, "heads")), ("kv_heads", (1 << 16, "key and value heads")), ("head_dim", (1 << 16, "units a head")),
        ("n_gpus", (Cluster.maximumDeviceCount, "GPUs")), ("gpus_per_node", (Cluster.maximumDeviceCount, "GPUs a node")),
    ]

    /// The members of a row that count something, each at least 1 where given.
    static let positiveCounts = ["layers", "hidden", "heads", "kv_heads", "head_dim", "ffn_hidden", "vocab", "seq_len",
                                 "global_batch", "micro_batch", "n_gpus", "gpus_per_node", "tp", "pp", "dp", "cp", "ep", "etp",
                                 "virtual_stages", "first_stage_layers", "last_stage_layers", "zero_shard_group", "recompute_blocks"]

    /// The row's members that say what the library paths of a Megatron layout's errors say (the properties of
    /// `MegatronConfiguration`, its `options` as a plan document names them, the `microbatches` of a search).
    static let membersOfOptions = ["tensorParallel": "tp", "pipelineParallel": "pp", "dataParallel": "dp", "contextParallel": "cp",
                                   "expertParallel": "ep", "expertTensorParallel": "etp",
                                   "microBatchSize": "micro_batch", "microbatches": "micro_batch",
                                   "virtualStages": "virtual_stages", "sequenceParallel": "sequence_parallel",
                                   "schedule": "schedule", "options.zero_stage": "zero_stage", "options.zero_shard_group": "zero_shard_group",
                                   "firstStageLayers": "first_stage_layers", "lastStageLayers": "last_stage_layers",
                                   "embeddingInPipelineSplit": "account_for_embedding_in_pipeline_split",
                                   "lossInPipelineSplit": "account_for_loss_in_pipeline_split",
                                   "vocabularyParallelEmbedding": "vocab_parallel_embedding", "vocabularyParallelLoss": "loss_parallel",
                                   "--precision": "precision"]

    /// The row's members that say what a transformer configuration's properties say, where the names differ: the
    /// paths of `TransformerConfiguration.validate`'s errors (`headDimension` is `head_dim` where the row gives it,
    /// else `hidden`, which sets it).
    static let membersOfConfiguration = ["keyValueHeads": "kv_heads", "feedForwardHidden": "ffn_hidden", "vocabulary": "vocab",
                                         "sequenceLength": "seq_len", "globalBatch": "global_batch", "dropoutRate": "dropout",
                                         "slidingWindow": "sliding_window", "globalAttentionInterval": "sliding_window",
                                         "mixtureOfExperts": "moe", "topK": "top_k", "expertFeedForwardHidden": "ffn_hidden",
                                         "sharedExperts": "shared"]

    /// `error`, met replaying this row, placed in the row's document: an error at one member (`gpu`), at the option
    /// that member stands for (`tensorParallel`, `options.zero_stage`) or at the configuration property it sets (`keyValueHeads`, and within the
    /// mixture of experts `mixtureOfExperts.topK`) at that member of the row (`rows[3].tp`, `rows[3].moe.top_k`);
    /// any other at the row, its own path kept in the message.
    func attributed(_ error: InputError) -> InputError {
        var placed = error
        placed.path = path
        let keys = error.path.components.compactMap { component -> String? in
            if case .key(let key) = component { key } else { nil }
        }
        if let member = Self.membersOfOptions[error.path.description] {
            placed.path = path.appending(member)
        } else if !keys.isEmpty, keys.count == error.path.components.count, keys.count == 1 || keys[0] == "mixtureOfExperts" {
            placed.path = keys.reduce(path) { path, key in
                path.appending(Self.membersOfConfiguration[key]
                               ?? (key == "headDimension" ? (headDimension == nil ? "hidden" : "head_dim") : key))
            }
        } else if !error.path.components.isEmpty {
            placed.message = "\(error.path): \(error.message)"
        }
        return placed
    }

    /// A row's `recompute_blocks`, which counts blocks only full recomputation (`recompute`, the row's) reruns.
    private static func recomputedBlocks(_ row: JSONReader, id: String, recompute: RecomputeMode) throws(InputError) -> Int? {
        guard let blocks = try row.optionalInt("recompute_blocks") else { return nil }
        if let problem = TrainingOptions.recomputedBlocksProblem(blocks, recompute: recompute) {
            throw row.invalid("recompute_blocks", "row \(id): \(problem)")
        }
        return blocks
    }

    /// A row's `grad_reduce`: the type its stack reduced data-parallel gradients in, "fp32" or a 16-bit one.
    private static func gradientReduction(_ row: JSONReader) throws(InputError) -> String? {
        guard let type = try row.optionalString("grad_reduce") else { return nil }
        guard ["fp32", "bf16", "fp16"].contains(type) else {
            throw row.invalid("grad_reduce", "unknown gradient reduction type \"\(type)\"; known: fp32, bf16, fp16")
        }
        return type
    }

    /// A row's `loss`: "fused" (one fused kernel a pass), "fused-in-place" (one that writes the logits' gradient over
    /// them) or "eager" (a compiled step's loss left out of its graph,
    /// so only with `"fusion": "compiled"`), or nil where the stack's fusion level decides.
    private static func loss(_ row: JSONReader) throws(InputError) -> String? {
        guard let loss = try row.optionalString("loss") else { return nil }
        guard ["fused", "fused-in-place", "eager"].contains(loss) else {
            throw row.invalid("loss", "unknown loss \"\(loss)\"; known: fused (one fused kernel a pass), fused-in-place (one that writes the logits' gradient over them), eager (a compiled step's loss run eagerly)")
        }
        // An unknown fusion is refused at `fusion` by the replay; only a known one other than compiled is the loss's fault.
        let fusion = try row.optionalString("fusion") ?? KernelFusionLevel.fused.rawValue
        if loss == "eager", let level = KernelFusionLevel(rawValue: fusion), level != .compiled {
            throw row.invalid("loss", "an eager loss is one left out of a compiled step; the row's fusion is not \"compiled\"")
        }
        return loss
    }

    /// A row's `replay_cluster`: a preset's name (the node count comes from `n_gpus`) or a cluster object, either
    /// of nodes of `gpus_per_node` of the row's GPU; a cluster object must hold exactly `n_gpus`.
    private static func replayCluster(_ row: JSONReader, gpu: String, gpus: Int, perNode: Int) throws(InputError)
        -> (name: String, cluster: Cluster)? {
        let key = "replay_cluster"
        guard row.contains(key) else { return nil }
        let path = row.path.appending(key)
        let named: (name: String, cluster: Cluster)
        switch try row.value(key) {
        case .string(let preset):
            guard !preset.contains(":") else {
                throw row.invalid(key, "give the preset's name without a node count; the row's \(gpus) GPUs in nodes of \(perNode) set it")
            }
            guard let found = ClusterPreset.named(preset) else {
                throw row.invalid(key, "unknown cluster preset \"\(preset)\"; the presets are \(ClusterPreset.nameList)")
            }
            let unit = found.node.deviceCount
            guard found.node.devicesPerNode == perNode, gpus % unit == 0 else {
                let shape = found.node.nodes > 1 ? "racks of \(unit) GPUs in trays of \(found.node.devicesPerNode)" : "nodes of \(unit) GPUs"
                throw row.invalid(key, "\(found.name) is \(shape); the row ran on \(gpus) in nodes of \(perNode)")
            }
            do {
                let cluster = try found.cluster(nodes: gpus / unit, name: gpus == unit ? found.name : nil)
                named = (cluster.name, cluster)
            } catch {
                throw InputError(error.kind, at: path, error.message)
            }
        case .object:
            let cluster = try Cluster(json: try row.value(key), at: path)
            guard cluster.devicesPerNode == perNode, cluster.deviceCount == gpus else {
                throw row.invalid(key, "the cluster has \(cluster.nodes) nodes of \(cluster.devicesPerNode) GPUs; the row ran on \(gpus) in nodes of \(perNode)")
            }
            named = (cluster.name, cluster)
        case let other:
            throw InputError(.wrongType, at: path, "expected a preset's name or a cluster object, found \(JSONReader.describe(other))")
        }
        // The row's GPU names the device (`H100-SXM5-80GB`); the cluster must hold that GPU, not another part or
        // memory size of its family (an A100-SXM4-40GB for an 80 GB run would not fit what ran).
        guard named.cluster.device.name.uppercased() == gpu.uppercased() else {
            throw row.invalid(key, "the cluster's GPU is \(named.cluster.device.name); the row ran on \(gpu) (a cluster object's device.name must be the row's gpu)")
        }
        return named
    }

    /// A row's `sliding_window`: `{"size": w, "global_every": n}`, `global_every` optional; both positive integers,
    /// `global_every` at least 2 (1 would leave no layer windowed). Every row is a causal language model, which a
    /// window needs.
    private static func slidingWindow(_ row: JSONReader, id: String) throws(InputError) -> (size: Int, globalEvery: Int?)? {
        let key = "sliding_window"
        guard row.contains(key) else { return nil }
        let window = try row.reader(key)
        let size = try window.int("size")
        guard size > 0 else {
            throw window.invalid("size", "row \(id): a sliding window is a positive number of keys, found \(size)")
        }
        let every = try window.optionalInt("global_every")
        if let every, every < 2 {
            throw window.invalid("global_every", "row \(id): every n-th layer keeps full attention with n at least 2 (1 would window no layer), found \(every)")
        }
        for member in window.object.keys where !["size", "global_every"].contains(member) {
            throw window.invalid(member, "row \(id): unknown member of sliding_window; known: size, global_every")
        }
        return (size, every)
    }

    /// The `moe` object of a row: `experts`, `top_k`, `ffn_hidden`, optional `shared`.
    private static func moeShape(_ row: JSONReader) throws(InputError) -> (experts: Int, topK: Int, feedForwardHidden: Int, shared: Int)? {
        guard row.contains("moe") else { return nil }
        let moe = try row.reader("moe")
        return (try moe.int("experts"), try moe.int("top_k"), try moe.int("ffn_hidden"), try moe.optionalInt("shared") ?? 0)
    }
}
