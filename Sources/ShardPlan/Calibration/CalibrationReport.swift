import Foundation

/// Every published run that ShardPlan's features cover, replayed and compared with its measurement, with
/// the median and worst absolute error: the table of Docs/calibration.md.
public struct CalibrationReport: Sendable {
    public var runs: [CalibrationRun]
    public var skipped: [(id: String, reason: String)]
    /// The runs file replayed, as `shardplan calibrate` was given it. The repository's table
    /// (`repositoryRuns`) is Docs/calibration.md, generated and carrying how its errors moved; any other file is
    /// someone's own measurements (or the repository's diagnostic sweeps), headed by the command that replays it.
    public var source: String

    /// The repository's calibration rows, from the repository root.
    public static let repositoryRuns = "Docs/calibration/published-runs.json"

    /// Replays every row of a published-runs document read from `source`, the rows on all cores; the first row
    /// in the file that cannot be replayed is the error, and so is a file with no row to replay.
    public init(document: JSONValue, source: String = CalibrationReport.repositoryRuns) throws(InputError) {
        let (rows, skipped) = try PublishedRun.replayableRows(in: document)
        let replayed = SharedTable<Int, Result<CalibrationRun, InputError>>()
        DispatchQueue.concurrentPerform(iterations: rows.count) { index in
            replayed[index] = Result { () throws(InputError) in try CalibrationRun(rows[index]) }
        }
        self.runs = try rows.indices.map { index throws(InputError) in try replayed[index]!.get() }
        self.skipped = skipped
        self.source = source
    }

    public var absoluteErrors: [Double] { runs.map { abs($0.relativeError) }.sorted() }

    public var medianAbsoluteError: Double { Self.median(absoluteErrors) }

