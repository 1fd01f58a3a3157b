/// A plan written as a training framework's launch settings (`plan --emit` and `score --emit`).
///
/// The plan is first read back as a uniform layout (`LayoutRecognition`), then brought within what the
/// framework runs (`TrainingFramework.expressible`). When either step changes anything, the settings run
/// the nearest layout instead of the plan: the header lists every change and the nearest layout's own
/// prediction from the same cost model next to the plan's.
public struct FrameworkExport: Sendable {
    public var framework: TrainingFramework
    /// The layout the settings run.
    public var layout: ParallelLayout
    /// Where those settings depart from the plan, a sentence each; empty when they run the plan itself.
    public var differences: [String]
    /// Why the framework cannot run `layout` as written (`TrainingFramework.unrunnable`); empty when it can.
    public var unrunnable: [String]
    /// The plan the settings run: `layout`'s, or the plan itself when nothing differs.
    public var settingsPlan: TrainingPlan
    /// The prediction for `layout`: the plan's own when nothing differs.
    public var prediction: PlanPrediction
    /// The plan's prediction.
    public var planPrediction: PlanPrediction
    /// The settings, with a comment block saying what they run and what they are predicted to cost.
    public var text: String

    /// `searchNote`, when given, is the header's sentence on how `plan --emit` searched (`TrainingFramework.searchNote`).
    public init(plan: TrainingPlan, prediction: PlanPrediction, framework: TrainingFramework, searchNote: String? = nil) throws(InputError) {
        try self.init(recognition: LayoutRecognition(plan), of: plan, prediction: prediction, framework: framework, searchNote: searchNote)
    }

    /// A plan `choosing` may write instead of the searched one, with the words the header names it by; made by `grid`
    /// or `runnerUp`.
    public struct Alternative: Sendable {
        public var plan: TrainingPlan
        public var prediction: PlanPrediction
        /// What the plan is, after "these settings run instead".
        public var name: String

        /// The Megatron-LM grid's fastest configuration that fits: a layout the framework runs as it is or nearly.
        public static func grid(_ plan: TrainingPlan, prediction: PlanPrediction) -> Alternative {
            Alternative(plan: plan, prediction: prediction, name: "the fastest Megatron-style grid configuration (tp, pp, dp) the search priced")
        }

        /// Another of the stage DP's plans, close behind the searched one (`PipelinePlanner.Result.runnersUp`).
        public static func runnerUp(_ plan: TrainingPlan, prediction: PlanPrediction) -> Alternative {
            Alternative(plan: plan, prediction: prediction, name: "another plan the search found")
        }
    }

