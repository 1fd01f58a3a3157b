extension TrainingPlan {
    /// Parses a `shardplan.plan/1` document and reads it back into a plan of `graph` on `cluster`, as
    /// `init(json:graph:cluster:clusterName:)` does; `document` (a file name) prefixes messages, as for
    /// `Graph.init(jsonBytes:document:)` and `Cluster.init(jsonBytes:document:)`. Every problem, malformed JSON
    /// included, is an `InputError`.
    public init(jsonBytes bytes: [UInt8], document: String? = nil, graph: Graph, cluster: Cluster,
                clusterName: String) throws(InputError) {
        let value = try JSONValue.parseDocument(bytes, document: document)
        do {
            self = try TrainingPlan(json: value, graph: graph, cluster: cluster, clusterName: clusterName)
        } catch {
            throw document.map { error.inDocument($0) } ?? error
        }
    }

    /// Reads a `shardplan.plan/1` document back into a plan of `graph` on `cluster`, so that `score --plan`
    /// can price a saved or hand-edited plan with the same model.
    ///
    /// Each op's strategy is the one whose layouts match the document: its result's `shardings` entry and
    /// `partial_sums`, the layouts of the parameters it stores, and its `zero_stages`; among strategies that
    /// match equally, the one that keeps its operands as their producers left them. A stage with
    /// `operand_shardings` settles that choice instead: an op reads each operand in the layout its entry
    /// there gives, or, where it gives none, in the layout the stage holds the value in (its producer's
    /// result, reduced; its `shardings` entry for a parameter or a value from outside the stage). The first
    /// reader in the stage of a value from outside it reads it as held whatever its entry says: a parameter
    /// is stored, and a tensor arrives, in the layout its first reader wants. An op the document does not
    /// describe follows its producers the same way. `ops` may use `"..."` for every op between its
    /// neighbours, as in SPEC section 4's example.
    ///
    /// Everything the document says about the plan must agree with the graph, the cluster and itself: op
    /// names in graph order, each in one stage; devices of the cluster, disjoint between pipeline ranks; meshes
    /// holding their stage's devices; layouts naming the stage's tensors, one entry per dimension, and its
    /// axes; `global_batch` the graph's batch and `microbatches`, which every plan states, dividing it; `rank`, `index`,
    /// `virtual_stages` and `devices` as the stages make them. Of all the problems a document has, the error
    /// names the first in document order (`DocumentProblems`). Members that only report (`predicted`,
    /// `communication`, `search`, per-stage times and bytes) are not read; the `graph` and `cluster` names and
    /// the `summary` must be text but are not trusted: a plan of another graph is refused at its ops, the same
    /// graph or cluster may go by another name (an edited copy, a preset given as a file), and the summary is
    /// worked out again from the stages.
    ///
    /// A plan of the graph at another batch (`plan --batch`) says so with `rebatched_from`, the graph's own
    /// batch: the graph is first rebatched to `global_batch` (`Graph.rebatched(to:)`), and the rest of the
    /// document describes it at that batch (a `rebatched_from` equal to `global_batch` reads as no rebatching).
    /// Without `rebatched_from`, a `global_batch` other than the graph's is refused, as a plan made for another graph.
    ///
    /// A plan of a rewritten graph lists its graph rewrites per stage (`rewrites`); they are read first,
    /// re-derived from their rules and applied to `graph` stage by stage (`Graph.replaying`), and the rest of
    /// the document describes the rewritten graph.
    public init(json: JSONValue, graph: Graph, cluster: Cluster, clusterName: String) throws(InputError) {
        let top = try JSONReader(json, at: .root, what: "a plan object")
        // Without the right format nothing else can be read, so it is checked first wherever it is written.
        guard top.contains("format") else {
            throw InputError(.unsupportedFormat, at: .root, "missing \"format\"; a plan document starts with \"format\": \"\(Self.formatName)\"")
        }
        let format = try top.string("format")
        guard format == Self.formatName else {
            throw InputError(.unsupportedFormat, at: .root.appending("format"), "unknown format \"\(format)\"; this version reads \"\(Self.formatName)\"")
        }
        let (rebatchedGraph, rebatchedFrom) = try Self.rebatching(top, graph)
        let memoryLimit = try top.optionalNumber("memory_limit_gb")
        if let memoryLimit, !(memoryLimit > 0) {
            throw top.invalid("memory_limit_gb", "memory_limit_gb is \(memoryLimit); a device's memory is more than 0 GB")
        }
        let (graph, rewrites): (Graph, [GraphRewrite])
        do {
            (graph, rewrites) = try Self.rewrites(top, of: rebatchedGraph)
        } catch {
            // Rewrites of another graph fail at their sites; the graph the plan names says why, as a stage's ops do.
            guard case .string(let name)? = top.member("graph"), name != rebatchedGraph.name else { throw error }
            throw InputError(error.kind, at: error.path,
                             "the plan is of graph \"\(name)\", and this graph is \"\(rebatchedGraph.name)\": its rewrites do not apply here (\(error.message))")
        }
        var problems = DocumentProblems(in: json)
        let batch = graph.batchSize ?? 1
        problems.attempt { () throws(InputError) in try Self.checkGlobalBatch(top, graph: graph) }
        let microbatches = problems.attempt { () throws(InputError) -> Int in
            // The count sets the price (a pipeline's bubble, the activations in flight) and has no safe default: a
            // plan without it is refused rather than priced as one microbatch. Every plan `plan` writes states it.
            let count = try top.int("microbatches")
            guard count >= 1 else { throw top.invalid("microbatches", "expected 1 or more microbatches, found \(count)") }
            guard batch % count == 0 else {
                throw top.invalid("microbatches", "the global batch of \(batch) does not split into \(count) microbatches of equal size")
            }
            return count
        }
        let schedule = problems.attempt { () throws(InputError) -> PipelineSchedule in
            try top.optionalCase("schedule", "schedule") ?? .oneForwardOneBackward
        }
        let options = problems.attempt { () throws(InputError) in try Self.options(top) }
        if let problem = options?.recomputedBlocksProblem(in: graph) {
            problems.record(InputError(.invalidValue, at: .root.appending("options").appending("recompute_blocks"), problem))
        }
        // A plan in FP8 is refused on a device without FP8 tensor cores, as the command line refuses it.
        if let options, options.precision != .bf16, cluster.device.peakFLOPsPerSecond[.fp8] == nil {
            problems.record(InputError(.invalidValue, at: .root.appending("options").appending("precision"),
                                       "\(cluster.device.name) has no FP8 tensor cores (its cluster lists no fp8 peak); the plan runs its linear layers in \(options.precision.rawValue)"))
        }
        // The names of the graph and the cluster the plan was made for: read for messages only, but checked as text.
        let graphName = problems.attempt { () throws(InputError) in try top.optionalString("graph") } ?? nil
        _ = problems.attempt { () throws(InputError) in try top.optionalString("cluster") }
        let stagesPath = JSONPath.root.appending("stages")
        var decoder = PlanStageDecoder(graph: graph, cluster: cluster,
                                       microbatches: microbatches.map { ($0, .root.appending("microbatches")) },
                                       documentGraphName: graphName)
        let elements = problems.attempt { () throws(InputError) in try top.array("stages") }
        for (index, element) in (elements ?? []).enumerated() {
            decoder.read(element, at: stagesPath.appending(index: index), problems: &problems)
        }
        if elements?.isEmpty == true {
            problems.record(InputError(.invalidValue, at: stagesPath, "a plan has at least one stage"))
        } else if elements != nil, let covered = decoder.nextOperation, covered < graph.operations.count {
            problems.record(InputError(.invalidValue, at: stagesPath,
                                       "the stages cover \(covered) of the graph's \(graph.operations.count) ops; op \"\(graph.operations[covered].name)\" is in none"))
        }
        // What the stages make of ranks, chunks and devices, checked against the members that restate it
        // (only once there are stages to count).
        let stageCount = decoder.stages.count
        let ranks = decoder.rankCount ?? max(stageCount, 1)
        let virtualStages = max(stageCount / ranks, 1)
        let counted = stageCount > 0
        if counted && stageCount % ranks != 0 {
            problems.record(InputError(.invalidValue, at: stagesPath,
                                       "\(stageCount) stages do not go round \(ranks) pipeline ranks evenly; an interleaved plan gives every rank the same number of chunks"))
        }
        problems.attempt { () throws(InputError) in
            if let declared = try top.optionalInt("virtual_stages"), counted, declared != virtualStages {
                throw InputError(.invalidValue, at: JSONPath.latest([.root.appending("virtual_stages"), stagesPath], in: json),
                                 "virtual_stages says \(declared), but the \(stageCount) stages go round \(ranks) ranks in \(virtualStages) chunk\(virtualStages == 1 ? "" : "s") each")
            }
        }
        if counted, virtualStages == 1, schedule == .interleaved {
            // As `score --schedule interleaved-1f1b` refuses one chunk a rank: it would be priced as 1F1B.
            problems.record(InputError(.invalidValue, at: problems.latest([.root.appending("schedule"), stagesPath]),
                                       "interleaved-1f1b gives each rank 2 or more chunks, but the stages give each of \(ranks) rank\(ranks == 1 ? "" : "s") one; use 1f1b"))
        }
        if virtualStages > 1, let schedule, schedule != .interleaved {
            // Without a `schedule` member the plan reads as 1F1B: the stages are what says otherwise.
            let named = top.contains("schedule")
            problems.record(InputError(.invalidValue, at: named ? problems.latest([.root.appending("schedule"), stagesPath]) : stagesPath,
                                       "the stages give each of \(ranks) ranks \(virtualStages) chunks, which only the interleaved-1f1b schedule runs, not \(schedule.rawValue)"
                                       + (named ? "" : " (the plan names no schedule)")))
        }
        // The experts' overlapped all-to-alls only where Megatron-Core runs them, as `score --overlap-moe-comm` asks:
        // some stage splits the experts, and none reruns its blocks whole.
        if let options, options.overlapExpertParallelCommunication, let schedule, !decoder.stages.contains(where: { $0 == nil }) {
            let stages = decoder.stages.compactMap { $0 }
            if let problem = ExpertParallelOverlap.problem(splitsExperts: stages.contains { $0.splitsExperts(in: graph) },
                                                           fullRecomputation: stages.contains { ($0.recompute ?? options.recompute) == .full },
                                                           schedule: schedule, pipelineRanks: ranks, virtualStages: virtualStages) {
                problems.record(InputError(.invalidValue, at: .root.appending("options").appending("overlap_expert_parallel_communication"), problem))
            }
        }
        // Devices are counted only when every stage could be read; a stage's problem comes first anyway.
        let devicesKnown = counted && !decoder.stages.contains { $0 == nil }
        problems.attempt { () throws(InputError) in
            if let declared = try top.optionalInt("devices"), devicesKnown, declared != decoder.deviceCount {
                throw InputError(.invalidValue, at: JSONPath.latest([.root.appending("devices"), stagesPath], in: json),
                                 "devices says \(declared), but the stages run on \(decoder.deviceCount)")
            }
        }
        // The document's summary must be text, but it is not trusted: a hand-edited plan keeps the line its
        // search wrote. The plan's own is worked out from its stages below.
        let summary = problems.attempt { () throws(InputError) in try top.optionalString("summary") }
        try problems.throwFirst()
        guard let schedule, let microbatches, let options, summary != nil else { preconditionFailure("every member was read") }
        self.init(graph: graph, cluster: cluster, clusterName: clusterName, stages: decoder.stages.compactMap { $0 }.map {
                      Self.withPlanZeroStage($0, options.zeroStage, graph: graph)
                  },
                  pipelineRanks: ranks, virtualStages: virtualStages, schedule: schedule, microbatches: microbatches,
                  options: options)
        self.summary = stageSummary
        self.rewrites = rewrites
        if !rewrites.isEmpty { graphBeforeRewrites = rebatchedGraph }
        self.rebatchedFrom = rebatchedFrom
        self.memoryLimitBytes = memoryLimit.map { $0 * 1e9 }
        // The checks above imply SPEC's invariants; this is the independent account of them.
        if let violation = PlanValidator.violation(in: self) {
            throw InputError(.invalidValue, at: stagesPath, "the stages are not a sound plan: \(violation)")
        }
        try checkZeroShardGroup()
    }

    /// `graph` at the document's `global_batch` where the document says (`rebatched_from`) that the plan is of
    /// this graph rebatched (`plan --batch`), with the batch it was rebatched from; `graph` itself otherwise.
    private static func rebatching(_ top: JSONReader, _ graph: Graph) throws(InputError) -> (Graph, Int?) {
        guard let from = try top.optionalInt("rebatched_from") else { return (graph, nil) }
        let batch = graph.batchSize ?? 1
        guard from == batch else {
            throw top.invalid("rebatched_from", "rebatched_from says the plan was made from a graph with a global batch of \(from), "
                              + "but graph \"\(graph.name)\" has \(batch); score the plan with the graph it was made from")
        }
        guard let declared = try top.optionalInt("global_batch") else {
            throw top.invalid("rebatched_from", "rebatched_from needs global_batch, the batch the plan rebatched the graph to")
        }
        // A plan "rebatched" to the graph's own batch is of the graph as it is; its report should not say otherwise.
        guard declared != from else { return (graph, nil) }
        do {
            return (try graph.rebatched(to: declared), from)
        } catch {
            throw top.invalid("global_batch", "the plan rebatched graph \"\(graph.name)\" to \(declared) samples, which it cannot be: \(error.description)")
        }
    }

    /// `graph` with the stages' `rewrites` re-derived and applied in stage order, and the rewrites.
    private static func rewrites(_ top: JSONReader, of graph: Graph) throws(InputError) -> (Graph, [GraphRewrite]) {
        guard case .array(let elements)? = top.member("stages") else { return (graph, []) }
        var records: [GraphRewrite] = [], paths: [JSONPath] = []
        for (index, element) in elements.enumerated() {
            guard case .object(let object) = element, let list = object["rewrites"], list != .null else { continue }
            let path = JSONPath.root.appending("stages").appending(index: index).appending("rewrites")
            guard case .array(let entries) = list else {
                throw InputError(.wrongType, at: path, "expected an array of rewrites, found \(JSONReader.describe(list))")
            }
            for (position, entry) in entries.enumerated() {
                records.append(try GraphRewrite(json: entry, at: path.appending(index: position)))
                paths.append(path.appending(index: position))
            }
        }
        return (records.isEmpty ? graph : try graph.replaying(records, at: paths), records)
    }

    /// That the document's `global_batch`, where it gives one, is the batch the plan is priced at: the graph's
    /// (SPEC section 1: its first input's batch dimension), or 1 for a graph without inputs, as the plan
    /// writer puts it. A plan made for another batch would otherwise be re-scored at this graph's without a word.
    private static func checkGlobalBatch(_ top: JSONReader, graph: Graph) throws(InputError) {
        guard let declared = try top.optionalInt("global_batch") else { return }
        guard declared >= 1 else { throw top.invalid("global_batch", "global_batch is \(declared); a batch holds at least one sample") }
        let batch = graph.batchSize ?? 1
        guard declared != batch else { return }
        let source = graph.inputs.first.map { "the batch dimension of its input \"\(graph[$0].name)\"" } ?? "it has no inputs"
        throw top.invalid("global_batch", "global_batch says \(declared), but graph \"\(graph.name)\" has a global batch of \(batch) (\(source)); "
                          + "a plan is priced at its graph's batch, so score it with the graph it was made for, or plan this graph anew "
                          + "(plan --batch \(declared) plans it at that batch)")
    }

    /// `stage` with every op that reads a parameter at the plan's ZeRO stage at least. The cost model takes the
    /// larger of the two and the writer lists that in `zero_stages`, so a document whose `zero_stages` says
    /// less (or nothing) than its `options` would otherwise read back, once written, as other strategies.
    static func withPlanZeroStage(_ stage: StageLayout, _ zeroStage: Int, graph: Graph) -> StageLayout {
        guard zeroStage > 0 else { return stage }
        var stage = stage
        for (offset, operation) in stage.operations.enumerated() where graph.operations[operation].inputs.contains(where: { graph[$0].isParameter }) {
            stage.strategies[offset].zeroStage = max(stage.strategies[offset].zeroStage, zeroStage)
        }
        return stage
    }

    /// The training-stack options of the `options` member.
    private static func options(_ top: JSONReader) throws(InputError) -> TrainingOptions {
        var options = TrainingOptions()
        guard top.contains("options") else { return options }
        let reader = try top.reader("options")
        if let mode: RecomputeMode = try reader.optionalCase("recompute", "recomputation") { options.recompute = mode }
        if let blocks = try reader.optionalInt("recompute_blocks") {
            if let problem = TrainingOptions.recomputedBlocksProblem(blocks, recompute: options.recompute) {
                throw reader.invalid("recompute_blocks", problem)
            }
            options.recomputedBlocks = blocks
        }
        let zero = try reader.optionalInt("zero_stage") ?? 0
        guard (0 ... 3).contains(zero) else { throw reader.invalid("zero_stage", "expected a ZeRO stage 0, 1, 2 or 3, found \(zero)") }
        options.zeroStage = zero
        options.overlapGradientReduction = try reader.optionalBool("overlap_gradient_reduction") ?? false
        options.overlapTensorParallelCommunication = try reader.optionalBool("overlap_tensor_parallel_communication") ?? false
        options.overlapExpertParallelCommunication = try reader.optionalBool("overlap_expert_parallel_communication") ?? false
        if let dispatcher: ExpertDispatcher = try reader.optionalCase("expert_dispatcher", "expert dispatcher") { options.expertDispatcher = dispatcher }
        if let precision: MatmulPrecision = try reader.optionalCase("precision", "precision") { options.precision = precision }
        if let recipe: FP8Recipe = try reader.optionalCase("fp8_recipe", "FP8 recipe") {
            // As the command line refuses --fp8-recipe without --precision fp8 or auto.
            guard options.precision != .bf16 else {
                throw reader.invalid("fp8_recipe", "an FP8 recipe scales FP8 linear layers, and precision is bf16; give \"precision\": \"fp8\" or \"auto\" with it, or leave it out")
            }
            options.fp8Recipe = recipe
        }
        if let kernel: AttentionKernel = try reader.optionalCase("attention_kernel", "attention kernel") { options.attentionKernel = kernel }
        if let fusion: KernelFusionLevel = try reader.optionalCase("kernel_fusion", "kernel fusion") { options.kernelFusion = fusion }
        options.fusedCrossEntropy = try reader.optionalBool("fused_cross_entropy") ?? false
        options.writesLossGradientInPlace = try reader.optionalBool("loss_gradient_in_place") ?? false
        if let conflict = options.lossInPlaceConflict { throw reader.invalid("loss_gradient_in_place", conflict) }
        options.eagerLoss = try reader.optionalBool("eager_loss") ?? false
        if options.eagerLoss && options.kernelFusion != .compiled {
            throw reader.invalid("eager_loss", "an eager loss is one left out of a compiled step; kernel_fusion is \"\(options.kernelFusion.rawValue)\", not \"compiled\"")
        }
        options.upcastsLoss = try reader.optionalBool("loss_upcast") ?? true
        if let conflict = options.lossUpcastConflict { throw reader.invalid("loss_upcast", conflict) }
        options.reduceGradientsInFP32 = try reader.optionalBool("gradient_reduce_fp32") ?? false
        options.copiesOutGatheredParameters = try reader.optionalBool("fsdp2_copy_out") ?? false
        options.accumulatesUnshardedGradients = try reader.optionalBool("fsdp_no_sync") ?? false
        options.zeroShardGroup = try reader.optionalInt("zero_shard_group")
        if let name = try reader.optionalString("cp_comm_type") {
            guard let communication = ContextParallelCommunication(name: name) else {
                throw reader.invalid("cp_comm_type", "unknown context-parallel exchange \"\(name)\"; known: \(ContextParallelCommunication.knownNames)")
            }
            options.contextParallelCommunication = communication
        }
        if let precision: GradientPrecision = try reader.optionalCase("gradient_precision", "gradient precision") {
            options.gradientPrecision = precision
        }
        if let state: OptimizerStatePrecision = try reader.optionalCase("optimizer_state", "optimizer state") {
            options.optimizerState = state
        }
        options.fp8Parameters = try reader.optionalBool("fp8_params") ?? false
        if let conflict = options.fp8ParametersConflict(flag: "fp8_params") { throw reader.invalid("fp8_params", conflict) }
        return options
    }
}