    /// The median of `values` (the mean of the middle two for an even count); 0 for none.
    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return 0 }
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    public var worstAbsoluteError: Double { absoluteErrors.last ?? 0 }

    /// How the errors moved with each change to the cost model, for the reader of the regenerated table.
    static let history = """
        Before issue 8 (the cost model of issue 3): median 7.3%, worst 22.6% over the first 28 rows (Megatron-LM and \
        Megatron-Core), nearly every row predicted fast. Issue 8 priced what Megatron's kernels move (the \
        scale-mask-softmax kernel, the unfused cross-entropy, the optimizer step kernel by kernel, every microbatch's \
        fp32 gradient accumulation), split the distributed optimizer's overlapped synchronisation into its \
        reduce-scatter and all-gather halves, and charges 10 us per kernel (median 4.4%, worst 14.0% over those 28). \
        Issue 14 added the FSDP, long-sequence and small-model rows below (torchtitan, llm-foundry, llm.c, LLaMA) and \
        priced collectives as NCCL chooses them, ZeRO-3 layer by layer beside the compute, attention by kernel, eager, \
        fused and compiled kernels, and op-level selective recomputation (Docs/cost-model.md, "Changes for issue 14"). \
        The first replay of the 35 new rows, with every fused attention at FlashAttention-2's rate and every stack's \
        kernels fused as Megatron's, was off by a median 21.9% (worst 47%, nearly all fast): llm-foundry's runs use an \
        older Triton attention kernel, torchtitan's run eager PyTorch, llm.c a compiled step. \
        Issue 13 added the FP8, context-parallel and expert-parallel rows (NeMo 24.07 on DGX H100, NeMo Automodel's \
        Qwen3-30B-A3B) and priced FP8 linear layers, the ring's K/V exchange, the experts' all-to-alls and the rotary \
        embedding's 2 x 2 rotation as memory-bound kernels (before, a depth-2 tensor-core GEMM, which had priced \
        torchtitan's eager rotation by accident: its rows moved 2-8% faster). \
        Issue 14's fifth pass added four llm.c rows (GPT-2 350M and 774M on A100s, 1.6B and 124M on H100s) and replayed \
        them with no constant changed: within 1.7% on A100, 9-10% fast on H100. Llama 3 405B's runs on 8,192 and \
        16,384 H100s are replayed apart (Docs/calibration/llama3-405b.md), since their gradient reduction can be read \
        two ways. Issue 14's seventh pass added seven single-GPU rows (gollem's GPT-2 124M on one H100 with \
        torch.compile, 1 to 64 sequences a step) and priced products whose columns or depth are not whole 16-byte \
        vectors (GPT-2's unpadded vocabulary of 50257) at half speed: they are 15-43% fast, most at the smallest \
        batches, whose steps the training loop's host work dominates (Docs/cost-model.md, "Issue 14, seventh pass"). \
        NeMo's long-sequence tables (Llama 2 7B on H100s, NeMo 24.03; Llama 3 8B on B200s, NeMo 25.04; 4K to 1M \
        tokens with context parallelism) are replayed apart (Docs/calibration/nemo-long-sequence.md): from 8K up they \
        are 10-37% fast, by more the longer the sequence, because those containers' attention kernels were slower \
        than today's cuDNN, whose rates the model prices (Docs/cost-model.md, "Issue 14, eighth pass"). \
        Issue 14's ninth pass compared gollem's printed `max_memory_allocated` with the model, found it 7-24% low, and \
        priced what PyTorch's mixed precision keeps: fp32 weights that are the master copy (16 bytes a parameter with \
        Adam, not Megatron's 18; llm-foundry, torchtitan and gollem), their 16-bit copies cast each forward pass, the \
        fp32 residual stream of autocast over fp32 weights, and the 16-bit gradient of the logits a compiled loss \
        writes beside them: gollem's peaks within 1-9%, its times from 15-43% fast to 5-37% fast \
        (Docs/cost-model.md, "Issue 14, ninth pass"). Issue 14's eleventh pass reruns only the transformer blocks under \
        full recomputation, as the stacks checkpoint them (before, the embedding, the output layer and the loss reran \
        too): the full-recomputation rows 0.1-1.9 points faster, NeMo AutoModel's Qwen3-30B-A3B from +11.0% to +7.6%; \
        and prices eager RMSNorm's backward as a trace of its ATen ops found it (16 kernels and 92 bytes an element, \
        not 12 and 72): torchtitan's rows 0.6-1.2 points closer (Docs/cost-model.md, "Issue 14, eleventh pass"). \
        Issue 14's twelfth pass prices the eager kernels the same trace found unpriced: attention's backward side \
        kernels by kernel family (FlashAttention-2's preprocess and dq conversion, Triton's three), torchtitan's \
        `repeat_kv` copies of grouped k and v, and autograd's accumulation adds of tensors several ops read: \
        torchtitan's rows 0.2-0.9 points closer, gollem's compiled rows 1.1-1.6 points slower (Docs/cost-model.md, \
        "Issue 14, twelfth pass: eager side kernels"). Issue 14's thirteenth pass charges the compute beside an \
        overlapped FSDP collective 0.61 s a second of it at NVLink's rate (0.19 before), in proportion to the rate \
        the collective reaches, as Lee et al.'s two averages give it: the FSDP rows with small microbatches, whose \
        collectives take the largest share of the compute, move most (MPT-13B on 64 H100s from -20.3% to -8.0%, \
        torchtitan's rows from a mean -10.8% to -6.6%), LLaMA-65B, whose ZeRO-3 gathers cross 256 nodes at a tenth \
        of that rate, from +1.5% to -8.3% (Docs/cost-model.md, "Issue 14, thirteenth pass"). Issue 14's fourteenth \
        pass measured FlashAttention-2 and cuDNN attention on an H200 and replaced their assumed Hopper rates by the \
        measured ones (faster backward passes, a causal mask saving more; 56 kernel rows within 8.7%, and \
        TransformerEngine's H100 notebook case within 3%), and, from the same GPU's training steps of 125M-2.7B GPT \
        models, launches the optimizer step as multi-tensor kernels (not one a tensor) and prices an eager loss \
        in a compiled step: those steps' GPU work within 5.5%, median 2.4%. Every Hopper row with fused attention \
        moves 0.2-7 points faster and most rows 0.1-0.5 points more; as they were already predicted fast, the \
        median goes from 5.3% to 5.8% and the worst to 42.5% (gollem at one sequence, whose step the host sets): \
        the earlier rates and launches had stood in for time the model does not price, such as the host time those \
        steps showed (Docs/cost-model.md, "Issue 14, fourteenth pass"). Issue 14's fifteenth pass lets a row name \
        the cluster it ran on (`replay_cluster`), adds cloud presets (AWS p4d, p4de and p5 with EFA, GCP A3 High and \
        A3 Mega with GPUDirect-TCPX and TCPXO), pads each attention kernel's head dimension to the widths it is built \
        for, prices sliding-window attention and MaxText's recomputation of only the elementwise ops (`elementwise`); \
        it adds the first JAX row, MaxText's Llama 2 7B in shard groups of 8 on 256 H100s of GCP A3 Mega: -14.6%, predicted fast as the \
        issue says such runs are (Docs/cost-model.md, "Issue 14, fifteenth pass"). Issue 14's sixteenth pass adds \
        NVIDIA's DGX Cloud benchmark tables, MaxText's Llama 2 70B under ZeRO-3 on 64 to 2,048 DGX H100s (3.8-6.1% \
        slow, replayed with its `save_qkv_proj` policy, now `all-but-qkv`) and NeMo 24.09's Llama 3.1 8B with context \
        parallelism on 8 to 128 H100s in BF16 and in FP8 with FP8 weights (within 4.4%), torchtitan's FP8 Llama 3.1 8B \
        under FSDP2 on 32 and 64 H200s, whose op-level checkpointing reruns every FP8 product (its save list holds \
        `aten.mm`, not `_scaled_mm`: peaks within 2%, times 7-9% fast), and MaxText's Llama 3.1 70B on 256 H200s of \
        GCP A3 Ultra (-10.8%); it prices FP8 weights (`fp8_params`) and MaxText's `mlp` and `all-but-qkv` \
        recomputation (Docs/cost-model.md, "Issue 14, sixteenth pass"). Issue 14's seventeenth pass prices full \
        recomputation of some blocks of each stage (torchtitan's every second block on 64 A100s: -6.1% and -4.5%) and \
        the embedding and the loss counted as pipeline layers, and adds Megatron-Bridge's FP8 Llama 3 8B, 70B and \
        405B on 8 to 1,024 H100s (0.3% fast to 6.6% slow, every one within memory; Docs/cost-model.md, "Issue 14, \
        seventeenth pass"). Issue 14's nineteenth pass adds NeMo's FP8 GPT-3 175B on 512 H100s (24.07 and 25.02), kept \
        apart before for a peak of 93 GB: NeMo's FP8 performance script keeps the gradient buffer in bf16, and with it \
        the rows fit in 76.6 GiB at -2.9% and +7.6%; an audit of the rows against their sources gives llm-foundry's \
        MPT the biases its table's parameter counts include (added in the GEMM's epilogue, as eager PyTorch's `addmm` \
        does: those rows 0.1-1.6 points slower), Narayanan et al.'s runs the fp16 gradients of their `--fp16` scripts \
        and, where they ran PyTorch's DDP, its overlapped all-reduce (0.6-4.1 points faster), and llm.c its bf16 \
        gradients (0.1-0.6 points faster; Docs/cost-model.md, "Issue 14, nineteenth pass"). Issue 14's twentieth \
        pass audits the other rows against their sources: Korthikanti et al.'s full-recomputation baselines ran \
        without sequence parallelism (their section 6.3: from 0.6-5.4% fast to 0.6-3.9% slow), Megatron-Core's \
        weak-scaling models have untied embeddings (the parameter counts their names give: 0.3-0.7 points slower), \
        NeMo 24.09's Llama 3.1 8B fuses its cross-entropy (its launcher yaml: 0.27 s a step faster) and torchtitan's \
        H200 rows still copied k and v for grouped-query attention (0.3-0.4 points slower; Docs/cost-model.md, \
        "Issue 14, twentieth pass"). Issue 14's twenty-second pass replays two more published tables apart, their \
        configurations partly from repositories: IBM's and Meta's FSDP1 runs of Llama 2 7B-70B on 128 A100s and 96 \
        H100s, 3.5-20.5% fast with a shortfall of nearly the same seconds on both GPUs, host time the model does not \
        price (Docs/calibration/fms-fsdp-blog.md), and FlashAttention-2's GPT-3 1.3B and 2.7B training at 2K and 8K \
        tokens on 8 A100s, within 5.7%, its 8K rows above the memory they ran in, an open question \
        (Docs/calibration/flash-attention2-gpt3.md; Docs/cost-model.md, "Issue 14, twenty-second pass"). Issue 14's \
        twenty-third pass replays the rest of llm-foundry's A100 tables apart, 55 rows at 8K-64K tokens on one node \
        and on 64 and 128 A100 40GB: median 5.6%, with MPT-30B at 8K tokens and MPT-70B at 2 sequences a GPU on 64 GPUs \
        25.7% and 28.9% fast; the latter's measured step lies between the predictions with eight network rails a node \
        and with one (Docs/calibration/llm-foundry-a100-sweep.md). It also prices ZeRO-3 gradients accumulated unsharded \
        and reduce-scattered once an iteration (FSDP's `no_sync`, `--fsdp-no-sync`) and replays KempnerForge's H200 runs \
        apart, tensor parallelism 4 inside nodes of 4 GPUs and FSDP2 across 16 to 90 of them: 13B 6-8% and 70B 29-30% \
        fast, 175B 6.5% slow, the accumulating 70B's printed peaks within 3% with its unsharded fp32 gradients \
        (Docs/calibration/kempnerforge-h200.md; Docs/cost-model.md, "Issue 14, twenty-third pass"). Issue 14's \
        twenty-fourth pass read KempnerForge's code: bf16 weights and Adam moments, the embedding and the loss whole on \
        every tensor-parallel rank (`--no-vocab-parallel-embedding`, `--no-loss-parallel`), the loss on the bf16 logits \
        (`--no-loss-upcast`), and printed peaks of live tensors; with them, and a layer's reduce-scatter input no longer \
        counted beside the loss's buffers (it comes after them), every KempnerForge peak is within 1.2-8.0% and its 13B \
        2-4% fast; every time here is unchanged and 39 ZeRO-3 rows' peaks 0.1-4.2 GB lower, torchtitan's FP8 rows 4.1% \
        and 6.0% under their printed reserved peaks; FlashAttention-2's GPT configs write the loss's gradient in place \
        (`--loss-in-place`), so its 1.3B at 8K tokens fits, while its 2.7B at 8K does not at the configs' micro-batch, \
        as the repository's own code counts (Docs/cost-model.md, "Issue 14, twenty-fourth pass"). Issue 14's \
        twenty-sixth pass lays out expert parallelism folded over the tensor-parallel ranks and replays Megatron-Bridge's \
        Qwen3-235B-A22B on 256 H100s apart (Docs/calibration/megatron-bridge-apart.md); its twenty-eighth prices NCCL's \
        all-to-all across nodes with its share for the node's own peers over NVLink (those rows from 15-17% slow to \
        2-3% fast) and DeepEP's and HybridEP's deduplicated dispatch, and replays NVIDIA's Megatron-MoE-ModelZoo steps of \
        the same model apart, 3-14% fast where the experts cross nodes or sit beside FSDP \
        (Docs/calibration/megatron-moe-model-zoo.md; Docs/cost-model.md, "Issue 14, twenty-eighth pass").
        """

    /// An iteration time in seconds: two decimals, or three significant digits under a tenth of a second (a
    /// single GPU's step of a small model).
    static func seconds(_ value: Double) -> String {
        value < 0.1 ? String(format: "%.3g", value) : String(format: "%.2f", value)
    }

    /// Median, worst and mean signed relative error of `runs`.
    static func summary(_ runs: [CalibrationRun]) -> (median: Double, worst: Double, mean: Double) {
        summary(errors: runs.map(\.relativeError))
    }

    /// Median and worst absolute value, and mean, of signed relative errors.
    static func summary(errors signed: [Double]) -> (median: Double, worst: Double, mean: Double) {
        let errors = signed.map(abs)
        guard !errors.isEmpty else { return (0, 0, 0) }
        return (median(errors), errors.max()!, signed.reduce(0, +) / Double(signed.count))
    }

    /// A table of the error of the rows falling in each of `buckets` (a label and a test on a row).
    static func bucketTable(_ runs: [CalibrationRun], heading: String,
                            buckets: [(label: String, contains: (PublishedRun) -> Bool)]) -> [String] {
        errorTable(heading: heading, groups: buckets.map { bucket in
            (bucket.label, runs.filter { bucket.contains($0.run) }.map(\.relativeError))
        })
    }

    /// A table of the median, worst and mean signed error of each labelled group of signed relative errors;
    /// empty groups are left out.
    static func errorTable(heading: String, groups: [(label: String, errors: [Double])]) -> [String] {
        var lines = ["| \(heading) | rows | median error | worst error | mean signed error |", "| --- | ---: | ---: | ---: | ---: |"]
        for group in groups where !group.errors.isEmpty {
            let (median, worst, mean) = summary(errors: group.errors)
            lines.append("| \(VisibleText.tableCell(group.label)) | \(group.errors.count) | \(String(format: "%.1f%%", median * 100)) | "
                         + "\(String(format: "%.1f%%", worst * 100)) | \(String(format: "%+.1f%%", mean * 100)) |")
        }
        return lines
    }

    /// The per-source table's label for the rows without a `group`.
    static let ungrouped = "(rows without a group)"

    /// The bins of the per-sequence-length table, which together hold every length: up to 2K tokens, each doubling
    /// to 8K, 8K to 32K, and beyond.
    static let sequenceLengthBins: [ClosedRange<Int>] = [1 ... 2048, 2049 ... 4096, 4097 ... 8192, 8193 ... 32768, 32769 ... Int.max]

    /// A sequence-length bin's label, from the `lengths` of its rows: `up to 2048` for the first bin, `N and more`
    /// for the last (N its rows' shortest), and for the others the one length its rows have (`4096`) or the range
    /// they span (`16384-32768`).
    static func label(of bin: ClosedRange<Int>, lengths: [Int]) -> String {
        guard let shortest = lengths.min(), let longest = lengths.max() else { return "" }
        if bin == sequenceLengthBins.first { return "up to \(bin.upperBound)" }
        if bin == sequenceLengthBins.last { return "\(shortest) and more" }
        return shortest == longest ? "\(shortest)" : "\(shortest)-\(longest)"
    }

    /// The report as Markdown.
    public var markdown: String {
        var lines = [
            "# Calibration: predicted vs measured iteration time",
            "",
        ]
        let isRepositoryTable = source == Self.repositoryRuns
        lines += isRepositoryTable ? [
            "Generated by `swift run -c release shardplan calibrate Docs/calibration/published-runs.json -o Docs/calibration.md`;",
            "do not edit by hand. Each row of shared/data/published-runs.json (copied to Docs/calibration/) is replayed:",
        ] : [
            "Generated by `shardplan calibrate \(source)`. Each row of \(source) is replayed:",
        ]
        lines += [
            "a graph of the row's family (GPT, Llama, MPT; a mixture of experts where the row says so) and dimensions from `TransformerBuilder`, the row's cluster",
            "(its GPU's DGX preset, or the cluster its `replay_cluster` names), and its parallel configuration and training stack (ZeRO stage, recomputation, attention kernel, kernel",
            "fusion) through `TrainingPlan.megatron` and `PlanEvaluator`, with one set of constants for every row",
            "(Docs/cost-model.md). Megatron-LM 2021-2022 rows use explicit attention (no fused kernel then); Megatron-Core",
            "rows use cuDNN fused attention, and their stated overlap flags imply the distributed optimizer and sequence",
            "parallelism. Unpublished microbatch sizes are taken as 1 and unpublished recomputation as none: guesses, since",
            "NVIDIA did not publish them for the Megatron-Core rows. Each row's source and confidence are in the JSON.",
            "",
            "| row | config | predicted s | measured s | error | peak memory GB |",
            "| --- | --- | ---: | ---: | ---: | ---: |",
        ]
        for entry in runs {
            let run = entry.run
            var config = "tp=\(run.tensorParallel) pp=\(run.pipelineParallel) dp=\(run.dataParallel)"
            if let mbs = run.microBatchSize { config += " mbs=\(mbs)" }
            if run.virtualStages > 1 { config += " vp=\(run.virtualStages)" }
            if let first = run.firstStageLayers { config += " first=\(first)" }
            if let last = run.lastStageLayers { config += " last=\(last)" }
            let split = MegatronLayerSplit(embeddingInPipelineSplit: run.embeddingInPipelineSplit, lossInPipelineSplit: run.lossInPipelineSplit)
            if let counted = split.countedLayersText { config += " \(counted)" }
            if run.contextParallel > 1 { config += " cp=\(run.contextParallel)" }
            if run.expertParallel > 1 { config += " ep=\(run.expertParallel)" }
            if run.expertTensorParallel == 1 && run.tensorParallel > 1 { config += " etp=1" }
            if run.overlapsExpertCommunication { config += " ep-overlap" }
            if run.expertParallel > 1 && run.expertDispatcher != .allToAll { config += " \(run.expertDispatcher.rawValue)" }
            if run.precision.hasPrefix("fp8") { config += " fp8" }
            if run.sequenceParallel { config += " sp" }
            if !run.vocabularyParallelEmbedding { config += " whole-embedding" }
            if !run.vocabularyParallelLoss { config += " whole-loss" }
            if run.zeroStage > 0 { config += " zero=\(run.zeroStage)" }
            if let group = run.zeroShardGroup { config += " shard=\(group)" }
            if run.accumulatesUnshardedGradients { config += " no-sync" }
            if !run.recompute.isEmpty && run.recompute != "not stated" {
                config += " \(run.recomputeMode.name(recomputedBlocks: run.recomputedBlocks))"
            }
            if let attention = run.attention { config += " \(attention)" }
            if let fusion = run.fusion, fusion != "fused" { config += " \(fusion)" }
            if run.eagerLoss { config += " eager-loss" }
            if run.writesLossGradientInPlace { config += " in-place-loss" }
            if !run.upcastsLoss { config += " 16-bit-loss" }
            if run.fp8Parameters { config += " fp8-params" }
            if let cluster = run.replayCluster { config += " on \(cluster.name)" }
            let measured = Self.seconds(run.iterationSeconds!) + (entry.run.isMeasuredTime ? "" : "*")
            lines.append("| \(VisibleText.tableCell(run.id)) | \(VisibleText.tableCell(config)) | \(Self.seconds(entry.predictedSeconds)) | \(measured) | "
                         + "\(String(format: "%+.1f%%", entry.relativeError * 100)) | \(String(format: "%.1f", entry.peakMemoryBytes / 1e9))\(entry.fitsInMemory ? "" : " (does not fit)") |")
        }
        lines.append("")
        lines.append("Median absolute error \(String(format: "%.1f%%", medianAbsoluteError * 100)), worst \(String(format: "%.1f%%", worstAbsoluteError * 100)) over \(CalibrationRows.count(runs.count)). `*`: derived from the published throughput.")
        let modern = runs.filter { $0.run.exercisesIssue13Features }
        let earlier = runs.filter { !$0.run.exercisesIssue13Features }
        if !modern.isEmpty && !earlier.isEmpty {
            let (newer, older) = (Self.summary(modern), Self.summary(earlier))
            lines.append("")
            lines.append("The rows of issue 13 (FP8, context and expert parallelism, mixtures of experts): median "
                         + String(format: "%.1f%%, worst %.1f%% over ", newer.median * 100, newer.worst * 100) + CalibrationRows.count(modern.count)
                         + String(format: "; the earlier rows: median %.1f%%, worst %.1f%% over ", older.median * 100, older.worst * 100)
                         + CalibrationRows.count(earlier.count) + ".")
        }
        lines.append("")
        lines.append("## Error against GPU count and sequence length")
        lines.append("")
        lines.append("Relative error `predicted / measured - 1`; the mean signed error shows a bias (negative: predicted fast).")
        lines.append("")
        lines += Self.bucketTable(runs, heading: "GPUs", buckets: [
            ("1-8", { $0.gpuCount <= 8 }), ("9-64", { (9 ... 64).contains($0.gpuCount) }),
            ("65-512", { (65 ... 512).contains($0.gpuCount) }), ("513-2048", { (513 ... 2048).contains($0.gpuCount) }),
            ("more than 2048", { $0.gpuCount > 2048 }),
        ])
        lines.append("")
        lines += Self.errorTable(heading: "tokens per sequence", groups: Self.sequenceLengthBins.map { bin in
            let members = runs.filter { bin.contains($0.run.sequenceLength) }
            return (Self.label(of: bin, lengths: members.map(\.run.sequenceLength)), members.map(\.relativeError))
        })
        lines.append("")
        let groups = runs.map { $0.run.group }.reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
        lines += Self.bucketTable(runs, heading: "source", buckets: groups.map { group in
            (group.isEmpty ? Self.ungrouped : group, { $0.group == group })
        })
        let gib = { (bytes: Double) in String(format: "%.1f", bytes / 1_073_741_824) }
        let measuredRows = runs.filter { $0.run.measuredPeakMemoryBytes != nil }
        if !measuredRows.isEmpty {
            lines.append("")
            lines.append("Memory: \(measuredRows.count) rows print the peak their run reached; predicted against measured "
                         + measuredRows.map { entry in
                             let measured = entry.run.measuredPeakMemoryBytes!
                             return "\(VisibleText.escape(entry.run.id)) \(gib(entry.peakMemoryBytes)) against \(gib(measured)) GiB "
                                 + "(\(String(format: "%+.1f%%", (entry.peakMemoryBytes / measured - 1) * 100)))"
                         }.joined(separator: ", ") + ".")
        }
        let allocatedRows = runs.filter { $0.run.measuredAllocatedPeakBytes != nil }
        if !allocatedRows.isEmpty {
            lines.append("")
            lines.append("Memory: \(allocatedRows.count) rows print PyTorch's `max_memory_allocated`, the peak of live tensors; "
                         + "the model's peak without its \(String(format: "%.0f", TrainingOptions.frameworkOverheadBytes / 1e9)) GB "
                         + "for the CUDA context, workspaces and fragmentation against it: "
                         + allocatedRows.map { entry in
                             let measured = entry.run.measuredAllocatedPeakBytes!
                             return "\(VisibleText.escape(entry.run.id)) \(gib(entry.peakTensorBytes)) against \(gib(measured)) GiB "
                                 + "(\(String(format: "%+.1f%%", (entry.peakTensorBytes / measured - 1) * 100)))"
                         }.joined(separator: ", ") + ".")
        }
        let busyRows = runs.compactMap { entry in entry.run.measuredDeviceBusySeconds.map { (entry: entry, busy: $0) } }
        if !busyRows.isEmpty {
            let errors = busyRows.map { $0.entry.predictedSeconds / $0.busy - 1 }
            let (median, worst, _) = Self.summary(errors: errors)
            lines.append("")
            lines.append("GPU busy: \(busyRows.count) \(busyRows.count == 1 ? "row gives" : "rows give") the time the GPU's own work took a step (`gpu_busy_s`: its kernels "
                         + "and copies in a profile, without the time it waited for the host), which is what the model prices; "
                         + "predicted against it: "
                         + zip(busyRows, errors).map { row, error in
                             "\(VisibleText.escape(row.entry.run.id)) \(String(format: "%.2f", row.entry.predictedSeconds * 1e3)) against "
                                 + "\(String(format: "%.2f", row.busy * 1e3)) ms (\(String(format: "%+.1f%%", error * 100)))"
                         }.joined(separator: ", ")
                         + String(format: "; median absolute error %.1f%%, worst %.1f%%.", median * 100, worst * 100))
        }
        let fitRows = runs.filter { $0.run.measuredPeakMemoryBytes == nil && $0.run.knownFitBytes != nil }
        if !fitRows.isEmpty {
            lines.append("")
            lines.append("Memory: \(fitRows.count) rows give the memory their run fitted in; predicted peaks "
                         + fitRows.map { entry in
                             "\(VisibleText.escape(entry.run.id)) \(gib(entry.peakMemoryBytes)) GiB (ran in \(String(format: "%.0f", entry.run.knownFitBytes! / 1_073_741_824)) GiB)"
                         }.joined(separator: ", ") + ".")
        }
        if isRepositoryTable {
            lines.append("")
            lines.append(Self.history)
        }
        if !skipped.isEmpty {
            lines.append("")
            lines.append("Rows not replayed: " + skipped.map { "\(VisibleText.escape($0.id)) (\($0.reason))" }.joined(separator: "; ") + ".")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