    /// The settings for the searched `plan`, or for the fastest of `alternatives` whose settings fit and run where
    /// no framework layout expresses the plan, or its nearest layout in the framework does not fit, cannot run
    /// (`unrunnable`) or is slower: the header
    /// then says so, and `plan`/`planPrediction` are the alternative's. An alternative the framework would run only
    /// as a layout that does not fit or that it refuses is never chosen. Where none of them fits and runs, those of
    /// `moreAlternatives` are weighed (asked for only then: `plan --emit` prices the whole Megatron grid for them,
    /// `PipelinePlanner.fittingGridPlans`), and where `requiresFit` and none of those does either, there are no
    /// settings: an `InputError` at `--emit` says why, rather than settings that do not fit or run. Without
    /// `requiresFit` (`score --emit`, which writes the plan it is given), such settings are written with a warning.
    /// `searchNote` goes into every header. Settings whose layout breaks one of `pins` (`plan --tp/--pp/...`, read
    /// as `ParallelPins.breach` reads a plan) are passed over as those that do not fit are: where the searched plan's
    /// nearest layout breaks a pin, the fastest alternative that keeps them is written, and where none does (with
    /// `requiresFit`) the `InputError` names the pins.
    public static func choosing(_ plan: TrainingPlan, prediction: PlanPrediction, alternatives: [Alternative],
                                moreAlternatives: (() -> [Alternative])? = nil, requiresFit: Bool = false,
                                framework: TrainingFramework, searchNote: String? = nil,
                                pins: ParallelPins = ParallelPins()) throws(InputError) -> (export: FrameworkExport, plan: TrainingPlan) {
        let attempt: Result<FrameworkExport, InputError>
        do {
            attempt = .success(try FrameworkExport(plan: plan, prediction: prediction, framework: framework, searchNote: searchNote))
        } catch {
            // A plan no framework layout expresses (more pipeline chunks than the model has repeated layers, say), or a
            // rewritten plan whose nearest layout the graph as given does not take (`graphBeforeRewrites`): the
            // alternatives, the search's answer before the rewrites among them, stand in for it.
            guard !alternatives.isEmpty || moreAlternatives != nil else { throw error }
            attempt = .failure(error)
        }
        let searched = try? attempt.get()
        let searchedBreach = searched.flatMap { pins.breach(of: $0.settingsPlan) }
        let runsAsFound = searched.map { $0.differences.isEmpty && $0.unrunnable.isEmpty && $0.prediction.fitsInMemory } ?? false
        if let searched, runsAsFound && searchedBreach == nil || alternatives.isEmpty && moreAlternatives == nil && !requiresFit {
            return (searched, plan)
        }
        let outcome = searched.map { searched in
            if !searched.unrunnable.isEmpty { return "only as settings it refuses" }
            if let searchedBreach { return "only as a layout that breaks \(searchedBreach)" }
            return searched.prediction.fitsInMemory
                ? "at \(PlanPrediction.seconds(searched.prediction.iterationSeconds)) an iteration"
                : "only as a layout that does not fit (\(PlanPrediction.bytes(searched.prediction.peakMemoryBytesPerDevice)) a device)"
        } ?? {
            guard plan.graphBeforeRewrites == nil, case .failure(let error) = attempt else {
                return "in no layout: its model, without the plan's graph rewrites, does not take the plan's"
            }
            return "in no layout (\(error.message))"
        }()
        var chosen: (export: FrameworkExport, plan: TrainingPlan)?
        if let searched, searched.unrunnable.isEmpty && searched.prediction.fitsInMemory && searchedBreach == nil { chosen = (searched, plan) }
        // Whether every plan passed over was passed over for memory alone: then more memory is what would help.
        var refusedForMemoryOnly = (searched.map { $0.unrunnable.isEmpty } ?? false) && searchedBreach == nil
        func weigh(_ candidates: [Alternative]) {
            for alternative in candidates {
                let note = "The searched plan (\(PlanPrediction.seconds(prediction.iterationSeconds)) an iteration) runs in \(framework.displayName) "
                    + "\(outcome); these settings run instead \(alternative.name) "
                    + "(\(PlanPrediction.seconds(alternative.prediction.iterationSeconds)) an iteration)."
                // An alternative whose layout is not one a framework reads is passed over, as one that does not fit is.
                guard let recognition = try? LayoutRecognition(alternative.plan),
                      let other = try? FrameworkExport(recognition: recognition, of: alternative.plan, prediction: alternative.prediction,
                                                       framework: framework, note: note, searchNote: searchNote),
                      other.unrunnable.isEmpty, pins.breach(of: other.settingsPlan) == nil else {
                    refusedForMemoryOnly = false
                    continue
                }
                guard other.prediction.fitsInMemory,
                      other.prediction.iterationSeconds < chosen?.export.prediction.iterationSeconds ?? .infinity else { continue }
                chosen = (other, alternative.plan)
            }
        }
        weigh(alternatives)
        if chosen == nil, let moreAlternatives { weigh(moreAlternatives()) }
        // Without a chosen alternative, the searched plan's settings, or why there are none.
        if let chosen { return chosen }
        if requiresFit {
            throw InputError(.invalidValue, at: JSONPath([.key("--emit")]),
                             "no \(framework.displayName) settings\(pins.isEmpty ? "" : " keeping \(pins.flags)") fit and run: the searched plan "
                             + "(\(PlanPrediction.seconds(prediction.iterationSeconds)) an iteration) runs in \(framework.displayName) \(outcome), and "
                             + "neither the search's other plans nor any Megatron grid configuration priced \(pins.isEmpty ? "" : "that keeps the pins ")"
                             + "fits and runs in it\(searched.flatMap(Self.shortfall).map { " (the searched plan's settings: \($0))" } ?? ""); "
                             + Self.advice(graph: plan.graphBeforeRewrites ?? plan.graph, cluster: plan.cluster, framework: framework,
                                           refusedForMemoryOnly: refusedForMemoryOnly)
                             + "\(pins.isEmpty ? "" : ", or other pins"), or leave out --emit for the plan itself")
        }
        switch attempt {
        case .success(let export): return (export, plan)
        case .failure(let error): throw error
        }
    }

    /// What would give `framework` settings for `graph` on `cluster` where none fit and run, after "; ": where no
    /// layout splits the global batch over its data-parallel ranks (`MegatronGrid.batchObstacle`), that, with a batch
    /// or a device count that would split it; where every plan was passed over for memory alone
    /// (`refusedForMemoryOnly`), more devices, recomputation or ZeRO; else the framework's limits, which other degrees
    /// may meet.
    static func advice(graph: Graph, cluster: Cluster, framework: TrainingFramework, refusedForMemoryOnly: Bool) -> String {
        if let obstacle = MegatronGrid.batchObstacle(of: graph, on: cluster) {
            let batch = graph.batchSize ?? 1
            return "the global batch of \(batch) sample\(batch == 1 ? "" : "s") splits over no layout's data-parallel ranks: every "
                + "tp x pp x cp x dp layout of the \(cluster.deviceCount) devices (tp splitting whole heads, pp whole blocks) has at least "
                + "\(obstacle.leastDataParallel) data-parallel ranks, and a framework gives each the same whole samples; "
                + "try a larger --batch (a multiple of \(obstacle.leastDataParallel))"
                + (obstacle.fewerDevices.map { " or fewer devices (\($0) split the batch: a cluster file of that many)" } ?? "")
        }
        if refusedForMemoryOnly { return "none fits in memory: try more devices, recomputation (--recompute) or ZeRO (--zero)" }
        return "\(framework.displayName) refuses the layouts that would fit; try another device count or --batch, "
            + "whose degrees it may run"
    }

    /// What keeps `export` from running: its first refusal, or its worst rank's memory shortfall; nil where it fits and runs.
    static func shortfall(_ export: FrameworkExport) -> String? {
        if let refusal = export.unrunnable.first { return refusal }
        guard !export.prediction.fitsInMemory, let worst = export.prediction.ranks.max(by: { $0.peakMemoryBytes < $1.peakMemoryBytes }) else { return nil }
        return export.prediction.memoryShortfall(worst)
    }

    /// Why `framework` has no settings for `graph`, if it has none: every framework here trains language models on
    /// token sequences, and a graph that takes no token ids (a CNN's images, an MLP's features) has no settings in
    /// them that would build it, whatever the degrees; and the settings ShardPlan writes build causal decoders, so a
    /// graph whose attention is bidirectional (an encoder, such as BERT) has none either. `plan --emit` asks before it
    /// searches.
    public static func refusal(of graph: Graph, in framework: TrainingFramework) -> InputError? {
        guard ParallelLayout.sequenceLength(of: graph) != nil else {
            return InputError(.invalidValue, at: JSONPath([.key("--emit")]),
                              "\(framework.displayName) trains language models on token sequences, and this graph takes no token ids "
                              + "(an integer input of batch x sequence): no \(framework.displayName) settings build it")
        }
        guard graph.operations.contains(where: { if case .attention(causal: false, _, _) = $0.op { true } else { false } }) else { return nil }
        return InputError(.invalidValue, at: JSONPath([.key("--emit")]),
                          "this graph's attention is bidirectional (an encoder, such as BERT), and ShardPlan's \(framework.displayName) settings "
                          + "build a causal decoder (\(framework.decoderRecipe)): no \(framework.displayName) settings ShardPlan writes build it")
    }

    /// The settings for `plan`, already recognised (one recognition serves every framework); `searchNote` and `note`,
    /// when given, are sentences for the header's second line, in that order.
    public init(recognition: LayoutRecognition, of plan: TrainingPlan, prediction: PlanPrediction,
                framework: TrainingFramework, note: String? = nil, searchNote: String? = nil) throws(InputError) {
        if let refusal = Self.refusal(of: plan.graph, in: framework) { throw refusal }
        self.framework = framework
        planPrediction = prediction
        // A framework builds the model's own modules: the plan's graph rewrites are not in its settings, which are laid
        // out and priced on the graph before them.
        let graph = plan.graphBeforeRewrites ?? plan.graph
        func runnable(_ configuration: MegatronConfiguration) -> (configuration: MegatronConfiguration, changes: [String]) {
            framework.expressible(configuration, chunkLayers: recognition.layout.chunkLayers, blockStructures: recognition.layout.blockStructures,
                                  microbatches: plan.microbatches, hasExperts: recognition.layout.hasExperts,
                                  rerunsUnderNormActivation: StageCostModel.rerunsUnderNormActivation(graph))
        }
        var (configuration, changes) = runnable(recognition.layout.configuration)
        // A tensor-parallel degree that splits heads gives way first, so that the framework's rules apply to the layout
        // that runs instead, with its data parallelism (torchtitan's FSDP beside tensor parallelism, Megatron-Core's
        // gradient buffer); where that layout lays out, it is the nearest layout itself.
        var wholeHeadLayout: (layout: ParallelLayout, plan: TrainingPlan)?
        if let whole = Self.wholeHeads(recognition.layout.configuration, heads: recognition.layout.attentionHeads, framework: framework) {
            let nearest = runnable(whole.configuration)
            if let laid = try? ParallelLayout.megatron(nearest.configuration, graph: graph, cluster: plan.cluster, clusterName: plan.clusterName) {
                (configuration, changes) = (nearest.configuration, [whole.change] + nearest.changes)
                wholeHeadLayout = laid
            }
        }
        if plan.graphBeforeRewrites != nil {
            changes.append("\(framework.displayName) builds the model as its graph was given: the plan's graph rewrites (\(plan.rewriteCounts)) "
                           + "are not in these settings, which are priced without them")
        }
        var nearest = (layout: recognition.layout, plan: recognition.plan)
        if let wholeHeadLayout {
            nearest = wholeHeadLayout
        } else if !changes.isEmpty {
            nearest = try ParallelLayout.megatron(configuration, graph: graph, cluster: plan.cluster, clusterName: plan.clusterName)
        }
        layout = nearest.layout
        differences = recognition.differences + changes
        settingsPlan = differences.isEmpty ? plan : nearest.plan
        self.prediction = differences.isEmpty ? prediction : PlanEvaluator(cluster: plan.cluster).evaluate(nearest.plan)

        var header = ["ShardPlan: \(framework.displayName) settings for \(plan.graph.name) on \(plan.clusterTitle), "
                      + "\(layout.worldSize) of \(plan.cluster.deviceCount) devices: "
                      + layout.configuration.summary(dataParallel: layout.dataParallel, noSync: nearest.plan.accumulatesUnshardedGradients)]
        if let searchNote { header.append(searchNote) }
        if let note { header.append(note) }
        unrunnable = framework.unrunnable(layout)
        // After a note naming another plan, "it" is that plan.
        let (subject, possessive) = note == nil ? ("the plan", "the plan's") : ("it", "its")
        if differences.isEmpty {
            header.append(unrunnable.isEmpty ? "They run \(subject) as it is; predicted: \(Self.costLine(prediction))."
                                             : "They describe \(subject) as it is (predicted: \(Self.costLine(prediction))), but cannot run it.")
        } else {
            header.append("\(note == nil ? "The plan is" : "It is") not a layout \(framework.displayName) runs; these settings "
                          + (unrunnable.isEmpty ? "run the nearest one, which differs so:"
                                                : "describe the nearest one, which differs so (\(framework.displayName) cannot run it either: see the warning below):"))
            header += differences.map { "  - \($0)" }
            let change = PlanPrediction.percent(self.prediction.iterationSeconds / prediction.iterationSeconds - 1)
            header.append("Predicted for these settings: \(Self.costLine(self.prediction)); "
                          + "\(PlanPrediction.seconds(self.prediction.iterationSeconds)) is \(change.hasPrefix("-") ? "" : "+")\(change) "
                          + "against \(possessive) \(PlanPrediction.seconds(prediction.iterationSeconds)).")
        }
        if !self.prediction.fitsInMemory, let worst = self.prediction.ranks.max(by: { $0.peakMemoryBytes < $1.peakMemoryBytes }) {
            header.append("Warning: \(self.prediction.memoryShortfall(worst)).")
        }
        if framework == .megatronBridge, let adapters = layout.bridgeAdapters {
            header.append("The graph's LoRA adapters (rank \(adapters.rank)) are Megatron-Bridge's \(adapters.className) on \(adapters.targetModules.joined(separator: ", ")) "
                          + "(cfg.peft below), which freezes every other weight, as the prediction does.")
        } else if let frozen = Self.frozenParameterNote(plan.graphBeforeRewrites ?? plan.graph, framework: framework) {
            header.append(frozen)
        }
        header += unrunnable.map { "Warning: \($0)." }
        text = framework.render(layout, header: header)
    }

    /// `configuration` with the largest tensor-parallel degree below its own that splits attention by whole heads
    /// (`AttentionHeads.divide(over:)`) and the rest of its devices data-parallel, and the sentence that says so;
    /// nil where its own degree splits them whole (or none does, which cannot be: one rank takes every head).
    static func wholeHeads(_ configuration: MegatronConfiguration, heads: [AttentionHeads], framework: TrainingFramework)
        -> (configuration: MegatronConfiguration, change: String)? {
        let tp = configuration.tensorParallel
        guard let counts = AttentionHeads.undivided(heads, over: tp),
              let whole = stride(from: tp - 1, through: 1, by: -1).first(where: { degree in tp % degree == 0 && heads.allSatisfy { $0.divide(over: degree) } })
        else { return nil }
        var nearest = configuration
        nearest.tensorParallel = whole
        nearest.dataParallel = (configuration.dataParallel ?? 1) * tp / whole
        nearest.sequenceParallel = configuration.sequenceParallel && whole > 1
        // The replicas' share of the batch shrinks as they multiply: the same microbatches, each smaller, where it divides.
        if configuration.microBatchSize % (tp / whole) == 0 { nearest.microBatchSize = configuration.microBatchSize / (tp / whole) }
        return (nearest, "\(framework.displayName) splits attention by whole heads over the tensor-parallel ranks, and tp = \(tp) does not divide "
                    + "the model's \(counts): tp = \(whole) is the largest that does, with "
                    + "\(nearest.dataParallel!)-way data parallelism over the same devices")
    }

    /// What the settings leave to the model's code where the graph freezes parameters: the prediction counts no
    /// gradient or optimizer state for them, which holds where the model freezes them itself (`requires_grad_(False)`:
    /// Megatron-Core's gradient buffer and distributed optimizer, and PyTorch's FSDP2 and AdamW, then skip them); nil
    /// where nothing is frozen. `graph` is the model as given (the graph before the plan's rewrites), whose tensors the
    /// user's code holds.
    /// A LoRA fine-tune's adapters (`LowRankAdapter`) are named with their rank, since the settings build none.
    static func frozenParameterNote(_ graph: Graph, framework: TrainingFramework) -> String? {
        let frozen = graph.frozenParameters
        guard !frozen.isEmpty else { return nil }
        let elements = Double(graph.elementCount(of: frozen))
        let freezing = "The graph freezes \(UnitFormat.count(elements)) parameters in \(frozen.count) tensor\(frozen.count == 1 ? "" : "s"), "
            + "priced without gradients or optimizer state: freeze them in the model's code (requires_grad_(False)), "
            + "which \(framework.displayName) then leaves out of its gradient buffers and optimizer; these settings name none."
        let adapters = graph.parameters.filter { LowRankAdapter(parameterName: graph[$0].name) != nil && !graph[$0].isFrozen }
        let ranks = Set(adapters.compactMap { LowRankAdapter.rank(ofParameter: graph[$0].name, shape: graph[$0].type.shape) })
        guard let low = ranks.min(), let high = ranks.max() else { return freezing }
        let rank = low == high ? "rank \(low)" : "ranks \(low) to \(high)"
        return "The graph is a LoRA fine-tune: it trains \(adapters.count) adapter tensors (A and B) of \(rank) "
            + "(\(UnitFormat.count(Double(graph.elementCount(of: adapters)))) parameters) beside its linear layers, to start from pretrained weights. "
            + "These settings build no adapters: add them in the model's code (PEFT's LoraConfig with r=\(high), or your own), "
            + "and load the pretrained checkpoint. " + freezing
    }

    /// "30.2 s per iteration, MFU 45.1%, peak memory 71.2 GB of 80.0 GB per device".
    static func costLine(_ prediction: PlanPrediction) -> String {
        "\(PlanPrediction.seconds(prediction.iterationSeconds)) per iteration, MFU \(PlanPrediction.percent(prediction.modelFLOPsUtilization)), "
            + "peak memory \(PlanPrediction.bytes(prediction.peakMemoryBytesPerDevice)) of \(PlanPrediction.bytes(prediction.deviceMemoryBytes)) per device"
    }
}
