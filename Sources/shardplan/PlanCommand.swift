import ArgumentParser
import Foundation
import ShardPlan

/// `shardplan plan`: search the sharding of a graph on a cluster.
struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Search the parallel plan of a graph on a cluster and print it.",
        discussion: "The stage DP cuts the graph's layers into pipeline stages on submeshes; every stage's op shardings come from an integer linear program (GLPK) on each logical view of its submesh. With --stages 1 the whole graph is one stage over every device (and --mesh can fix its shape)."
    )

    @OptionGroup var input: ModelAndCluster

    @Option(parsing: .unconditional, help: ArgumentHelp("Pipeline stages: auto (the DP chooses), 1 (the whole graph on one mesh) or the most stages to allow.",
                               valueName: "auto|N"))
    var stages: StageLimit = .auto

    @Option(parsing: .unconditional, help: ArgumentHelp("Logical mesh shape of every stage, such as 2x4 (default: search every 2-D view, and for sequences of 16K tokens and more Megatron's [dp, cp, tp] meshes too, which a fixed shape leaves out).", valueName: "AxB"))
    var mesh: MeshShape?

    @Option(parsing: .unconditional, help: ArgumentHelp("Pin the tensor-parallel degree: the answer has it, the search chooses the rest (Docs/pipeline-search.md, \"Pinned degrees\").", valueName: "T"))
    var tp: Int?

    @Option(parsing: .unconditional, help: ArgumentHelp("Pin the pipeline-parallel degree: the answer has exactly this many pipeline ranks.", valueName: "P"))
    var pp: Int?

    @Option(parsing: .unconditional, help: ArgumentHelp("Pin the data-parallel degree (expert parallelism, taken from the data-parallel ranks, counts in it).", valueName: "D"))
    var dp: Int?

    @Option(parsing: .unconditional, help: ArgumentHelp("Pin the context-parallel degree (ranks sharing each sequence); for a model without attention a note says it changes nothing.", valueName: "C"))
    var cp: Int?

    @Option(parsing: .unconditional, help: ArgumentHelp("Pin the expert-parallel degree (ranks sharing the experts); for a model without experts a note says it changes nothing.", valueName: "E"))
    var ep: Int?

    @Option(parsing: .unconditional, help: ArgumentHelp("Microbatches per iteration, or auto: with one stage the fewest that fit, with a pipeline the count the search finds fastest (each stage DP sweeps the counts until its plans slow down).", valueName: "auto|N"))
    var microbatches: MicrobatchChoice = .auto

    @Option(help: ArgumentHelp("Activation recomputation: none, norm-act, selective, elementwise, selective-op, mlp, all-but-qkv or full for every stage, or auto: each stage, the one stage of --stages 1 included, takes whichever of none, norm-act (for a model with experts), selective, elementwise, selective-op and full makes the plan fastest (with --emit, of those the framework runs: none, norm-act (not beside FP8's delayed scaling), selective and full in Megatron-LM, NeMo and Megatron-Bridge; none, selective-op and full in torchtitan).",
                               discussion: RecomputeMode.helpDiscussion, valueName: "mode"))
    var recompute: RecomputeChoice = .auto

    @Option(name: .customLong("recompute-blocks"), parsing: .unconditional,
            help: ArgumentHelp("With --recompute full, rerun only the first N transformer blocks of each stage (each model chunk) and keep the rest's activations (Megatron-LM's --recompute-method block --recompute-num-layers N; default: every block).",
                               valueName: "N"))
    var recomputeBlocks: Int?

    @Option(help: ArgumentHelp("ZeRO stage over the data-parallel devices (1 shards optimizer state, 2 also gradients, 3 also weights) for every stage, or auto: each stage takes whichever makes the plan fastest (with --emit nemo, of 0 and 1: NeMo 2.0 shards optimizer state only).",
                               valueName: "auto|0-3"))
    var zero: ZeroChoice = .auto

    @Option(name: .customLong("time-limit"), parsing: .unconditional, help: ArgumentHelp("Stop searching after this many seconds and answer with the best plan found so far (the output says so).",
                                                                valueName: "seconds"))
    var timeLimit: Double?

    @Option(name: .customLong("layers"), parsing: .unconditional, help: ArgumentHelp("Cut the graph between at most this many clustered layers (coarser is faster; default: every layer).",
                                                            valueName: "N"))
    var layerLimit: Int?

    @OptionGroup var precision: PrecisionChoice

    @OptionGroup var overlap: CommunicationOverlap

    @OptionGroup var kernelChoice: KernelChoice

    @Option(help: ArgumentHelp("Graph rewrites searched jointly with the sharding: none, safe (rewrites that merge or remove work) or all (also re-association, branch batching, layout moves and embedding-table merges); Docs/rewrites.md.",
                               valueName: "none|safe|all"))
    var rewrites: RewriteSelection = .safe

    @OptionGroup var printing: PlanOutput

    @Flag(help: "Search only: do not also price Megatron-LM's configurations (tp x pp x dp, microbatch size, interleaving, sequence parallelism) against the DP's plans.")
    var noMegatronGrid = false

    @Flag(help: "Print where the planner's time went, and the problem sizes, to standard error.")
    var timings = false

    /// The ZeRO stages the search tries: left to it, those the framework of --emit runs.
    var zeroStages: [Int] {
        zero == .auto ? zero.stages.filter { printing.emit?.runsZeroStage($0) ?? true } : zero.stages
    }

    /// `options` with the ZeRO stages the ILP may give a parameter of its own accord kept to `zeroStages`: none above
    /// the highest, and no ZeRO-1 where it is left out (torchtitan's FSDP has none; before, `--emit torchtitan` plans
    /// came back with ZeRO-1 on some parameters).
    func boundingZeroStages(_ options: TrainingOptions) -> TrainingOptions {
        var bounded = options
        bounded.maximumZeroStage = zeroStages.max()!
        bounded.searchesZeroOne = zeroStages.contains(1)
        return bounded
    }

    /// The degrees `--tp`, `--pp`, `--dp`, `--cp` and `--ep` pin.
    var pins: ParallelPins {
        ParallelPins(tensorParallel: tp, pipelineParallel: pp, dataParallel: dp, contextParallel: cp, expertParallel: ep)
    }

    /// How many of the stage DP's other plans `--emit` weighs beside the grid's configuration, each exported and priced.
    static let emittedRunnersUp = 4

    /// How many of the Megatron grid's configurations, fastest estimates first, `--emit` prices exactly and weighs
    /// where none of the search's plans gives settings that fit and run.
    static let emittedGridFallbacks = 16

    /// The recomputation modes a stage may take under `options`: left to the search, those the framework of --emit runs
    /// with them.
    func recomputeModes(under options: TrainingOptions) -> [RecomputeMode] {
        recompute == .auto ? recompute.modes.filter { printing.emit?.automaticRecomputeModes(under: options).contains($0) ?? true } : recompute.modes
    }

    func validate() throws {
        try precision.validate(with: kernelChoice)
        // The search runs the kernels of the framework of --emit where --fusion does not name them.
        try kernelChoice.validateLossUpcast(defaultFusion: printing.emit?.kernelFusion ?? .fused)
        try printing.refuseOverwriting(input.inputFiles)
        if let timeLimit, !(timeLimit > 0 && timeLimit.isFinite) { throw ValidationError("--time-limit takes a positive, finite number of seconds, not \(timeLimit).") }
        try RecomputeOption.validate(recomputeBlocks, fullRecomputation: recompute == .full)
        if let layerLimit, layerLimit < 1 { throw ValidationError("--layers takes a positive number of layers, not \(layerLimit).") }
        for (flag, degree) in [("--tp", tp), ("--pp", pp), ("--dp", dp), ("--cp", cp), ("--ep", ep)] {
            if let degree, degree < 1 { throw ValidationError("\(flag) takes a positive degree, not \(degree).") }
        }
        if let pp, let limit = stages.limit, pp > limit {
            throw ValidationError("--pp \(pp) needs \(pp) pipeline stages, and --stages \(limit) allows \(limit == 1 ? "one" : "at most \(limit)"); leave out --stages, or give --stages \(pp).")
        }
        // Every plan the search could find would be exported without its recomputation, none of them priced so.
        if recompute == .normAct, let emit = printing.emit, emit.runsMegatronCore,
           !emit.automaticRecomputeModes(under: precision.applied(to: TrainingOptions())).contains(.normAct) {
            throw ValidationError("--recompute norm-act: \(emit.displayName)'s TransformerEngine refuses to rerun the norms and the experts' activation beside FP8 with delayed scaling (the tensorwise recipe), so its settings would recompute nothing; give --fp8-recipe blockwise, --precision bf16, or another --recompute.")
        }
        if let (flag, says) = kernelChoice.zeroThreeFlags.first, !zeroStages.contains(3) {
            if zero == .auto, let emit = printing.emit {
                throw ValidationError("\(flag) says \(says), which \(emit.displayName) does not run; leave out \(flag), or give --zero 3.")
            }
            // --zero auto searches ZeRO-3 only where the framework of --emit runs it.
            let auto = printing.emit.map { $0.largestZeroStage >= 3 } ?? true ? " or auto" : ""
            throw ValidationError("\(flag) says \(says); leave it out with --zero \(zero.floor), or give --zero 3\(auto).")
        }
    }

    func run() throws {
        try reportingInputErrors {
            var clock = CommandClock(enabled: timings)
            try printing.checkDestinations()
            let (graph, cluster, rebatchedFrom) = try input.load(&clock)
            if let emit = printing.emit, let refusal = FrameworkExport.refusal(of: graph, in: emit) { throw refusal }
            let evidenceRuns = try printing.evidenceRuns()
            if evidenceRuns != nil { clock.lap("replay --evidence runs") }
            var stageLimit = stages.limit
            // A mesh over every device means one stage.
            if stageLimit == nil, let mesh, mesh.devices == cluster.deviceCount { stageLimit = 1 }
            let pins = try checkedPins(graph: graph, cluster: cluster, stageLimit: stageLimit)
            // One stage keeping pinned tp and dp searches their [dp, tp] view only.
            let shapes = mesh.map { [$0.sizes] }
                ?? (stageLimit == 1 ? pins.stageMeshShape.flatMap { $0.reduce(1, *) == cluster.deviceCount ? [$0] : nil } : nil)
            let fixed = microbatches.count
            var options = kernelChoice.applied(to: precision.applied(to: overlap.applied(to: TrainingOptions(recompute: recompute.baseMode, zeroStage: zero.floor))))
            options = boundingZeroStages(options)
            options.recomputedBlocks = recomputeBlocks
            // The exchange that runs the model's attention where none is named: TransformerEngine runs attention sinks only
            // under its all-to-all, and its ring refuses sliding windows.
            options.contextParallelCommunication = kernelChoice.contextParallelCommunication ?? .standard(for: graph)
            // The framework's own gradient buffer, weights, kernels and gathers (torchtitan's FSDP2 copy-out), where not named.
            let plainOptions = options
            if let emit = printing.emit {
                options = emit.searchedOptions(options, gradientBufferGiven: kernelChoice.gradientPrecision != nil,
                                               optimizerStateGiven: kernelChoice.optimizerState != nil, fusionGiven: kernelChoice.fusion != nil,
                                               exchangeGiven: kernelChoice.contextParallelCommunication != nil)
            }
            try PrecisionChoice.check(options, on: cluster.device)
            try RecomputeOption.check(options, for: graph)
            // Said before the search, which may be long: named options that the graph has nothing for, whatever the plan.
            let inapplicable = IneffectiveOption.inapplicable(to: graph, options: options).filter { kernelChoice.gives($0.setting) }
            for option in inapplicable { printError("note: \(option.flag) changes nothing: \(option.reason).") }
            var variants = StageSearchOracle.Variants(zeroStages: zeroStages, recomputeModes: recomputeModes(under: options))
            // Settings for a Megatron-Core framework are the grid's configuration wherever the searched plan's nearest
            // layout does not run as priced: where no exchange is named, the grid tries each of TransformerEngine's for
            // its context-parallel configurations. (Without --emit the stage DP's answer keeps the options' exchange, and
            // trying them all took Llama 3 8B at 128K on 128 H100s from 10.5 s to 14.0 s with the same answer;
            // torchtitan runs PyTorch's ring under either rotation, both of which its grid tries.)
            if kernelChoice.contextParallelCommunication == nil, let emit = printing.emit {
                variants.contextParallelCommunications = emit.runsMegatronCore ? [.ring, .allGather, .allToAll] : [.pytorchRing, .pytorchRingAllToAll]
            }
            // So too the overlap of the experts' all-to-alls with another microbatch's compute, which only Megatron-Core runs.
            variants.triesExpertParallelOverlap = printing.emit?.runsMegatronCore == true
            // torchtitan's DeepEP runs whole experts only.
            variants.deduplicatesOnlyWholeExperts = printing.emit == .torchtitan
            // What the header says of this search, against the one `plan` alone runs.
            let searchNote = printing.emit?.searchNote(options: options, plain: plainOptions, variants: variants.searched(in: graph),
                                                       plainVariants: StageSearchOracle.Variants(zeroStages: zero.stages, recomputeModes: recompute.modes).searched(in: graph),
                                                       graph: graph)
            var plan: TrainingPlan, prediction: PlanPrediction
            var alternatives: [FrameworkExport.Alternative] = []
            // Where neither the searched plan nor `alternatives` gives settings that fit and run: the whole grid's fitting
            // configurations, priced without the time limit (which may have cut the grid short).
            var moreAlternatives: (() -> [FrameworkExport.Alternative])?
            let progressLine = ProgressLine.onTerminal(for: "planning " + VisibleText.escape("\(graph.name) on \(input.cluster)"))
            progressLine?.startTicking()
            defer { progressLine?.finish() }
            if stageLimit == 1 {
                let planner = SingleStagePlanner(graph: graph, cluster: cluster, clusterName: input.cluster, options: options, meshShapes: shapes,
                                                 timeLimit: timeLimit, recomputeModes: variants.recomputeModes)
                let found = try planner.plan(rewriting: RewriteSearch(rules: rewrites.rules), microbatches: fixed) { progressLine?.update($0) }
                progressLine?.finish()
                (plan, prediction) = (found.plan, found.prediction)
                if let breach = pins.breach(of: plan) {
                    throw InputError(.invalidValue, at: JSONPath([.key(String(breach.prefix { $0 != " " }))]),
                                     "the one-stage search's plan breaks \(breach); its ops shard one by one, so leave out --stages 1 for the Megatron-LM configurations that keep the pin")
                }
                clock.lap("search")
                if found.stoppedEarly { reportTimeLimit() }
                if timings {
                    reportSingleStage(found.attempts)
                    reportRewrites(found.rewrites)
                }
            } else {
                let planner = PipelinePlanner(graph: graph, cluster: cluster, clusterName: input.cluster, options: options,
                                              maximumLayerCount: layerLimit, maximumStageCount: stageLimit, meshShape: shapes?.first,
                                              includesMegatronGrid: !noMegatronGrid, variants: variants, timeLimit: timeLimit, pins: pins)
                let found = try planner.plan(rewriting: RewriteSearch(rules: rewrites.rules), microbatches: fixed) { progressLine?.update($0) }
                progressLine?.finish()
                (plan, prediction) = (found.plan, found.prediction)
                // What --emit may write instead: the DP's plans as found (before rewrites), then the grid's fastest configuration.
                alternatives = found.others.prefix(Self.emittedRunnersUp).map { .runnerUp($0.plan, prediction: $0.prediction) }
                    + (found.gridPlan.map { [.grid($0.plan, prediction: $0.prediction)] } ?? [])
                if !noMegatronGrid && printing.emit != nil {
                    // `plan` has checked the planner's settings, which are all `fittingGridPlans` refuses.
                    moreAlternatives = {
                        ((try? planner.fittingGridPlans(count: Self.emittedGridFallbacks, microbatches: fixed)) ?? [])
                            .map { .grid($0.plan, prediction: $0.prediction) }
                    }
                }
                clock.lap("search")
                if found.stoppedEarly { reportTimeLimit() }
                reportPinnedSearch(pins, found.dynamicProgramLeftOut, found.pinnedOutPlans, foundByGrid: found.grid?.chosen == true)
                if timings {
                    for attempt in found.attempts {
                        let shape = "\(attempt.stageCount ?? 0) stages" + ((attempt.virtualStages ?? 1) > 1 ? " x \(attempt.virtualStages!) chunks" : "")
                        let outcome = attempt.iterationSeconds.map { String(format: "%@, predicted %.4f s%@", shape as NSString, $0, attempt.fitsInMemory ? "" : " (does not fit)") } ?? (attempt.cutShort ? "stopped at the time limit before a partition was found" : "no partition fits")
                        printError(String(format: "timing: %d microbatches%@: %@, %d stage DPs, %d stage questions, %.3f s",
                                          attempt.microbatches, attempt.layoutsSolvedAgain ? " again, stage layouts solved at this count" : "",
                                          outcome as NSString, attempt.programs, attempt.oracleSolves, attempt.seconds))
                    }
                    if let provenance = found.plan.provenance {
                        printError(String(format: "timing: %@, search %.3f s", provenance.description as NSString, provenance.searchSeconds))
                    }
                    if let grid = found.grid {
                        let searched = found.plan.provenance?.stageDynamicProgramSeconds
                        let best = grid.best.map { best in
                            String(format: "fastest %@ at %.4f s%@", best.summary as NSString, best.iterationSeconds,
                                   grid.chosen ? ", chosen"
                                       : searched.map { SearchProvenance.asFast(best.iterationSeconds, as: $0) } == true ? ", as fast as the search's plan"
                                       : ", slower than the search")
                        } ?? "none fits"
                        printError(String(format: "timing: Megatron grid: %d configurations, %d fit, %@, %.3f s",
                                          grid.configurations, grid.fitting, best as NSString, grid.seconds))
                    }
                    reportRewrites(found.rewrites)
                }
            }
            plan.rebatchedFrom = rebatchedFrom
            plan.memoryLimitBytes = input.memoryLimitBytes
            let written = try printing.write(plan, prediction: prediction, alternatives: alternatives, moreAlternatives: moreAlternatives,
                                             requiresFit: true, searchNote: searchNote, evidenceRuns: evidenceRuns, pins: pins)
            clock.lap("write output")
            // Of the plan written: with --emit, maybe another than the search's.
            for option in written.ineffectiveOptions(exchangeNamed: kernelChoice.contextParallelCommunication != nil)
            where (kernelChoice.gives(option.setting) || overlap.gives(option.setting)) && !inapplicable.contains(where: { $0.setting == option.setting }) {
                printError("note: \(option.flag) changes nothing: \(option.reason).")
            }
            if let note = VocabularyPadding.searchNote(graph: graph, cluster: cluster) { printError("note: \(note)") }
            if let asked = kernelChoice.contextParallelCommunication, let substitution = MegatronGrid.exchangeSubstitution(asked: asked, in: written) {
                printError("note: \(substitution).")
            }
        }
    }

    /// The pins as given, less `--ep` on a graph without experts and `--cp` on one without attention, each of which
    /// changes nothing (a note says so, as for other such options); pins the cluster or graph cannot lay out are an
    /// `InputError` naming the pin (`ParallelPins.check`), as is `--pp` beside a `--mesh` over every device.
    private func checkedPins(graph: Graph, cluster: Cluster, stageLimit: Int?) throws -> ParallelPins {
        var pins = self.pins
        if pins.expertParallel != nil && !ParallelPins.hasExperts(graph) {
            printError("note: --ep changes nothing: \(VisibleText.escape(graph.name)) has no experts.")
            pins.expertParallel = nil
        }
        if pins.contextParallel != nil && AttentionHeads.all(in: graph).isEmpty {
            printError("note: --cp changes nothing: \(VisibleText.escape(graph.name)) has no attention.")
            pins.contextParallel = nil
        }
        if let pp = pins.pipelineParallel, pp > 1, stageLimit == 1, let mesh {
            throw InputError(.invalidValue, at: JSONPath([.key("--pp")]),
                             "--pp \(pp): --mesh \(mesh.sizes.map(String.init).joined(separator: "x")) spans all \(cluster.deviceCount) devices, which makes one stage")
        }
        try pins.check(graph: graph, cluster: cluster, clusterName: input.cluster)
        return pins
    }

    /// Says how the pins shaped the search: where they left the stage DP out, or set some of its partitions aside.
    private func reportPinnedSearch(_ pins: ParallelPins, _ leftOut: Bool, _ pinnedOut: Int, foundByGrid: Bool) {
        if leftOut {
            printError("note: the stage DP has no program keeping \(pins.flags) (no pipeline of that depth, or no submesh with their [dp, tp] view), so it was left out; the answer is Megatron-LM's configuration.")
        } else if pinnedOut > 0 {
            printError("note: \(pinnedOut) of the stage DP's partitions broke \(pins.flags) as their op shardings read (Docs/pipeline-search.md, \"Pinned degrees\") and were set aside\(foundByGrid ? "; the answer is Megatron-LM's configuration" : "").")
        }
    }

    private func reportTimeLimit() {
        printError("shardplan: stopped at the time limit of \(timeLimit ?? 0) s; the plan is the best found so far")
    }

    private func reportRewrites(_ report: RewriteSearchReport) {
        guard rewrites != .none else { return }
        let outcome = report.rewritesApplied == 0 ? "none kept"
            : String(format: "%d kept, %.4f s -> %.4f s", report.rewritesApplied, report.baseSeconds, report.seconds)
                + (report.rewrittenFromSeconds.map { String(format: " (rewriting another plan of %.4f s as given)", $0) } ?? "")
        printError(String(format: "timing: rewrites (%@): %d candidates priced%@, %@, %.3f s%@",
                          rewrites.rawValue, report.candidatesPriced,
                          (report.plansRefined > 1 ? " from \(report.plansRefined) plans" : "") as NSString,
                          outcome as NSString, report.searchSeconds,
                          report.stoppedEarly ? ", stopped at the time limit" : ""))
    }

    private func reportSingleStage(_ attempts: [SingleStagePlanner.Attempt]) {
        for attempt in attempts {
            var line = "mesh \(attempt.meshShape.map(String.init).joined(separator: "x")), recompute \(attempt.recompute.rawValue), \(attempt.microbatches) microbatches: "
            if let result = attempt.result {
                let method = result.solution.method == .integerProgram
                    ? String(format: "ILP %d variables, %d constraints", result.solution.variableCount, result.solution.constraintCount)
                    : result.solution.method.rawValue
                line += String(format: "%d nodes, %d edges (unshrunk %d variables, %d constraints), %@, build %.3f s, solve %.3f s, predicted %.4f s",
                               result.nodeCount, result.edgeCount, result.unshrunkVariables, result.unshrunkConstraints,
                               method as NSString, result.buildSeconds, result.solveSeconds, attempt.iterationSeconds ?? 0)
                if !result.solution.isProvenOptimal { line += " (time limit: best found)" }
            } else {
                line += "does not fit"
            }
            printError("timing: " + line)
        }
    }
}
