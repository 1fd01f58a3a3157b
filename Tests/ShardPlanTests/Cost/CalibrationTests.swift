import Foundation
import Testing
@testable import ShardPlan

/// Replays every published run (Docs/calibration/published-runs.json, a copy of
/// shared/data/published-runs.json) through `TrainingPlan.megatron` and `PlanEvaluator`.
@Suite("Calibration against published runs")
struct CalibrationTests {
    static let document = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Docs/calibration/published-runs.json")

    /// Every row replayed once for all the tests that read the table (a replay takes seconds in a debug build).
    static let replayed = Result { () throws -> CalibrationReport in
        try CalibrationReport(document: try JSONParser.parse(try String(contentsOf: document, encoding: .utf8)))
    }

    static func report() throws -> CalibrationReport { try replayed.get() }

    /// The replay of another runs file of Docs/calibration/, headed by its own path.
    static func report(of file: String) throws -> CalibrationReport {
        let url = document.deletingLastPathComponent().appendingPathComponent(file)
        return try CalibrationReport(document: try JSONParser.parse(try String(contentsOf: url, encoding: .utf8)),
                                     source: "Docs/calibration/\(file)")
    }

    /// The rest of llm-foundry's H100 sweep (Docs/calibration/llm-foundry-h100-sweep.json), kept apart from the
    /// calibration rows as a diagnostic (Docs/cost-model.md, "Issue 14, fourth pass"), replayed once.
    static let sweep = Result { try report(of: "llm-foundry-h100-sweep.json") }

    /// The rest of llm-foundry's A100 tables (Docs/calibration/llm-foundry-a100-sweep.json, "Issue 14, twenty-third
    /// pass"), replayed once.
    static let a100Sweep = Result { try report(of: "llm-foundry-a100-sweep.json") }

    /// Issue 8's target (issue 3 asked for 10% and 25%) on the Megatron-LM and Megatron-Core rows it was set for.
    /// Megatron-Core's 32B row (+9.0%) synchronises its gradients over one GPU per node at the NIC's rate
    /// (Docs/cost-model.md, "Changes for issue 13": 4.5% median and 11.2% worst); the worst is now its 7.1B (-12.1%). Issue 14's fourteenth pass
    /// replaced cuDNN's assumed Hopper rates by rates measured on an H200 (faster backward, slower forward): the
    /// Megatron-Core H100 rows moved 0.2-0.7 points faster and the median from 4.96% to 5.07%; its optimizer step as
    /// the multi-tensor kernels Apex and Megatron launch (a launch per 36 tensors a pass, not one a tensor), another
    /// 0.2-0.5 points: 5.34%. The nineteenth pass replays Narayanan et al.'s runs with the fp16 gradients their
    /// `--fp16` scripts keep (not an fp32 buffer) and, on the four that ran PyTorch's DDP, its all-reduce overlapped
    /// with the backward pass: those rows 0.6-4.1 points faster, the median about 5.5%.
    @Test("Megatron rows: predicted iteration times within 5.6% median and 15% worst")
    func megatronRowsStayWithinBounds() throws {
        let prefixes = ["narayanan21", "korthikanti22", "mcore"]
        let megatron = try Self.report().runs.filter { entry in prefixes.contains { entry.run.id.hasPrefix($0) } }
        #expect(megatron.count == 28)
        let (median, worst, _) = CalibrationReport.summary(megatron)
        #expect(median <= 0.056)
        #expect(worst <= 0.15)
    }

    /// Issue 14 asks for 5% median and 15% worst over every row; the model reaches 5.3% and 27.9% (Docs/cost-model.md,
    /// "Issue 14, third pass" and "fourth pass", say why each row beyond 15% is off). These bounds keep what it
    /// reaches from slipping. The 67 rows include the four llm.c rows of the fifth pass, replayed with no constant
    /// changed.
    /// The seventh pass's single-GPU rows (gollem) are held by their own test below. The eleventh pass reruns only the
    /// transformer blocks under full recomputation, as every stack of the rows does, and the median moved from 4.7%
    /// to 5.27%: the output layer's rerun the model charged before stood in for time it still misses. The fourteenth
    /// pass's measured attention rates and multi-tensor optimizer launches moved it to 5.50%; the fifteenth pass's
    /// first JAX row (MaxText's Llama 2 7B in shard groups of 8 on 256 H100s over GCP's TCPXO, -14.6%) to 5.61%. The
    /// sixteenth pass's MaxText rows (Llama 2 70B under ZeRO-3 on 64 to 2,048 DGX H100s, 3.8-6.1% slow; Llama 3.1 70B
    /// on 256 H200s of GCP A3 Ultra, -10.8%) moved it to 5.5%. The seventeenth pass's torchtitan rows with every second
    /// block rerun (-6.1%, -4.5%) leave it there. The nineteenth pass's audit of the rows' settings against their
    /// sources (MPT's biases; Narayanan et al.'s fp16 gradients and, on their PyTorch DDP rows, an all-reduce overlapped
    /// with the backward pass; llm.c's bf16 gradients) moved it to 5.72%.
    @Test("rows before issue 13 but the single-GPU ones: median within 5.8% and worst within 28%")
    func allRowsStayWithinReachedBounds() throws {
        let earlier = try Self.report().runs.filter { !$0.run.exercisesIssue13Features && $0.run.gpuCount > 1 }
        #expect(earlier.count == 77)
        let (median, worst, _) = CalibrationReport.summary(earlier)
        #expect(median <= 0.058)
        #expect(worst <= 0.28)
    }

