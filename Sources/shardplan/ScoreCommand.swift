import ArgumentParser
import Foundation
import ShardPlan

/// `shardplan score`: the predicted cost of a hand-written Megatron-style plan.
struct ScoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Predict iteration time and memory of a Megatron-style plan (tp, pp, dp), or of a saved plan (--plan), with the search's cost model."
    )

    @OptionGroup var input: ModelAndCluster

    @Option(parsing: .unconditional, help: ArgumentHelp("Tensor-parallel size.", valueName: "T"))
    var tp: Int?

    @Option(parsing: .unconditional, help: ArgumentHelp("Pipeline-parallel size.", valueName: "P"))
    var pp: Int?

    @Option(help: ArgumentHelp("A shardplan.plan/1 file (plan --format json writes one) to re-score instead of a Megatron layout (--tp, --pp).",
                               valueName: "PLAN.json"),
            completion: .file(extensions: ["json"]))
    var plan: String?

    @Option(parsing: .unconditional, help: ArgumentHelp("Data-parallel size (default: devices / (tp x pp x cp)).", valueName: "D"))
    var dp: Int?

    @Option(parsing: .unconditional, help: ArgumentHelp("Context-parallel size: ranks sharing each sequence, keys and values exchanged as --cp-comm-type says (Megatron-Core CP; default 1).",
                               valueName: "C"))
    var cp: Int?

    @Option(name: .customLong("cp-a2a-size"), parsing: .unconditional,
            help: ArgumentHelp("Under --cp-comm-type a2a+p2p, the context-parallel ranks of each all-to-all group, the ring running over cp / A of them (Megatron-Core's first --hierarchical-context-parallel-sizes); a divisor of --cp between 1 and it. Default: the largest whose group, beside the tensor-parallel ranks, stays inside an NVLink domain.",
                               valueName: "A"))
    var contextAllToAll: Int?

    @Option(parsing: .unconditional, help: ArgumentHelp("Expert-parallel size: ranks sharing the experts, tokens dispatched and combined by all-to-alls; as Megatron-Core orders expert ranks, the context-parallel ranks first (and the tensor-parallel ones with --etp 1), then data-parallel ones (default 1).",
                               valueName: "E"))
    var ep: Int?

    @Option(parsing: .unconditional, help: ArgumentHelp("Expert tensor-parallel size: 1 keeps each expert whole on its rank and folds expert parallelism over the tensor-parallel ranks too (Megatron-Core's --expert-tensor-parallel-size 1, MoE parallel folding); the default, tp, splits each expert as the dense layers are.",
                               valueName: "1|T"))
    var etp: Int?

    @Option(name: .customLong("micro-batch-size"), parsing: .unconditional, help: ArgumentHelp("Samples per microbatch per data-parallel replica (default 1).", valueName: "N"))
    var microBatchSize: Int?

    @Option(parsing: .unconditional, help: ArgumentHelp("Microbatches per iteration (instead of --micro-batch-size).", valueName: "M"))
    var microbatches: Int?

    @Option(name: .customLong("virtual-stages"), parsing: .unconditional, help: ArgumentHelp("Model chunks per pipeline rank (interleaved 1F1B when more than 1; default 1).", valueName: "V"))
    var virtualStages: Int?

    @Option(help: ArgumentHelp("Pipeline schedule (default: interleaved-1f1b with --virtual-stages above 1, else 1f1b).", valueName: "name"))
    var schedule: PipelineSchedule?

    @Option(name: .customLong("first-stage-layers"), parsing: .unconditional, help: ArgumentHelp("Repeated layers on the first pipeline rank, when it differs from the others (Megatron-LM's --decoder-first-pipeline-num-layers).", valueName: "N"))
    var firstStageLayers: Int?

    @Option(name: .customLong("last-stage-layers"), parsing: .unconditional, help: ArgumentHelp("Repeated layers on the last pipeline rank, when it differs from the others (Megatron-LM's --decoder-last-pipeline-num-layers).", valueName: "N"))
    var lastStageLayers: Int?

    @Flag(name: .customLong("account-for-embedding-in-pipeline-split"),
          help: "Count the embedding as a layer when splitting the layers over the pipeline chunks: the first chunk holds one layer fewer (Megatron-LM's flag of the same name).")
    var accountForEmbedding = false

    @Flag(name: .customLong("account-for-loss-in-pipeline-split"),
          help: "Count the loss as a layer when splitting the layers over the pipeline chunks: the last chunk holds one layer fewer (Megatron-LM's flag of the same name).")
    var accountForLoss = false

    @Flag(name: .customLong("sequence-parallel"), help: "Split norms, dropout and residual adds along the sequence (Megatron SP).")
    var sequenceParallel = false

    @Flag(name: .customLong("no-vocab-parallel-embedding"),
          help: "Keep the whole embedding table on every tensor-parallel rank (sharded over data-parallel ranks only) instead of splitting its vocabulary (KempnerForge's layout).")
    var wholeEmbedding = false

    @Flag(name: .customLong("no-loss-parallel"),
          help: "Gather the whole logits on every tensor-parallel rank and run the loss there, instead of Megatron's vocabulary-parallel cross-entropy (torchtitan's disable_loss_parallel).")
    var wholeLoss = false

    @Option(help: ArgumentHelp("Activation recomputation (default none).", discussion: RecomputeMode.helpDiscussion, valueName: "mode"))
    var recompute: RecomputeMode?

    @Option(name: .customLong("recompute-blocks"), parsing: .unconditional,
            help: ArgumentHelp("With --recompute full, rerun only the first N transformer blocks of each stage (each model chunk) and keep the rest's activations (Megatron-LM's --recompute-method block --recompute-num-layers N; default: every block).",
                               valueName: "N"))
    var recomputeBlocks: Int?

    @Option(help: ArgumentHelp("ZeRO stage over the data-parallel devices: 1 shards optimizer state, 2 also gradients, 3 also weights (default 0).",
                               valueName: "0-3"))
    var zero: ZeroStage?

    @Option(name: .customLong("zero-shard-group"), parsing: .unconditional,
            help: ArgumentHelp("With --zero 3, shard over groups of this many data-parallel devices and all-reduce the shards across the groups (PyTorch FSDP's HYBRID_SHARD, torchtitan's data_parallel_shard_degree; default: shard over all).",
                               valueName: "G"))
    var zeroShardGroup: Int?

    @OptionGroup var overlap: CommunicationOverlap

    @Flag(name: .customLong("overlap-moe-comm"),
          help: "Overlap the experts' dispatch and combine all-to-alls of one microbatch with another microbatch's compute (Megatron-Core's --overlap-moe-expert-parallel-comm, its combined 1F1B schedule), which keeps one more microbatch's activations in flight; needs --ep 2 or more, no full recomputation, a 1F1B schedule, and --virtual-stages 2 or more with --pp 2 or more.")
    var overlapMoEComm = false

    @OptionGroup var precision: PrecisionChoice

    @OptionGroup var kernelChoice: KernelChoice

    @OptionGroup var printing: PlanOutput

    @Flag(help: "Print where the command's time went to standard error.")
    var timings = false

    /// The largest value a size option takes: a cluster's most devices (`Cluster`'s limit of 2^20).
    static let largestSize = 1 << 20

    func validate() throws {
        if plan == nil && (tp == nil || pp == nil) { throw ValidationError("Give --tp and --pp, or --plan with a saved plan.") }
        try kernelChoice.validateLossUpcast(defaultFusion: .fused)
        if plan == "-" && input.graph == "-" { throw ValidationError("Standard input holds one document: give the graph or the plan (--plan) as a file.") }
        try printing.refuseOverwriting(input.inputFiles + [("saved plan", plan)])
        if plan != nil {
            let layoutOptions: [(String, Bool)] = [
                ("--batch", input.batch != nil), ("--tp", tp != nil), ("--pp", pp != nil), ("--dp", dp != nil), ("--cp", cp != nil), ("--ep", ep != nil),
                ("--etp", etp != nil), ("--micro-batch-size", microBatchSize != nil),
                ("--microbatches", microbatches != nil), ("--virtual-stages", virtualStages != nil), ("--schedule", schedule != nil),
                ("--sequence-parallel", sequenceParallel), ("--no-vocab-parallel-embedding", wholeEmbedding),
                ("--no-loss-parallel", wholeLoss), ("--recompute", recompute != nil),
                ("--recompute-blocks", recomputeBlocks != nil), ("--zero", zero != nil),
                ("--zero-shard-group", zeroShardGroup != nil), ("--cp-a2a-size", contextAllToAll != nil),
                ("--overlap-grad-reduce", overlap.gradientReduction), ("--overlap-tp-comm", overlap.tensorParallel), ("--overlap-moe-comm", overlapMoEComm),
                ("--precision/--fp8-recipe/--fp8-params", precision.isGiven),
                ("--attention-kernel/--fusion/--fused-cross-entropy/--loss-in-place/--eager-loss/--no-loss-upcast/--grad-reduce-in-fp32/--fsdp2/--fsdp-no-sync/--grad-precision/--optimizer-state/--cp-comm-type/--moe-dispatcher", kernelChoice.isGiven),
                ("--first-stage-layers", firstStageLayers != nil), ("--last-stage-layers", lastStageLayers != nil),
                ("--account-for-embedding-in-pipeline-split", accountForEmbedding), ("--account-for-loss-in-pipeline-split", accountForLoss),
            ]
            let given = layoutOptions.filter(\.1).map(\.0)
            if !given.isEmpty {
                throw ValidationError("--plan re-scores a saved plan, which sets its own layout and options; leave out \(given.joined(separator: ", ")).")
            }
        }
        // After the --plan refusal: a saved plan's options are its own, so they are not checked against each other here.
        try precision.validate(with: kernelChoice)
        try RecomputeOption.validate(recomputeBlocks, fullRecomputation: recompute == .full)
        if zeroShardGroup != nil && zero != .weights {
            throw ValidationError("--zero-shard-group shards ZeRO-3 state over groups of devices; give --zero 3 with it.")
        }
        let sizes: [(String, Int?)] = [("--tp", tp), ("--pp", pp), ("--dp", dp), ("--cp", cp), ("--ep", ep), ("--etp", etp),
                                       ("--zero-shard-group", zeroShardGroup),
                                       ("--micro-batch-size", microBatchSize),
                                       ("--microbatches", microbatches), ("--virtual-stages", virtualStages),
                                       ("--first-stage-layers", firstStageLayers), ("--last-stage-layers", lastStageLayers)]
        for case let (name, value?) in sizes where value < 1 {
            throw ValidationError("\(name) must be at least 1, found \(value).")
        }
        // Beyond the largest cluster a preset or file describes, so that products of the sizes stay exact.
        for case let (name, value?) in sizes where value > Self.largestSize {
            throw ValidationError("\(name) must be at most \(Self.largestSize), found \(value).")
        }
        if microBatchSize != nil && microbatches != nil {
            throw ValidationError("Give --micro-batch-size or --microbatches, not both: one sets the other.")
        }
        if schedule == .interleaved && (virtualStages ?? 1) < 2 {
            throw ValidationError("--schedule interleaved-1f1b runs 2 or more model chunks per rank; give --virtual-stages 2 or more.")
        }
        if let virtualStages, virtualStages > 1 {
            if let pp, pp < 2 { throw ValidationError("--virtual-stages splits each pipeline rank's layers into chunks; give --pp 2 or more.") }
            if let schedule, schedule != .interleaved {
                throw ValidationError("--virtual-stages \(virtualStages) runs the interleaved-1f1b schedule, not \(schedule.rawValue).")
            }
        }
        let counted = [("--account-for-embedding-in-pipeline-split", accountForEmbedding),
                       ("--account-for-loss-in-pipeline-split", accountForLoss)].filter(\.1).map(\.0)
        if let flag = counted.first {
            if firstStageLayers != nil || lastStageLayers != nil {
                throw ValidationError("\(flag) counts the embedding or the loss as a layer where Megatron-Core splits every rank's layers itself; leave out --first-stage-layers and --last-stage-layers.")
            }
            if let pp, pp < 2 { throw ValidationError("\(flag) changes how the layers split over pipeline ranks; give --pp 2 or more.") }
        }
        if let etp, let tp, etp != 1 && etp != tp {
            throw ValidationError("--etp is 1 (whole experts, expert parallelism folded over the tensor-parallel ranks) or the tensor-parallel size \(tp), found \(etp).")
        }
        if etp == 1, let tp, tp > 1, (ep ?? 1) < 2 {
            throw ValidationError("--etp 1 folds the tensor-parallel ranks into expert parallelism; give --ep \(tp) or more.")
        }
        if sequenceParallel, let tp, tp < 2 {
            throw ValidationError("--sequence-parallel splits norms and dropout over the tensor-parallel group; give --tp 2 or more.")
        }
        for case (let flag, true) in [("--no-vocab-parallel-embedding", wholeEmbedding), ("--no-loss-parallel", wholeLoss)] {
            if let tp, tp < 2 { throw ValidationError("\(flag) says how the tensor-parallel ranks hold the vocabulary; give --tp 2 or more.") }
        }
        if plan == nil, zero != .weights, let (flag, says) = kernelChoice.zeroThreeFlags.first {
            throw ValidationError("\(flag) says \(says); give --zero 3 with it.")
        }
        if plan == nil, contextAllToAll != nil && kernelChoice.contextParallelCommunication != .hierarchical {
            throw ValidationError("--cp-a2a-size sizes the all-to-all groups of hierarchical context parallelism; give --cp-comm-type a2a+p2p with it.")
        }
        if let exchange = kernelChoice.contextParallelCommunication, (cp ?? 1) < 2 {
            throw ValidationError("--cp-comm-type \(exchange.rawValue) says how context-parallel ranks exchange keys and values; give --cp 2 or more.")
        }
        // The group is the command line's own to get right: the graph and the cluster have no say in it.
        if plan == nil, let group = contextAllToAll, let cp, !MegatronConfiguration.contextAllToAllSizes(contextParallel: cp).contains(group) {
            throw ValidationError("--cp-a2a-size: " + TrainingPlan.contextAllToAllRefusal(group, contextParallel: cp) + ".")
        }
        if let dispatcher = kernelChoice.expertDispatcher, dispatcher.deduplicates, (ep ?? 1) < 2 {
            throw ValidationError("--moe-dispatcher \(dispatcher.rawValue) carries a mixture of experts' tokens between expert-parallel ranks; give --ep 2 or more.")
        }
        // Megatron-Core's TransformerConfig refuses the overlap without these.
        if overlapMoEComm {
            if (ep ?? 1) < 2 {
                throw ValidationError("--overlap-moe-comm overlaps the all-to-alls of a mixture of experts' expert parallelism; give --ep 2 or more (the model needs experts).")
            }
            let virtualStages = virtualStages ?? 1
            if let problem = ExpertParallelOverlap.problem(splitsExperts: true, fullRecomputation: recompute == .full,
                                                           schedule: schedule ?? (virtualStages > 1 ? .interleaved : .oneForwardOneBackward),
                                                           pipelineRanks: pp ?? 1, virtualStages: virtualStages) {
                throw ValidationError("--overlap-moe-comm: \(problem).")
            }
        }
    }

    func run() throws {
        try reportingInputErrors {
            var clock = CommandClock(enabled: timings)
            try printing.checkDestinations()
            let (graph, cluster, rebatchedFrom) = try input.load(&clock)
            let evidenceRuns = try printing.evidenceRuns()
            if evidenceRuns != nil { clock.lap("replay --evidence runs") }
            var plan = try self.plan.map { path throws -> TrainingPlan in
                let document = try GraphLoading.document(path, what: "plan")
                let plan: TrainingPlan
                do throws(InputError) {
                    plan = try warningOfMisspellings(in: GraphLoading.documentName(path)) { () throws(InputError) in
                        try TrainingPlan(json: document, graph: graph, cluster: cluster, clusterName: input.cluster)
                    }
                } catch {
                    throw error.inDocument(GraphLoading.documentName(path))
                }
                // The shardings fit the graph (or decoding refused them); a graph of another name, at another length
                // say, is worth a word.
                if case .object(let top) = document, case .string(let name)? = top["graph"], name != graph.name {
                    printError("note: the plan was made for graph \"\(name)\"; it is scored on \"\(graph.name)\".")
                }
                for note in PlanDocumentOmissions.notes(in: document, for: plan) { printError("note: \(note).") }
                for option in plan.ineffectiveOptions {
                    printError("note: \(option.setting.rawValue) changes nothing: \(option.reason).")
                }
                // The headroom the plan was made with is checked only where asked again.
                if let saved = plan.memoryLimitBytes, input.memoryLimit == nil {
                    printError(String(format: "note: the plan was made under --memory-limit %g GB; it is checked against the %.1f GB each device has here (give --memory-limit %g to check it there).",
                                      saved / 1e9, cluster.device.memoryBytes / 1e9, saved / 1e9))
                }
                var scored = plan
                scored.memoryLimitBytes = input.memoryLimitBytes
                return scored
            } ?? megatronPlan(graph: graph, cluster: cluster, rebatchedFrom: rebatchedFrom)
            if self.plan != nil, let recognition = try? LayoutRecognition(plan), recognition.isExact {
                // A saved plan that is exactly a Megatron layout is summarised as `--tp`/`--pp` summarise it, and gets the
                // notes they would give it (`--emit` warns itself).
                let layout = recognition.layout
                plan.summary = layout.configuration.summary(dataParallel: layout.dataParallel, noSync: plan.accumulatesUnshardedGradients)
                if printing.emit == nil {
                    for note in TrainingFramework.megatron.unrunnable(layout) { printError("note: \(note).") }
                }
            }
            clock.lap("lay out plan")
            let prediction = PlanEvaluator(cluster: cluster).evaluate(plan)
            clock.lap("score")
            // A plan that does not fit is a failure: its report still goes to standard output, but no file is written.
            let fits = prediction.fitsInMemory
            let writes = fits || (printing.output ?? "-") == "-" && printing.report == nil
            if writes {
                try printing.write(plan, prediction: prediction, evidenceRuns: evidenceRuns)
                clock.lap("write output")
            }
            if !fits, let worst = prediction.ranks.max(by: { $0.peakMemoryBytes < $1.peakMemoryBytes }) {
                printError("error: " + prediction.memoryShortfall(worst) + (writes ? "" : "; nothing written"))
                throw ExitCode.failure
            }
        }
    }

    private func megatronPlan(graph: Graph, cluster: Cluster, rebatchedFrom: Int?) throws -> TrainingPlan {
        let (tp, pp) = (self.tp!, self.pp!)
        let dataParallel = dp ?? (tp * pp > 0 ? cluster.deviceCount / (tp * pp * (cp ?? 1)) : 0)
        var batchPerMicrobatch = microBatchSize ?? 1
        // ZeRO shards over the data- and context-parallel devices (and the experts' over their own data-parallel ones):
        // with none it shards nothing, and the layout is priced, summarised and exported without it.
        var zeroStage = zero?.rawValue ?? 0
        if zeroStage > 0 && dataParallel * (cp ?? 1) == 1 && (ep ?? 1) == 1 {
            printError("note: --zero \(zeroStage) changes nothing: with dp x cp = 1 no data-parallel devices share a gradient, so the layout is priced, summarised and exported without ZeRO.")
            zeroStage = 0
        }
        // Where the layout itself is at fault (tp x pp x cp beyond the devices, replicas that do not split the
        // batch), the microbatches are not: TrainingPlan.megatron names the option that is.
        let batch = graph.batchSize ?? 1
        if let microbatches, dataParallel >= 1, batch % dataParallel == 0 {
            guard batch % (microbatches * dataParallel) == 0 else {
                throw InputError(.invalidValue, at: JSONPath([.key("--microbatches")]),
                                 "the global batch \(batch) does not split into \(microbatches) microbatches on each of \(dataParallel) data-parallel replicas")
            }
            batchPerMicrobatch = batch / (microbatches * dataParallel)
        }
        var configuration = MegatronConfiguration(
            tensorParallel: tp, pipelineParallel: pp, dataParallel: dp, microBatchSize: batchPerMicrobatch,
            virtualStages: virtualStages ?? 1, sequenceParallel: sequenceParallel, contextParallel: cp ?? 1,
            expertParallel: ep ?? 1, expertTensorParallel: etp, schedule: schedule,
            options: kernelChoice.applied(to: precision.applied(to: overlap.applied(to: TrainingOptions(
                recompute: recompute ?? .none, recomputedBlocks: recomputeBlocks, zeroStage: zeroStage, zeroShardGroup: zeroStage == 3 ? zeroShardGroup : nil)))),
            firstStageLayers: firstStageLayers, lastStageLayers: lastStageLayers,
            embeddingInPipelineSplit: accountForEmbedding, lossInPipelineSplit: accountForLoss)
        // The all-to-all group the plan is priced with (`--cp-a2a-size` or the default), named in its summary.
        configuration.contextAllToAll = contextAllToAll
        configuration.contextAllToAll = try TrainingPlan.contextAllToAll(of: configuration, devicesPerDomain: cluster.devicesPerDomain,
                                                                         heads: AttentionHeads.all(in: graph))
        configuration.vocabularyParallelEmbedding = !wholeEmbedding
        configuration.vocabularyParallelLoss = !wholeLoss
        configuration.options.overlapExpertParallelCommunication = overlapMoEComm
        try PrecisionChoice.check(configuration.options, on: cluster.device)
        try RecomputeOption.check(configuration.options, for: graph)
        var plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: input.cluster, configuration: configuration)
        for note in (printing.emit ?? .megatron).unrunnable(configuration, graph: graph, microbatches: plan.microbatches) {
            printError("note: \(note).")
        }
        if let note = configuration.tensorGroupsAcrossDomainsNote(on: cluster) { printError("note: \(note).") }
        // What validate() cannot see: the device (a kernel it does not run).
        for option in plan.ineffectiveOptions where kernelChoice.gives(option.setting) || overlap.gives(option.setting) {
            printError("note: \(option.flag) changes nothing: \(option.reason).")
        }
        let undivided = configuration.undividedVocabulary(of: graph)
        for (option, layer) in try configuration.ineffectiveVocabularyOptions(in: plan) {
            let reason = undivided.map { "tp = \(configuration.tensorParallel) does not divide \(graph.name)'s vocabulary of \($0), which keeps its \(layer) whole on every rank either way" }
                ?? "Megatron's layout does not split \(graph.name)'s \(layer) along the vocabulary over tp = \(configuration.tensorParallel) either"
            printError("note: \(option) changes nothing: \(reason); --emit settings keep their default.")
        }
        if let vocabulary = undivided, configuration.vocabularyParallelEmbedding || configuration.vocabularyParallelLoss {
            printError("note: tp = \(configuration.tensorParallel) does not divide \(graph.name)'s vocabulary of \(vocabulary), so its embedding is whole on every tensor-parallel rank (and its output layer where it is not split otherwise); "
                       + VocabularyPadding.advice(graph: graph, vocabulary: vocabulary, tensorParallel: configuration.tensorParallel) + ".")
        }
        plan.rebatchedFrom = rebatchedFrom
        plan.memoryLimitBytes = input.memoryLimitBytes
        return plan
    }
}