    /// FSDP2's copy-out of every gathered layer brought torchtitan's rows from -12..-20% to -10.7..-17.0%. The two
    /// FP8 rows on H200s (the sixteenth pass) rerun every FP8 product under op-level checkpointing, as torchtitan's
    /// save list does (`aten.mm`, not `_scaled_mm`), where keeping them put the peaks 47-48% above and the times
    /// 15-17% fast. Their printed peaks are the caching allocator's reserved maximum, which the model's live tensors
    /// and its 3 GB stay 4-6% under (`TransientMemory`: the reduce-scatter's input comes after the loss's buffers).
    @Test("torchtitan's FSDP2 rows: every one within 17.5%, the FP8 ones' peaks 0-7% under the printed reserved ones")
    func torchtitanRows() throws {
        let rows = try Self.report().runs.filter { $0.run.id.hasPrefix("torchtitan") }
        #expect(rows.count == 10)
        for entry in rows { #expect(abs(entry.relativeError) <= 0.175, "\(entry.run.id)") }
        let fp8 = rows.filter { $0.run.id.contains("fp8") }
        #expect(fp8.count == 2)
        for entry in fp8 {
            let printed = try #require(entry.run.measuredPeakMemoryBytes)
            #expect(entry.peakMemoryBytes <= printed && entry.peakMemoryBytes / printed - 1 >= -0.07, "\(entry.run.id)")
        }
    }

    /// llm.c's runs of GPT-2 from 124M to 1.6B parameters on one node (A100 and H100, ZeRO-1, hand-fused kernels):
    /// the small-model class of issue 14. The four the fifth pass added were replayed with no constant changed
    /// (Docs/cost-model.md, "Issue 14, fifth pass"); the H100 rows are the worst, 10-11% fast since the fourteenth
    /// pass measured cuDNN's backward rate on Hopper (faster than the assumed one) and launches the optimizer step
    /// as multi-tensor kernels: 124M on H100s 11.7% fast.
    @Test("llm.c's small GPT-2 rows: every one within 12%")
    func llmcRows() throws {
        let rows = try Self.report().runs.filter { $0.run.id.hasPrefix("llmc") }
        #expect(rows.count == 5)
        for entry in rows { #expect(abs(entry.relativeError) <= 0.12, "\(entry.run.id)") }
    }

    /// GPT-2 124M trained on one H100 with torch.compile at 1 to 64 sequences a step (gollem's batch sweep, Docs/cost-model.md,
    /// "Issue 14, seventh pass" and "ninth pass"): predicted fast by 5-8% from 16 sequences up, and by more below, where
    /// a fixed 3-5 ms a step the loop spends on the host (a sync after every forward and every step, the optimizer's and
    /// clipping's Python) is unpriced. The bounds hold where the model stands; the error must shrink as the step grows.
    /// The twelfth pass priced the side kernels of SDPA's FlashAttention-2 backward, which a compiled step runs too:
    /// every row 1.1-1.6 points slower, the 64-sequence one from 5.2% to 3.6% fast, so the nearest bound is 3%. The
    /// fourteenth pass measured FlashAttention-2 on Hopper (its backward faster than assumed, and a causal mask
    /// saving more): every row 1-4 points faster, 7-10% fast from 16 sequences up. Its optimizer step as two
    /// multi-tensor passes (PyTorch frees the gradients rather than zeroing them, and launches a kernel per 36 tensors,
    /// not one a tensor) took 0.5 ms more off: 8-11% fast from 16 sequences, 43% at one, where the host sets the
    /// step (measured on an H200: the GPU's work priced within 6%, "Issue 14, fourteenth pass").
    @Test("gollem's GPT-2 124M on one H100: 3-43% fast, less as the batch grows")
    func singleGPURows() throws {
        let rows = try Self.report().runs.filter { $0.run.id.hasPrefix("gollem") }
        #expect(rows.count == 7)
        for entry in rows { #expect(entry.relativeError >= -0.43 && entry.relativeError <= -0.03, "\(entry.run.id)") }
        let byBatch = rows.sorted { $0.run.globalBatch < $1.run.globalBatch }
        let (smallest, largest) = (try #require(byBatch.first), try #require(byBatch.last))
        #expect(smallest.relativeError < largest.relativeError)
        for entry in byBatch where entry.run.globalBatch >= 16 { #expect(entry.relativeError >= -0.11, "\(entry.run.id)") }
    }

    /// gollem prints PyTorch's `max_memory_allocated` for each batch: 2,448 MiB at one sequence to 35,457 at 64. The
    /// model's peak without its fixed 3 GB for what the allocator does not hand out (the CUDA context, workspaces,
    /// fragmentation) is within 10% of every one (Docs/cost-model.md, "Issue 14, ninth pass": 16 bytes a parameter of
    /// fp32 weights, gradients and moments, the 16-bit copies of the weights, the fp32 residual stream, and the logits'
    /// 16-bit gradient beside them).
    @Test("gollem's printed peaks of live tensors: every one within 10%")
    func singleGPUAllocatedPeaks() throws {
        let rows = try Self.report().runs.filter { $0.run.measuredAllocatedPeakBytes != nil }
        #expect(rows.count == 7 && rows.allSatisfy { $0.run.id.hasPrefix("gollem") })
        for entry in rows {
            let measured = try #require(entry.run.measuredAllocatedPeakBytes)
            #expect(abs(entry.peakTensorBytes / measured - 1) <= 0.10, "\(entry.run.id)")
        }
        let smallest = try #require(rows.first { $0.run.globalBatch == 1 })
        #expect(try #require(smallest.run.measuredAllocatedPeakBytes) == Double(2448 * 1_048_576))
    }

    /// Llama 3 405B at 8K tokens on 8,192 and 16,384 H100s under the two readings of the paper's section 3.3.2
    /// (Docs/calibration/llama3-405b.json): accumulating micro-batch gradients in fp32 and reduce-scattering them
    /// once matches Meta's time within 5%, while a fp32 reduce-scatter of every micro-batch's gradients would be
    /// 15-30% slower than Meta measured. Either way the model's Megatron warm-up memory does not hold the 8,192-GPU
    /// run in 80 GB, which Meta ran by freeing pipeline buffers early (Docs/cost-model.md, "Issue 14, fifth pass").
    @Test("Llama 3 405B: accumulated fp32 gradients match Meta's time, a reduce-scatter per micro-batch does not")
    func llama3Readings() throws {
        let report = try Self.report(of: "llama3-405b.json")
        #expect(report.runs.count == 4)
        for entry in report.runs {
            if entry.run.id.hasSuffix("grads-accumulated") {
                #expect(abs(entry.relativeError) <= 0.05, "\(entry.run.id)")
            } else {
                #expect(entry.relativeError >= 0.15 && entry.relativeError <= 0.30, "\(entry.run.id)")
            }
        }
        let largest = try #require(report.runs.first { $0.run.id == "llama3-405b-s8192-8192xH100-grads-sharded" })
        #expect(!largest.fitsInMemory)
    }

    /// Issue 13's rows (FP8, context and expert parallelism, mixtures of experts) with the same constants; the
    /// issue asks for 8% median and 20% worst, and the model reaches 3.8% and 10.6% (Docs/calibration.md), with
    /// NeMo 24.09's Llama 3.1 8B with context parallelism on 8 to 128 H100s, in BF16 and in FP8 with FP8 weights, and
    /// torchtitan's FP8 Llama 3.1 8B under FSDP on 32 and 64 H200s (the sixteenth pass), Megatron-Bridge's FP8
    /// Llama 3 8B and 70B on 8 and 64 H100s (the seventeenth pass) and Llama 3.1 405B on 1,024 H100s, and NeMo's
    /// GPT-3 175B on 512 H100s (the nineteenth pass).
    @Test("issue 13's rows: median within 8% and worst within 20%")
    func issue13Rows() throws {
        let modern = try Self.report().runs.filter { $0.run.exercisesIssue13Features }
        #expect(modern.count == 31)
        let (median, worst, _) = CalibrationReport.summary(modern)
        #expect(median <= 0.08)
        #expect(worst <= 0.20)
    }

    /// Expects `entry` to fit, within `limit` where the run names the memory it trained in.
    static func expectFits(_ entry: CalibrationRun, within limit: Double? = nil) {
        let fits = entry.fitsInMemory && entry.peakMemoryBytes <= (limit ?? .infinity)
        #expect(fits, "\(entry.run.id): \(entry.peakMemoryBytes / 1e9) GB")
    }

    @Test("every published run known to have fitted in its GPUs' memory fits under the model")
    func publishedRunsFit() throws {
        let known = try Self.report().runs.filter { $0.run.knownFitBytes != nil }
        #expect(!known.isEmpty)
        for entry in known { Self.expectFits(entry, within: entry.run.knownFitBytes!) }
    }

    /// Every row is a run that trained, so none may need more memory than its GPUs have: the calibration rows and
    /// the rest of llm-foundry's H100 sweep (Docs/calibration/llm-foundry-h100-sweep.json, kept apart as a
    /// diagnostic: Docs/cost-model.md, "Issue 14, fourth pass"), whose 30B rows on 8 GPUs run within 5 GB of 80 GiB.
    @Test("every replayed run, the H100 sweep's included, fits in its GPUs' memory")
    func everyReplayedRunFits() throws {
        let sweep = try Self.sweep.get()
        #expect(sweep.runs.count == 14)
        for entry in try Self.report().runs + sweep.runs { Self.expectFits(entry) }
    }

    /// llm-foundry's benchmark table prints each run's NumParams; the replayed MPT graph has that many parameters
    /// (1b at 2,048 tokens: a tied 50,368 x 2,048 embedding, 2,048 learned positions, 24 blocks of 12 x 2,048^2
    /// weights, 9 x 2,048 linear biases and two LayerNorms' 4 x 2,048, and the final LayerNorm's 2 x 2,048:
    /// 1,315,950,592). The replay without the linear layers' biases had 442,368 fewer.
    @Test("the replayed MPT-1B has the 1,315,950,592 parameters llm-foundry's table prints, biases included")
    func mptParameterCount() throws {
        let (_, _, row) = try PublishedRowFixtures.row("llmfoundry-h100-mpt-1b-s2048-64gpu")
        let run = try #require(try PublishedRun.rows(in: .object(JSONObject([("rows", .array([.object(row)]))]))).runs.first)
        let graph = try CalibrationRun.replay(run).graph
        #expect(graph.parameters.reduce(0) { $0 + graph[$1].type.elementCount } == 1_315_950_592)
    }

    /// Megatron-Core's weak-scaling models are named by their parameter counts with an output layer of their own
    /// (`tied_embeddings: false`): "1.7B" is 12 L h^2 + 2 V h = 1.745 G for 24 layers of 2,048 and 131,072 tokens
    /// of vocabulary; the replay adds learned positions and biases (1.754 G). Tied, it would be 1.485 G.
    @Test("the replayed Megatron-Core 1.7B has its own output layer, as its name counts it")
    func untiedEmbeddings() throws {
        let (_, _, row) = try PublishedRowFixtures.row("mcore-h100-weak-1.7B")
        let run = try #require(try PublishedRun.rows(in: .object(JSONObject([("rows", .array([.object(row)]))]))).runs.first)
        #expect(run.tiedEmbeddings == false)
        let graph = try CalibrationRun.replay(run).graph
        let parameters = graph.parameters.reduce(0) { $0 + graph[$1].type.elementCount }
        #expect((1_700_000_000 ..< 1_800_000_000).contains(parameters), "\(parameters)")
    }

    /// A hand-edited row that gives a pipeline rank no layers is refused at its JSON path, before any replay.
    @Test("a row with first_stage_layers below 1 is refused naming rows[i].first_stage_layers")
    func stageLayersAreValidated() throws {
        let url = Self.document.deletingLastPathComponent().appendingPathComponent("llama3-405b.json")
        let text = try String(contentsOf: url, encoding: .utf8)
            .replacingOccurrences(of: "\"virtual_stages\": 4,", with: "\"virtual_stages\": 4, \"first_stage_layers\": 0,")
        let error = #expect(throws: InputError.self) { try PublishedRun.rows(in: try JSONParser.parse(text)) }
        #expect(error?.kind == .invalidValue && error?.path.description == "rows[0].first_stage_layers")
    }

    /// A user's own runs file, edited by hand: what cannot be replayed is refused at the row's member, not at a
    /// command-line option (`--tp`), at the top level or through a nonsense preset (`dgx-a100-80g:-1`), and a
    /// zero iteration time is not an infinite error. A second row with the first's id is refused at its `id`, a
    /// `replay_cluster` that is not the row's GPUs in the row's nodes at `replay_cluster`, a model shape the builder
    /// cannot make at the member that makes it (`kv_heads`, `hidden`, `moe.top_k`), an unknown FP8 recipe or
    /// reduction type at its member, and GPUs outside the row's grid at `n_gpus`.
    @Test("a hand-edited row is refused at rows[i].member", arguments: [
        (#"{"tp": 0}"#, "rows[1].tp"), (#"{"dp": 64}"#, "rows[1].dp"), (#"{"n_gpus": -8}"#, "rows[1].n_gpus"),
        (#"{"n_gpus": 12}"#, "rows[1].n_gpus"), (#"{"n_gpus": 64}"#, "rows[1].n_gpus"), (#"{"gpu": "Z100"}"#, "rows[1].gpu"), (#"{"fusion": "jit"}"#, "rows[1].fusion"),
        (#"{"derived": {"iteration_time_s": 0}}"#, "rows[1].derived.iteration_time_s"), (#"{"layers": 1e9}"#, "rows[1].layers"),
        (#"{"measured": {"iteration_time_s": 1, "max_allocated_mib": -2448}}"#, "rows[1].measured.max_allocated_mib"),
        (#"{"measured": {"iteration_time_s": 1, "memory_gib": 0}}"#, "rows[1].measured.memory_gib"),
        (#"{"measured": {"iteration_time_s": 1, "ran_within_memory_gib": 1e308}}"#, "rows[1].measured.ran_within_memory_gib"),
        (#"{"measured": {"iteration_time_s": 1, "max_allocated_mib": 1e-300}}"#, "rows[1].measured.max_allocated_mib"),
        (#"{"derived": {"iteration_time_s": 1e308}}"#, "rows[1].derived.iteration_time_s"),
        (#"{"zero_stage": 5, "fsdp_no_sync": true}"#, "rows[1].zero_stage"),
        (#"{"overlap_moe_comm": true}"#, "rows[1].overlap_moe_comm"), (#"{"etp": 2}"#, "rows[1].etp"),
        (#"{"kv_heads": 5}"#, "rows[1].kv_heads"), (#"{"fp8_recipe": "rowwise"}"#, "rows[1].fp8_recipe"),
        (#"{"measured": 3}"#, "rows[1].measured"),
        (#"{"measured": {"iteration_time_s": 1, "gpu_busy_s": 0}}"#, "rows[1].measured.gpu_busy_s"),
        (#"{"loss": "softmax"}"#, "rows[1].loss"), (#"{"loss": "eager"}"#, "rows[1].loss"),
        (#"{"fusion": "Compiled", "loss": "eager"}"#, "rows[1].fusion"),
        (#"{"measured": {"iteration_time_s": 1, "gpu_busy_s": 2}}"#, "rows[1].measured.gpu_busy_s"),
        (#"{"measured": {"iteration_time_s": 1, "gpu_busy_s": 1e308}}"#, "rows[1].measured.gpu_busy_s"),
        (#"{"id": "narayanan21-T1-1.7B"}"#, "rows[1].id"), (#"{"id": ""}"#, "rows[1].id"), (#"{"id": "edited "}"#, "rows[1].id"),
        (#"{"architecture": "llama", "kv_heads": 7}"#, "rows[1].kv_heads"), (#"{"hidden": 3}"#, "rows[1].hidden"),
        (#"{"architecture": "llama", "head_dim": 7}"#, "rows[1].head_dim"), (#"{"dropout": 1.5}"#, "rows[1].dropout"),
        (#"{"moe": {"experts": 8, "top_k": 9, "ffn_hidden": 96}}"#, "rows[1].moe.top_k"),
        (#"{"moe": {"experts": 0, "top_k": 1, "ffn_hidden": 96}}"#, "rows[1].moe.experts"),
        (#"{"fp8_recipe": "delayed"}"#, "rows[1].fp8_recipe"), (#"{"grad_reduce": "fp64"}"#, "rows[1].grad_reduce"),
        (#"{"replay_cluster": "p4d.24xlarge"}"#, "rows[1].replay_cluster"), (#"{"replay_cluster": "dgx-a100-80g:8"}"#, "rows[1].replay_cluster"), (#"{"replay_cluster": "dgx-z"}"#, "rows[1].replay_cluster"),
        (#"{"replay_cluster": "dgx-h100"}"#, "rows[1].replay_cluster"), (#"{"replay_cluster": "h100-nvl"}"#, "rows[1].replay_cluster"),
        (#"{"replay_cluster": "single-a100-80g"}"#, "rows[1].replay_cluster"), (#"{"replay_cluster": 8}"#, "rows[1].replay_cluster"),
        (#"{"replay_cluster": {"format": "shardplan.cluster/1", "nodes": 8, "devices_per_node": 8}}"#, "rows[1].replay_cluster"),
        (#"{"replay_cluster": {"format": "shardplan.cluster/1", "nodes": 8, "devices_per_node": 8, "device": {"name": "A100-SXM4-80GB", "memory_gib": -80, "peak_tflops": {"bf16": 312}, "memory_bandwidth_gb_per_s": 2039}}}"#,
         "rows[1].replay_cluster.device.memory_gib"),
    ])
    func editedRowsAreRefusedAtTheirMember(edit: String, path: String) throws {
        guard case .object(let top) = try JSONParser.parse(try String(contentsOf: Self.document, encoding: .utf8)),
              case .array(let rows)? = top["rows"], case .object(var row) = rows[0],
              case .object(let changes) = try JSONParser.parse(edit) else { Issue.record("unexpected document"); return }
        row["id"] = .string("edited")
        for (key, value) in changes.members { row[key] = value }
        let document = JSONValue.object(JSONObject([("rows", .array([rows[0], .object(row)]))]))
        let error = #expect(throws: InputError.self) { try CalibrationReport(document: document) }
        #expect(error?.path.description == path, "\(error?.description ?? "")")
    }

    /// A row may give its time only as derived from a throughput, without `measured`; and grouped-query attention
    /// (`kv_heads`) holds for a GPT row as for a Llama one.
    @Test("a row without measured replays its derived time; a GPT row's kv_heads is replayed")
    func derivedOnlyAndGroupedQueryGPT() throws {
        guard case .object(let top) = try JSONParser.parse(try String(contentsOf: Self.document, encoding: .utf8)),
              case .array(let rows)? = top["rows"], case .object(let row) = rows[0] else { Issue.record("unexpected document"); return }
        func replayed(_ edit: (inout JSONObject) -> Void) throws -> CalibrationReport {
            var edited = row
            edit(&edited)
            return try CalibrationReport(document: .object(JSONObject([("rows", .array([.object(edited)]))])))
        }
        let asPublished = try replayed { _ in }
        let derivedOnly = try replayed { $0["measured"] = nil }
        #expect(derivedOnly.runs.count == 1 && derivedOnly.runs[0].run.iterationSeconds == asPublished.runs[0].run.iterationSeconds)
        #expect(derivedOnly.runs[0].predictedSeconds == asPublished.runs[0].predictedSeconds)
        guard case .number(let heads)? = row["heads"] else { Issue.record("the row gives its heads"); return }
        let grouped = try replayed { $0["kv_heads"] = .int(Int(heads) / 4) }
        // Fewer key/value heads: smaller k and v projections, a faster step.
        #expect(grouped.runs[0].predictedSeconds < asPublished.runs[0].predictedSeconds)
    }

    /// A row replayed on the cluster it ran on rather than its GPU's DGX preset (`replay_cluster`): a preset's name
    /// takes its node count from the row, and a cluster object is replayed as written (here the row's DGX A100
    /// preset with half its network, which slows the data-parallel all-reduce across its 8 nodes; the row's
    /// all-reduce is taken as exposed, without the overlap its PyTorch DDP has, so that the network shows).
    @Test("a row's replay_cluster: a preset sized to the row, or a cluster object as written")
    func replayCluster() throws {
        guard case .object(let top) = try JSONParser.parse(try String(contentsOf: Self.document, encoding: .utf8)),
              case .array(let rows)? = top["rows"], case .object(let row) = rows[1] else { Issue.record("unexpected document"); return }
        func replayed(_ cluster: JSONValue?) throws -> CalibrationRun {
            var edited = row
            edited["replay_cluster"] = cluster
            edited["overlap_grad_reduce"] = nil
            let runs = try PublishedRun.rows(in: .object(JSONObject([("rows", .array([.object(edited)]))]))).runs
            return try CalibrationRun(try #require(runs.first))
        }
        let standard = try replayed(nil)
        let named = try replayed(.string("dgx-a100-80g"))
        #expect(named.plan.clusterName == "dgx-a100-80g:8" && standard.plan.clusterName == "dgx-a100-80g:8")
        #expect(named.predictedSeconds == standard.predictedSeconds)
        var network = try Cluster.preset(named: "dgx-a100-80g:8")
        network.name = "slow network"
        network.interNode!.bandwidth /= 2
        network.interNode!.allReduceBusBandwidth! /= 2
        let described = try replayed(network.json)
        #expect(described.plan.clusterName == "slow network" && described.plan.cluster.interNode == network.interNode)
        #expect(described.predictedSeconds > standard.predictedSeconds * 1.01, "\(described.predictedSeconds) against \(standard.predictedSeconds)")
    }

    /// A runs file with no row to replay is refused, not answered with an empty table.
    @Test("a runs file with no replayable row is refused at rows, naming why its rows were skipped")
    func noReplayableRow() throws {
        let empty = #expect(throws: InputError.self) { try CalibrationReport(document: try JSONParser.parse(#"{"rows": []}"#)) }
        #expect(empty?.path.description == "rows" && empty?.message == "no row can be replayed")
        let layerless = #expect(throws: InputError.self) {
            try PlanQualityReport(document: try JSONParser.parse(#"{"rows": [{"id": "one-layer", "source": "s"}]}"#), ids: nil) { _ in }
        }
        #expect(layerless?.message == "no row can be replayed (one-layer: a single layer or a model without published dimensions)")
    }

    /// A hand-edited row naming an optimizer state the model does not know is refused at its JSON path.
    @Test("a row with an unknown optimizer_state is refused naming rows[i].optimizer_state")
    func optimizerStateIsValidated() throws {
        let text = try String(contentsOf: Self.document, encoding: .utf8)
            .replacingOccurrences(of: "\"optimizer_state\": \"bf16\",", with: "\"optimizer_state\": \"fp16\",")
        let error = #expect(throws: InputError.self) { try PublishedRun.rows(in: try JSONParser.parse(text)) }
        #expect(error?.kind == .invalidValue && error?.path.description.hasPrefix("rows[") == true
                && error?.path.description.hasSuffix("].optimizer_state") == true)
        #expect(error?.message.contains("unknown optimizer state \"fp16\"; known: fp32, bf16, fp32-weights") == true)
    }

    /// Single-GPU GPT steps from 125M to 2.7B parameters measured on an H200 with Examples/gpu/measure.py
    /// (Docs/calibration/single-gpu-steps-h200.json, Docs/cost-model.md "Issue 14, fourteenth pass"). At one or four
    /// sequences the steps wait for the host (up to 4.4 times the GPU's busy time in that sandbox), which the model
    /// does not price; against the time the GPU itself was busy it is within 5.5%, median 2.4% (the loss run eagerly,
    /// as the kit runs it, and the optimizer's multi-tensor launches).
    @Test("H200 single-GPU steps: predicted within 6% of the GPU's busy time on every row, median within 3%")
    func singleGPUStepsAgainstDeviceBusyTime() throws {
        let report = try Self.report(of: "single-gpu-steps-h200.json")
        #expect(report.runs.count == 14)
        let errors = try report.runs.map { entry in entry.predictedSeconds / (try #require(entry.run.measuredDeviceBusySeconds)) - 1 }
        let (median, worst, _) = CalibrationReport.summary(errors: errors)
        #expect(median <= 0.03 && worst <= 0.06)
        #expect(report.markdown.contains("GPU busy: 14 rows give the time the GPU's own work took a step"))
    }

    /// Fused attention measured on an H200 (Docs/calibration/attention-h200.json): PyTorch SDPA's FlashAttention-2 and
    /// cuDNN backends, 1K-64K tokens, head dimensions 64 and 128, causal and not. The Hopper constants of both kernels
    /// come from these rows (`AttentionKernel.peakShare`, `causalOverheadTokens`); this holds them to the fit.
    @Test("H200 attention kernels: forward plus backward within 9% on every row, median within 3%")
    func hopperAttentionMeasurements() throws {
        let url = Self.document.deletingLastPathComponent().appendingPathComponent("attention-h200.json")
        let report = try AttentionCalibrationReport(document: try JSONParser.parse(try String(contentsOf: url, encoding: .utf8)),
                                                    source: "Docs/calibration/attention-h200.json")
        #expect(report.replays.count == 56)
        let (median, worst, _) = CalibrationReport.summary(errors: report.replays.map(\.totalError))
        #expect(median <= 0.03 && worst <= 0.09)
    }

    /// torchtitan's Llama 3.1 8B under FSDP2 on 8 and 128 H100s printed its peak (reserved) memory, 82.4 and 67.0
    /// GiB (Docs/calibration/torchtitan-h100-96gb.json). The model's peak of live tensors, the eager loss's fp32
    /// buffers and what selective checkpointing stores included, is 10.3% and 10.6% below: the caching allocator
    /// reserves more than is live.
    @Test("torchtitan's Llama 3.1 8B on H100s: predicted peak memory 0-12% below the printed reserved peak")
    func torchtitanPeakMemory() throws {
        let report = try Self.report(of: "torchtitan-h100-96gb.json")
        #expect(report.runs.count == 2)
        for entry in report.runs {
            let ratio = entry.peakMemoryBytes / entry.run.measuredPeakMemoryBytes!
            #expect(ratio >= 0.88 && ratio <= 1, "\(entry.run.id): \(ratio)")
        }
    }

    /// NeMo's long-sequence tables (Docs/calibration/nemo-long-sequence.json), kept apart: Llama 2 7B on H100s
    /// (NeMo 24.03) and Llama 3 8B on B200s (NeMo 25.04) from 4K to 1M tokens a sequence. With the model's cuDNN
    /// attention rates (today's kernels) every row from 8K up is predicted fast, by more the longer the
    /// sequence: those containers' attention kernels were slower (Docs/cost-model.md, "Issue 14, eighth pass").
    /// The H100 4K row's stated configuration does not fit the model's 80 GB; it ran.
    @Test("NeMo's long sequences: predicted fast by more the longer the sequence, 10-40% from 8K to 1M tokens")
    func nemoLongSequences() throws {
        let report = try Self.report(of: "nemo-long-sequence.json")
        #expect(report.runs.count == 17)
        for prefix in ["nemo2403-llama2-7b", "nemo2504-llama3-8b"] {
            let rows = report.runs.filter { $0.run.id.hasPrefix(prefix) && $0.run.sequenceLength >= 8192 }
                .sorted { $0.run.sequenceLength < $1.run.sequenceLength }
            #expect(rows.count == 8)
            for entry in rows { #expect(entry.relativeError >= -0.40 && entry.relativeError <= -0.10, "\(entry.run.id)") }
            // 8K to 256K on H100, 8K to 1M on B200: each longer sequence further off (the H100's 512K row, at TP 8,
            // is 0.8 points nearer than its 256K one).
            let falling = rows.filter { prefix.hasSuffix("8b") || $0.run.sequenceLength <= 262_144 }
            for (shorter, longer) in zip(falling, falling.dropFirst()) {
                #expect(longer.relativeError < shorter.relativeError, "\(longer.run.id)")
            }
            #expect(rows.last!.relativeError < rows.first!.relativeError - 0.1)
        }
        let short = try #require(report.runs.first { $0.run.id == "nemo2403-llama2-7b-fp8-s4k" })
        #expect(abs(short.relativeError) <= 0.05)
        #expect(!short.fitsInMemory)
    }

    /// Karpathy's build-nanogpt ladder (Docs/calibration/build-nanogpt.json), kept apart: GPT-2 124M on one A100 80GB
    /// at 16 x 1,024 tokens a step, replayed with no constant changed after the ninth pass. The four compiled stages are
    /// within 11%; the eager stage with explicit attention is 20-40% fast (autocast's fp32 softmax over the score
    /// matrices, and the casts around it, are priced at 16 bits: Docs/cost-model.md, "Issue 14, ninth pass"). The twelfth
    /// pass priced the side kernels of SDPA's FlashAttention-2 backward, which the compiled stages run: 1.4 points
    /// slower each, the first compiled stage from +10.6% to +12.0%, so their bound is 12.5%. The nineteenth pass adds the
    /// eager stage's biases in their GEMMs' epilogues, as `nn.Linear`'s `addmm` does: -32.6% to -35.6%.
    @Test("build-nanogpt's GPT-2 124M on one A100: compiled stages within 12.5%, the eager one 20-40% fast")
    func buildNanoGPTLadder() throws {
        let report = try Self.report(of: "build-nanogpt.json")
        #expect(report.runs.count == 5)
        for entry in report.runs {
            if entry.run.fusion == "eager" {
                #expect(entry.relativeError >= -0.40 && entry.relativeError <= -0.20, "\(entry.run.id)")
            } else {
                #expect(abs(entry.relativeError) <= 0.125, "\(entry.run.id)")
            }
            #expect(entry.fitsInMemory)
        }
    }

    /// Megatron-Bridge's FP8 Llama 3 rows (the 25.09, 25.11 and 26.02 containers' tables: 8B under Megatron-FSDP on
    /// 8 H100s, 70B on 64 with TP 4 and PP 8, and Llama 3.1 405B on 1,024 with TP 8, PP 8, 8 chunks a rank, CP 2 and
    /// the embedding and the loss counted as pipeline layers): predicted 0.3% fast to 6.6% slow, every one within the
    /// 80 GB it ran in.
    @Test("Megatron-Bridge's FP8 Llama 3 rows on 8, 64 and 1,024 H100s: within 7%, within memory")
    func megatronBridgeRows() throws {
        let rows = try Self.report().runs.filter { $0.run.id.hasPrefix("mbridge") }
        #expect(rows.count == 8)
        for entry in rows {
            #expect(abs(entry.relativeError) <= 0.07, "\(entry.run.id): \(entry.relativeError)")
            #expect(entry.fitsInMemory, "\(entry.run.id)")
        }
    }

    /// NeMo's FP8 GPT-3 175B on 512 H100s at two samples a microbatch (24.07 and 25.02 containers), whose performance
    /// script keeps Megatron-Core's gradient buffer in bf16 (`grad_reduce_in_fp32 = False`): within 8%, and within
    /// the 80 GB they ran in. With an fp32 buffer the model put them at 93 GB, and they were kept apart.
    @Test("NeMo's FP8 GPT-3 175B on 512 H100s with a bf16 gradient buffer: within 8%, within memory")
    func gpt3On512H100s() throws {
        let rows = try Self.report().runs.filter { $0.run.id.hasSuffix("gpt3-175b-fp8-512xH100") }
        #expect(rows.count == 2)
        for entry in rows {
            #expect(entry.run.gradientPrecision == "bf16")
            #expect(abs(entry.relativeError) <= 0.08, "\(entry.run.id): \(entry.relativeError)")
            Self.expectFits(entry, within: 80 * 1_073_741_824)
        }
    }

    /// The runs of NVIDIA's tables kept apart (Docs/calibration/megatron-bridge-apart.json): Qwen3-30B-A3B, whose
    /// sources disagree by up to 4x, and GPT-OSS 120B replay 20-70% fast; Qwen3-235B-A22B, expert parallelism 32 folded
    /// over its 2 tensor-parallel ranks and 16 data-parallel ones across two nodes, with the experts' all-to-alls
    /// overlapped, 1.8-3.4% fast since each all-to-all's share for the node's own peers crosses NVLink beside the NIC
    /// (15-17% slow when the whole of it was priced at the NIC's rate; 20-23% slow without the overlap its recipe sets),
    /// 84.7 GiB where it ran in 80 without published recomputation.
    @Test("NVIDIA's rows kept apart: Qwen3-30B-A3B and GPT-OSS 20-70% fast, Qwen3-235B-A22B folded over tp within 5%")
    func megatronBridgeRowsApart() throws {
        let report = try Self.report(of: "megatron-bridge-apart.json")
        #expect(report.runs.count == 5)
        for entry in report.runs {
            let folded = entry.run.expertTensorParallel == 1
            #expect(folded ? abs(entry.relativeError) <= 0.05 : entry.relativeError >= -0.70 && entry.relativeError <= -0.20,
                    "\(entry.run.id): \(entry.relativeError)")
            if folded {
                #expect(entry.configuration.foldsExpertsOverTensor && entry.configuration.expertParallel == 32)
                #expect(entry.run.overlapsExpertCommunication)
            }
        }
    }

    /// NVIDIA's Megatron-MoE-ModelZoo steps of Qwen3-235B-A22B on 256 H100s (Docs/calibration/megatron-moe-model-zoo.json),
    /// kept apart: expert parallelism 32 across four nodes under DeepEP replays 10-14% fast (NCCL's all-to-all would
    /// price the same layout 21-36% slow), 8 inside a node beside Megatron-FSDP within 5%, and the two deepest
    /// pipelines (32 ranks of 3 chunks, the first chunk the embedding alone; tensor parallelism 4 over 8 ranks of 4)
    /// 32-37% fast, unexplained; every row within the 80 GB it ran in.
    @Test("Megatron-MoE-ModelZoo's Qwen3-235B-A22B: DeepEP across nodes 5-20% fast, beside FSDP within 5%, deep pipelines 25-45% fast, all within memory")
    func moeModelZooRows() throws {
        let report = try Self.report(of: "megatron-moe-model-zoo.json")
        #expect(report.runs.count == 5)
        for entry in report.runs {
            #expect(entry.configuration.options.expertDispatcher == entry.run.expertDispatcher)
            // Every row ran in 80 GB: with the combine's gates kept as the router's top 8 (not their hidden-wide
            // copies) and the norm and the experts' activation rerun where the rows rerun them (norm-act).
            Self.expectFits(entry, within: 80 * 1_073_741_824)
            #expect((entry.configuration.options.recompute == .normAct) == entry.run.recompute.hasPrefix("norm-act"))
            if entry.configuration.expertParallel == 32 {
                #expect(entry.run.expertDispatcher == .deepEP)
                #expect(entry.relativeError >= -0.20 && entry.relativeError <= -0.05, "\(entry.run.id): \(entry.relativeError)")
            } else if entry.configuration.options.zeroStage == 3 {
                #expect(abs(entry.relativeError) <= 0.05, "\(entry.run.id): \(entry.relativeError)")
            } else {
                #expect(entry.relativeError >= -0.45 && entry.relativeError <= -0.25, "\(entry.run.id): \(entry.relativeError)")
            }
        }
        // The 32 x 3 chunks hold 94 layers with the embedding and the loss counted: the first chunk the embedding alone.
        let deepest = try #require(report.runs.first { $0.configuration.pipelineParallel == 32 })
        #expect(try deepest.configuration.layerSplit.chunkLayers(layers: 94, ranks: 32, chunks: 3) == [0] + Array(repeating: 1, count: 94) + [0])
    }

    /// Olmo 3's 7B pretraining (Docs/calibration/olmo3-hsdp.json), kept apart: FSDP2 in shard groups of 8 over 512
    /// H100s, replayed on its own TCPXO network with its sliding windows priced (-20.3%; -17.5% with every layer
    /// priced as full causal attention).
    @Test("Olmo 3 7B in shard groups of 8 on 512 H100s: predicted 15-25% fast, within memory")
    func olmoHybridSharding() throws {
        let report = try Self.report(of: "olmo3-hsdp.json")
        let entry = try #require(report.runs.first)
        #expect(report.runs.count == 1 && entry.run.zeroShardGroup == 8)
        #expect(entry.prediction.ranks[0].devices.count == 512)
        #expect(entry.relativeError >= -0.25 && entry.relativeError <= -0.15, "\(entry.relativeError)")
        #expect(entry.fitsInMemory)
    }

    /// IBM's and Meta's FSDP1 runs of Llama 2 7B to 70B (Docs/calibration/fms-fsdp-blog.json, issue 14's
    /// twenty-second pass), each on its cluster's own network: predicted fast as the issue's first class says, more on
    /// the H100s (16-21%) than on the A100s (3-11%), and every one within the 80 GB it ran in.
    @Test("IBM's FSDP1 Llama 2 runs on 128 A100s and 96 H100s: 0-25% fast, more on H100, within memory")
    func fmsFSDPBlog() throws {
        let report = try Self.report(of: "fms-fsdp-blog.json")
        #expect(report.runs.count == 8)
        for entry in report.runs {
            #expect(entry.relativeError < 0 && entry.relativeError > -0.25, "\(entry.run.id): \(entry.relativeError)")
            #expect(entry.fitsInMemory, "\(entry.run.id)")
        }
        let mean = { (gpu: String) in
            let rows = report.runs.filter { $0.run.gpu.hasPrefix(gpu) }
            return rows.map(\.relativeError).reduce(0, +) / Double(rows.count)
        }
        #expect(mean("H100") < mean("A100") - 0.05, "\(mean("H100")) against \(mean("A100"))")
    }

    /// The rest of llm-foundry's A100 tables (Docs/calibration/llm-foundry-a100-sweep.json, issue 14's twenty-third
    /// pass): 41 rows at 8K-64K tokens on one node and 14 on 64 and 128 A100 40GB, within a median 6% and every one
    /// within memory. Two rows are beyond 15%, both predicted fast: MPT-30B at 8K tokens (-25.7%; its H100 twin in the
    /// main set is -24.7%) and MPT-70B at 2 sequences a GPU on 64 A100 40GB (-28.9%).
    @Test("llm-foundry's A100 tables at 8K-64K tokens and on 64-128 GPUs: median within 6%, two rows beyond 15%")
    func llmFoundryA100Sweep() throws {
        let report = try Self.a100Sweep.get()
        #expect(report.runs.count == 55)
        let (median, worst, _) = CalibrationReport.summary(report.runs)
        #expect(median <= 0.06 && worst <= 0.30, "median \(median), worst \(worst)")
        let beyond = report.runs.filter { abs($0.relativeError) > 0.15 }
        #expect(Set(beyond.map(\.run.id)) == ["llmfoundry-a100-80-mpt-30b-s8192-8gpu", "llmfoundry-a100-40-mpt-70b-s2048-64gpu"])
        #expect(beyond.allSatisfy { $0.relativeError < 0 })
        for entry in report.runs { Self.expectFits(entry) }
    }

    /// MPT-70B at 2 sequences a GPU on 64 A100 40GB: per layer, the parameter all-gather (1.6 GB) takes about as long
    /// as the layer's forward pass, so the step follows the bandwidth FSDP's collectives reach between nodes. At the
    /// preset's eight 200 Gb/s rails, as nccl-tests measure a ring over DGX A100s, it is predicted 29% fast; with the
    /// node's collectives held to one rail's 25 GB/s, 9% slow. The measured step lies between (twenty-third pass).
    @Test("MPT-70B on 64 A100 40GB: measured between the predictions on eight rails and on one")
    func fsdpStepBetweenOneAndEightRails() throws {
        let entry = try #require(try Self.a100Sweep.get().runs.first { $0.run.id == "llmfoundry-a100-40-mpt-70b-s2048-64gpu" })
        var replay = try CalibrationRun.replay(entry.run)
        let railShare = try #require(replay.cluster.interNode).bandwidth / 8
        replay.cluster.interNode?.bandwidth = railShare
        replay.cluster.interNode?.allReduceBusBandwidth = nil
        let plan = try TrainingPlan.megatron(graph: replay.graph, cluster: replay.cluster, clusterName: replay.clusterName,
                                             configuration: replay.configuration)
        let oneRail = PlanEvaluator(cluster: replay.cluster).evaluate(plan).iterationSeconds
        let measured = try #require(entry.run.iterationSeconds)
        #expect(entry.predictedSeconds < measured && measured < oneRail,
                "eight rails \(entry.predictedSeconds) s, measured \(measured) s, one rail \(oneRail) s")
    }

    /// KempnerForge's H200 runs (Docs/calibration/kempnerforge-h200.json, twenty-third and twenty-fourth passes),
    /// tensor parallelism 4 inside nodes of 4 GPUs and FSDP2 across them, the accumulating 13B and 70B with their
    /// gradients kept unsharded in fp32 (`fsdp_no_sync`), replayed as the framework's code runs them: bf16 weights and
    /// Adam moments, the embedding and the loss whole on every tensor-parallel rank, `cross_entropy` on the bf16
    /// logits. Times: the 13B and the 175B within 10%, compute-bound; the 70B at 2 sequences a data-parallel rank
    /// 20-35% fast, where each layer's gathers outlast its compute and the NICs are not published. Memory: every
    /// printed `max_memory_allocated` within 10% (+1.2% to +8.0%).
    @Test("KempnerForge on 64-360 H200s: 13B and 175B within 10%, 70B 20-35% fast; every printed peak of live tensors within 10%")
    func kempnerForgeH200() throws {
        let report = try Self.report(of: "kempnerforge-h200.json")
        #expect(report.runs.count == 8)
        for entry in report.runs {
            let id = entry.run.id
            let memory = entry.peakTensorBytes / (try #require(entry.run.measuredAllocatedPeakBytes)) - 1
            #expect(memory > 0 && memory < 0.10, "\(id): \(memory)")
            if id.contains("-70b-") {
                #expect(entry.relativeError > -0.35 && entry.relativeError < -0.20, "\(id): \(entry.relativeError)")
            } else {
                #expect(abs(entry.relativeError) < 0.10, "\(id): \(entry.relativeError)")
            }
            #expect(entry.run.accumulatesUnshardedGradients == !id.contains("-175b-"))
            #expect(!entry.run.upcastsLoss && !entry.run.vocabularyParallelLoss && !entry.run.vocabularyParallelEmbedding)
            #expect(entry.configuration.summary(dataParallel: entry.run.dataParallel, noSync: entry.plan.accumulatesUnshardedGradients)
                        .contains("sp whole-embedding whole-loss"))
            #expect(entry.fitsInMemory, "\(id)")
        }
    }

    /// FlashAttention-2's GPT-3 1.3B and 2.7B on 8 A100s (Docs/calibration/flash-attention2-gpt3.json): times within 7%.
    /// With the configs' in-place loss (twenty-fourth pass) the 1.3B at 8K tokens fits its 80 GB; the 2.7B at 8K does
    /// not at the configs' 4 sequences a GPU, which the repository's own code counts at about 126 GiB too, so it ran
    /// with fewer, which the paper does not say (twenty-second and twenty-fourth passes).
    @Test("FlashAttention-2's GPT-3 training on 8 A100s: within 7%; all but the 2.7B at 8K tokens fit")
    func flashAttentionTwoTraining() throws {
        let report = try Self.report(of: "flash-attention2-gpt3.json")
        #expect(report.runs.count == 4)
        for entry in report.runs {
            #expect(abs(entry.relativeError) < 0.07, "\(entry.run.id): \(entry.relativeError)")
            #expect(entry.fitsInMemory == (entry.run.id != "fa2-gpt3-2.7b-8k-8xA100"), "\(entry.run.id)")
            #expect(entry.run.writesLossGradientInPlace)
        }
    }

    /// `shardplan calibrate` on any file but the repository's table names that file and the command that replays
    /// it, and leaves out the repository table's history and its "do not edit" line.
    @Test("a report of another runs file is headed by its own command, without the repository table's history")
    func reportOfAnotherFile() throws {
        let sweep = try Self.sweep.get().markdown, table = try Self.report().markdown
        #expect(sweep.contains("Generated by `shardplan calibrate Docs/calibration/llm-foundry-h100-sweep.json`."))
        #expect(!sweep.contains("do not edit by hand") && !sweep.contains("Before issue 8"))
        #expect(table.contains("-o Docs/calibration.md`;\ndo not edit by hand.") && table.contains("Before issue 8"))
    }

    /// torchtitan's Llama 2 70B on 64 A100s ran at local batch 1 with op-level selective checkpointing and ran out
    /// of memory at local batch 2 (docs/performance.md, footnote 1): the model agrees on both sides of 80 GB.
    @Test("Llama 2 70B, FSDP over 64 A100s, op-level selective recomputation: local batch 1 fits in 80 GB, batch 2 does not")
    func selectiveOperatorRecomputationFitsAt70B() throws {
        let document = try JSONParser.parse(try String(contentsOf: Self.document, encoding: .utf8))
        var run = try #require(try PublishedRun.rows(in: document).runs.first { $0.id == "torchtitan-llama2-70b-selective-op-64xA100" })
        #expect(try CalibrationRun(run).peakMemoryBytes <= 80 * 1_073_741_824)
        run.globalBatch *= 2
        run.microBatchSize = 2
        #expect(try CalibrationRun(run).peakMemoryBytes > 80 * 1_073_741_824)
    }

    @Test("plan quality of one row: the planner is no slower than the authors, an unknown row id names --rows, and a row not replayed says why")
    func planQualityRows() throws {
        let document = try JSONParser.parse(try String(contentsOf: Self.document, encoding: .utf8))
        let report = try PlanQualityReport(document: document, ids: ["korthikanti22-22B-full"])
        #expect(report.entries.map(\.run.id) == ["korthikanti22-22B-full"])
        #expect(report.worstRatio <= 1)
        #expect(report.markdown.contains("| korthikanti22-22B-full |"))
        // Chosen rows are not Docs/plan-quality.md: the header is the command that chose them, --rows included.
        #expect(report.markdown.contains("Generated by `shardplan calibrate Docs/calibration/published-runs.json --search --rows korthikanti22-22B-full`."))
        let own = try PlanQualityReport(document: document, ids: ["korthikanti22-22B-full"], source: "my-runs.json")
        #expect(own.markdown.contains("Generated by `shardplan calibrate my-runs.json --search --rows korthikanti22-22B-full`."))
        #expect { try PlanQualityReport(document: document, ids: ["no-such-run"]) } throws: { error in
            (error as? InputError)?.path == JSONPath([.key("--rows")])
        }
        // A row run with ZeRO-3 shard groups (MaxText's 8-GPU FSDP groups, here shrunk to 2 layers on 16 H100s) is
        // searched as the searches lay out ZeRO, over every data-parallel device; it was refused at its options.
        let sharded = try JSONParser.parse(#"""
            {"rows": [{"id": "shard-groups", "source": "a test", "layers": 2, "hidden": 256, "heads": 4, "kv_heads": 4,
              "ffn_hidden": 512, "vocab": 1024, "seq_len": 512, "global_batch": 32, "micro_batch": 2, "gpu": "H100-SXM5-80GB",
              "n_gpus": 16, "gpus_per_node": 8, "replay_cluster": "a3-megagpu-8g", "tp": 1, "pp": 1, "dp": 16, "cp": 1,
              "ep": 1, "virtual_stages": 1, "sequence_parallel": false, "zero_stage": 3, "zero_shard_group": 8,
              "recompute": "none", "precision": "bf16", "architecture": "llama", "attention": "cudnn", "fusion": "compiled",
              "measured": {"iteration_time_s": 0.01}}]}
            """#)
        let shardedReport = try PlanQualityReport(document: sharded, ids: nil, source: "shard-groups.json")
        #expect(shardedReport.entries.map(\.run.id) == ["shard-groups"])
        #expect(shardedReport.entries[0].run.zeroShardGroup == 8)
        // A row there is but that is not replayed says why.
        #expect { try PlanQualityReport(document: document, ids: ["korthikanti22-T4-baseline_no_recompute"]) } throws: { error in
            (error as? InputError)?.description.contains(#"row "korthikanti22-T4-baseline_no_recompute" is not replayed: a single layer"#) == true
        }
    }
}
