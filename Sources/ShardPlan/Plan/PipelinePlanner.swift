import Foundation

/// `shardplan plan`: the full search. The graph's layers (`LayerClustering`, every layer by default) are cut
/// into pipeline stages on submeshes by the stage DP (`StageDynamicProgram`), each stage's layout, ZeRO stage
/// and recomputation chosen by `StageSearchOracle`, for each microbatch count tried, under 1F1B with stages of
/// any size and under interleaved 1F1B with equal ranks of 2 or more chunks each (where the microbatches fill
/// whole rounds of the ranks, as Megatron-LM requires); the plan with the least predicted iteration time
/// (`PlanEvaluator`, point-to-point transfers included) wins. Megatron-LM's
/// configurations (`MegatronGrid`) are priced too, as a check: the plan says which search found it and by how
/// much the other trailed.
public struct PipelinePlanner: Sendable {
    public var graph: Graph
    public var cluster: Cluster
    public var clusterName: String
    /// The training stack every plan is priced under. Its recomputation does not narrow the search: each stage takes
    /// one of `variants.recomputeModes`, which replaces `options.recompute` there. Its ZeRO stages bound it:
    /// `options.zeroStage` is a floor under every parameter's stage, and `options.maximumZeroStage` caps the stage the
    /// ILP gives a parameter of its own accord (the rule `SingleStagePlanner` follows too).
    public var options: TrainingOptions
    public var search: IntraOperatorSearch
    /// The most clustered layers the DP cuts between, or nil for every layer of the graph (the default).
    public var maximumLayerCount: Int?
    /// The most pipeline stages; nil for no limit.
    public var maximumStageCount: Int?
    /// The logical mesh shape every stage must take, or nil to search them.
    public var meshShape: [Int]?
    /// Whether Megatron-LM's configurations within the same limits are priced too, and win when faster.
    public var includesMegatronGrid: Bool
    public var megatronGrid: MegatronGrid
    /// The ZeRO stages and recomputation modes each stage may take: `.automatic` by default, as `plan` searches them
    /// (`--recompute auto --zero auto`). The recomputation modes win over `options.recompute`, which they replace; each
    /// ZeRO stage is a floor over the whole stage, itself raised to `options.zeroStage`. `plan --recompute M --zero N`
    /// is `recomputeModes: [M]`, `zeroStages: [N]`, with `options.zeroStage` and `options.maximumZeroStage` both N.
    /// `plan` refuses variants with none of either, or with a ZeRO stage outside 0 to 3.
    public var variants: StageSearchOracle.Variants
    /// The most model chunks per pipeline rank the interleaved schedule may take (1: 1F1B only).
    public var maximumVirtualStages: Int
    /// Seconds after which the search stops and answers with the best plan found so far, or nil; `plan` refuses one
    /// that is not positive and finite.
    public var timeLimit: Double?
    /// Degrees every plan must have (`ParallelPins`): the grid makes only configurations that keep them, the stage DP
    /// solves only programs of `pins.pipelineParallel` ranks and, where tp and dp are pinned, searches the `[dp, tp]`
    /// view only (`stageMeshShape`), where tp alone is, the views whose inner axis is tp (`ParallelPins.admitsView`),
    /// and a partition of its that breaks a pin anyway is set aside unpriced (`Result.pinnedOutPlans`).
    public var pins: ParallelPins

    public init(graph: Graph, cluster: Cluster, clusterName: String, options: TrainingOptions = TrainingOptions(),
                search: IntraOperatorSearch = IntraOperatorSearch(), maximumLayerCount: Int? = nil,
                maximumStageCount: Int? = nil, meshShape: [Int]? = nil, includesMegatronGrid: Bool = true,
                megatronGrid: MegatronGrid = MegatronGrid(), variants: StageSearchOracle.Variants = .automatic,
                maximumVirtualStages: Int = 8, timeLimit: Double? = nil, pins: ParallelPins = ParallelPins()) {
        self.graph = graph
        self.cluster = cluster
        self.clusterName = clusterName
        self.options = options
        self.search = search
        self.maximumLayerCount = maximumLayerCount
        self.maximumStageCount = maximumStageCount
        self.meshShape = meshShape
        self.includesMegatronGrid = includesMegatronGrid
        self.megatronGrid = megatronGrid
        self.variants = variants
        self.maximumVirtualStages = maximumVirtualStages
        self.timeLimit = timeLimit
        self.pins = pins
    }

    /// The logical mesh every stage of the DP takes: `meshShape`, else the pins' `[dp, tp]` where they give one.
    var stageMeshShape: [Int]? { meshShape ?? pins.stageMeshShape }

    /// What the search did for one microbatch count, or for a count's second search (for `--timings` and
    /// progress).
    public struct Attempt: Sendable {
        public var microbatches: Int
        /// The predicted iteration time of the count's best plan, priced exactly.
        public var iterationSeconds: Double?
        /// Whether that plan fits in device memory once priced exactly.
        public var fitsInMemory = false
        public var stageCount: Int?
        /// Chunks per rank of that plan (1: 1F1B).
        public var virtualStages: Int?
        /// Stage DPs solved (one per schedule and pipeline shape) and the questions their oracle answered.
        public var programs: Int
        public var oracleQuestions: Int
        public var oracleSolves: Int
        public var seconds: Double
        /// Whether the time limit stopped this count's stage DPs before they all finished.
        public var cutShort = false
        /// Whether this is a count searched again with stage layouts solved at that count, rather than reused
        /// from the earlier count that first solved them (the counts whose plans came within `layoutResolveMargin`).
        public var layoutsSolvedAgain = false
    }

    /// What pricing the Megatron-LM grid found (for `--timings`).
    public struct GridAttempt: Sendable {
        public var configurations: Int
        public var fitting: Int
        /// The fastest configuration that fits, and its predicted iteration time.
        public var best: (summary: String, iterationSeconds: Double)?
        /// Whether it beat the DP's plans and is the answer.
        public var chosen: Bool
        public var seconds: Double
    }

    /// Everything one search produced.
    public struct Result: Sendable {
        public var plan: TrainingPlan
        public var prediction: PlanPrediction
        public var attempts: [Attempt]
        public var grid: GridAttempt?
        /// The grid's fastest configuration that fits, priced exactly: a layout Megatron-LM runs as it is, which
        /// `plan --emit` writes where the answer's nearest layout in the framework is slower or does not fit.
        public var gridPlan: (plan: TrainingPlan, prediction: PlanPrediction)?
        /// The stage DP's best plan that fits, and its predicted iteration time, when it found one.
        public var dynamicProgramSeconds: Double?
        /// Whether the search stopped at its time limit before trying everything.
        public var stoppedEarly: Bool
        /// The stage DP's other plans within `runnerUpMargin` of the answer, fastest first: the best plans of the other
        /// counts, and those a second search displaced. The rewrite search starts from them too, since rewrites may
        /// take one below the answer. Empty when the Megatron grid's plan is the answer.
        public var runnersUp: [(plan: TrainingPlan, prediction: PlanPrediction)]
        /// How many of the stage DP's partitions were set aside unpriced for breaking a pin (`ParallelPins.breach`).
        public var pinnedOutPlans = 0
        /// Whether the pins left the stage DP nothing to search (no submesh takes their `[dp, tp]` view, or no
        /// program has the pinned depth): the answer is the grid's.
        public var dynamicProgramLeftOut = false
    }

    /// The best plan, its prediction, one attempt per microbatch count (and a second for each count searched again
    /// with its own stage layouts) and what the Megatron grid found.
    /// `progress` is told about each step as it starts. Settings it cannot search (`checkSettings`: a cluster
    /// `Cluster.validate()` refuses, options out of range, empty variants or a ZeRO stage outside 0 to 3, a limit below
    /// 1, a time limit that is not positive and finite) are an `InputError` naming the setting (`variants.zeroStages[0]`,
    /// `timeLimit`), as is a graph no plan fits.
    public func plan(microbatches fixed: Int? = nil, progress: (SearchProgress) -> Void = { _ in }) throws(InputError) -> Result {
        try checkSettings()
        let start = Date()
        let deadline = timeLimit.map { start.addingTimeInterval($0) }
        let outOfTime: @Sendable () -> Bool = { deadline.map { Date() >= $0 } ?? false }
        let powers = try graph.microbatchCounts(fixed: fixed, limit: 1024)
        let analysis = GraphAnalysis(graph)
        let clustering = LayerClustering(analysis, smallLayerFraction: maximumLayerCount == nil ? 0 : 0.25,
                                         maximumLayerCount: maximumLayerCount)
        let evaluator = PlanEvaluator(cluster: cluster)
        var attempts: [Attempt] = []
        // Each count's best plan that fits.
        var byCount: [Int: (plan: TrainingPlan, prediction: PlanPrediction)] = [:]
        var stoppedEarly = false
        // The nearest miss, for the error when nothing fits: how many bytes per device it lacks, and what it is.
        var nearestMiss: (bytes: Double, description: String)?
        func recordMiss(_ bytes: Double, _ description: @autoclosure () -> String) {
            if bytes < nearestMiss?.bytes ?? .infinity { nearestMiss = (bytes, description()) }
        }
        let programs = self.programs(layerCount: clustering.layers.count, clustering: clustering)
            .filter { $0.schedule != .interleaved || clustering.supportsInterleaving }
        // Pins that no stage DP program can take leave the answer to the grid.
        let dynamicProgramLeftOut = programs.isEmpty && meshShape == nil && !pins.isEmpty
        var pinnedOutPlans = 0
        if dynamicProgramLeftOut && !includesMegatronGrid {
            throw InputError(.invalidValue, at: JSONPath([.key(String(pins.flags.prefix { $0 != " " }))]),
                             "the stage DP has no program for \(pins.flags) on \(clusterName) (no pipeline of that depth over \(graph.name)'s \(clustering.layers.count) layers\(pins.stageMeshShape.map { ", or no submesh with the \($0.map(String.init).joined(separator: "x")) view" } ?? "")), and --no-megatron-grid leaves out Megatron-LM's configurations")
        }
        guard !programs.isEmpty || dynamicProgramLeftOut else {
            throw InputError(.invalidValue, at: JSONPath([.key("--mesh")]),
                             "no stage of \(clusterName) can take the mesh shape \(meshShape!.map(String.init).joined(separator: "x"))")
        }
        // Every device takes part in a stage, and a stage holds one clustered layer at least: where no program's
        // stages can cover the cluster, no memory or microbatch count would help.
        // (The DP counts devices in units, the gcd of its submeshes' sizes, and covers the whole units the cluster
        // holds: stages of 64 GPUs on a 72-GPU rack leave 8 idle.)
        guard dynamicProgramLeftOut || programs.contains(where: { program in
            let widest = program.submeshes.map(\.deviceCount).max() ?? 0
            let covered = cluster.deviceCount / program.deviceUnit * program.deviceUnit
            return (program.stageCount ?? program.maximumStageCount) * widest >= covered
        }) else {
            let stages = min(maximumStageCount ?? .max, clustering.layers.count)
            let widest = programs.flatMap(\.submeshes).map(\.deviceCount).max() ?? 0
            let option = meshShape != nil ? "--mesh" : maximumStageCount != nil ? "--stages" : "--cluster"
            throw InputError(.invalidValue, at: JSONPath([.key(option)]),
                             "\(graph.name) cuts into at most \(stages) stage\(stages == 1 ? "" : "s") (\(clustering.layers.count) layer\(clustering.layers.count == 1 ? "" : "s")\(maximumStageCount.map { ", --stages \($0)" } ?? "")) of at most \(widest) device\(widest == 1 ? "" : "s")\(meshShape.map { " (--mesh \($0.map(String.init).joined(separator: "x")))" } ?? ""), which cannot cover the \(cluster.deviceCount) devices of \(clusterName); give a larger mesh, more stages or a smaller cluster")
        }
        // Each program follows its own sweep: more microbatches shrink its bubble but also every kernel, so
        // its time falls, then rises. Programs peak at very different counts (one stage at a few, a
        // 35-rank interleaved pipeline at hundreds), so each stops on its own.
        var sweeps = programs.map { _ in MicrobatchSweep() }
        let batch = fixed == nil ? graph.batchSize ?? 1 : nil
        let ladders = programs.map { Self.microbatchCounts(of: $0, powersOfTwo: powers, batch: batch, limit: 1024) }
        let programCounts = programs.indices.map { index in
            ladders[index].union(batch.map { Self.dataParallelCounts(of: programs[index], batch: $0, limit: 1024) } ?? [])
        }
        let counts = Set(programCounts.joined()).sorted()
        let submeshes = Array(Set(programs.flatMap(\.submeshes))).sorted { ($0.deviceCount, $0.nodes) < ($1.deviceCount, $1.nodes) }
        let catalogs = StageLayoutCatalog.Shelf()
        // Under a time limit the grid, quick next to the DPs, is priced first: its best plan is an answer
        // from the start, so the limit may stop any DP. It competes only at the end, as without a limit, so
        // a search the limit does not stop answers the same.
        var grid: GridAttempt?
        var gridFastest: (plan: TrainingPlan, prediction: PlanPrediction)?
        if includesMegatronGrid && deadline != nil {
            progress(SearchProgress(phase: "pricing Megatron-LM configurations", completedSteps: 0, totalSteps: counts.count + 1))
            let priced = priceGrid(analysis: analysis, evaluator: evaluator, microbatches: fixed, isCancelled: outOfTime)
            grid = priced.attempt
            gridFastest = priced.fastest
            if !priced.complete { stoppedEarly = true }
        }
        // One count's search: each live program's stage DP, the best partition priced exactly. Appends the count's
        // attempt; returns its plan where it fits. `shelf` holds the stage layouts solved so far.
        func searchCount(_ count: Int, programs live: [Int], shelf: StageLayoutCatalog.Shelf,
                         solvedAgain: Bool = false) throws(InputError) -> (plan: TrainingPlan, prediction: PlanPrediction)? {
            let started = Date()
            let model = StageCostModel(graph: graph, kernels: evaluator.kernels, options: options, microbatches: count)
            let stageOracle = StageSearchOracle(model: model, cluster: cluster, clustering: clustering, analysis: analysis,
                                                search: search, submeshes: submeshes, meshShape: stageMeshShape, variants: variants,
                                                catalogs: shelf, pins: pins)
            // No plan holds less than the whole model's state and one microbatch's activations (under the
            // lightest recomputation allowed) spread over every device, every weight an FP8 one where the options
            // keep FP8 weights; skip counts below that.
            let least = ParameterState.leastBytes(elements: Double(analysis.parameterCount),
                                                  frozenElements: Double(analysis.frozenParameterCount),
                                                  devices: cluster.deviceCount, options: options)
                + stageOracle.activationFloor.bytes(layers: 0 ..< clustering.layers.count, inFlight: 1) / Double(cluster.deviceCount)
            var attempt = Attempt(microbatches: count, programs: 0, oracleQuestions: 0, oracleSolves: 0, seconds: 0,
                                  layoutsSolvedAgain: solvedAgain)
            if least > cluster.device.memoryBytes - TrainingOptions.frameworkOverheadBytes {
                let needed = least + TrainingOptions.frameworkOverheadBytes
                recordMiss(needed - cluster.device.memoryBytes,
                           "with \(count) microbatches the model's state and one microbatch's activations alone, spread over \(cluster.deviceCount == 1 ? "the one device" : "all \(cluster.deviceCount) devices"), need \(PlanPrediction.bytes(needed)) per device, \(PlanPrediction.bytes(needed - cluster.device.memoryBytes)) more than each has")
                attempt.seconds = Date().timeIntervalSince(started)
                attempts.append(attempt)
                return nil
            }
            let oracle = CachedStageCostOracle(stageOracle, structureKeys: clustering.structureKeys)
            var found: [PipelinePartition<StageSearchOracle.Layout>] = []
            var priced: (plan: TrainingPlan, prediction: PlanPrediction)?
            for index in live {
                let template = programs[index]
                let hasPlan = !byCount.isEmpty || !found.isEmpty || gridFastest != nil
                if outOfTime() && hasPlan { stoppedEarly = true; attempt.cutShort = true; break }
                let program = template.with(microbatches: count)
                attempt.programs += 1
                // Once there is a plan to answer with, the time limit also stops a DP between its questions.
                let partition = program.solve(oracle, structureKeys: clustering.structureKeys) { hasPlan && outOfTime() }
                if hasPlan && outOfTime() { stoppedEarly = true; attempt.cutShort = true; break }
                guard let partition else { continue }
                sweeps[index].record(partition.iterationSeconds,
                                     laterFloor: MicrobatchSweep.laterCountsFloor(partition, hasFixedDepth: template.stageCount != nil),
                                     onLadder: ladders[index].contains(count))
                found.append(partition)
            }
            // The DP's estimate is not the exact model's price: it leaves out how the exposed gradient synchronisation
            // falls in the schedule and sizes memory from per-layer terms, so a program's partition it ranked lower
            // may be faster, or fit where the first does not. The partitions are priced exactly, best estimate first
            // (ties in program order), until the next estimate is no better than the fastest fitting plan's exact
            // time; the fastest that fits is the count's plan, and where none fits the first priced stands for the
            // count, each one's shortfall offered to the nearest miss. A partition with a stage smaller than an
            // NVLink domain on a cluster of several is priced whatever its estimate: the estimate charges each of
            // its boundaries the network's rate (`Cluster.pipelineNeighbour`), where some run over NVLink, so it
            // may be well above the exact time (up to 93% for GPT-3 350M's pipelines on two p3.16xlarge). The time
            // limit stops the pricing once there is a plan.
            let overestimated = { (partition: PipelinePartition<StageSearchOracle.Layout>) in
                cluster.domainCount > 1 && partition.stages.contains { $0.submesh.deviceCount < cluster.devicesPerDomain }
            }
            var closest: (plan: TrainingPlan, prediction: PlanPrediction)?
            let ranked = found.indices.sorted { (found[$0].iterationSeconds, $0) < (found[$1].iterationSeconds, $1) }
            for index in ranked {
                if let priced, found[index].iterationSeconds >= priced.prediction.iterationSeconds, !overestimated(found[index]) { continue }
                if (priced != nil || !byCount.isEmpty || gridFastest != nil) && outOfTime() { stoppedEarly = true; attempt.cutShort = true; break }
                let plan = try trainingPlan(found[index], clustering: clustering, oracle: stageOracle, microbatches: count)
                if pins.breach(of: plan) != nil {
                    pinnedOutPlans += 1
                    continue
                }
                let prediction = evaluator.evaluate(plan)
                if closest == nil { closest = (plan, prediction) }
                if prediction.fitsInMemory {
                    if prediction.iterationSeconds < priced?.prediction.iterationSeconds ?? .infinity { priced = (plan, prediction) }
                } else if let worst = prediction.ranks.max(by: { $0.peakMemoryBytes < $1.peakMemoryBytes }) {
                    recordMiss(worst.peakMemoryBytes - cluster.device.memoryBytes,
                               "the closest, \(plan.pipelineRanks) pipeline ranks with \(count) microbatches, \(prediction.memoryShortfall(worst))")
                }
            }
            if let (plan, prediction) = priced ?? closest {
                attempt.iterationSeconds = prediction.iterationSeconds
                attempt.fitsInMemory = prediction.fitsInMemory
                attempt.stageCount = plan.pipelineRanks
                attempt.virtualStages = plan.virtualStages
            }
            (attempt.oracleQuestions, attempt.oracleSolves) = oracle.statistics
            attempt.seconds = Date().timeIntervalSince(started)
            attempts.append(attempt)
            // Summarised once, the count's answer only (the summary's notes may price the plan again).
            if let summary = priced?.plan.stageSummary { priced?.plan.summary = summary }
            return priced
        }
        for count in counts {
            let leader = sweeps.map(\.bestSeconds).min() ?? .infinity
            let unfinished = programs.indices.filter { !sweeps[$0].isFinished(leaderSeconds: leader) }
            if unfinished.isEmpty { break }
            let live = unfinished.filter { programCounts[$0].contains(count) }
            if live.isEmpty { continue }
            // The time limit stops the search between stage DPs, once it has a plan to answer with.
            if outOfTime() && (!byCount.isEmpty || gridFastest != nil) { stoppedEarly = true; break }
            progress(SearchProgress(phase: "searching with \(count) microbatch\(count == 1 ? "" : "es")", completedSteps: attempts.count,
                                    totalSteps: counts.count + (includesMegatronGrid ? 1 : 0)))
            byCount[count] = try searchCount(count, programs: live, shelf: catalogs)
        }
        // A view's layouts are solved at the first count that asks for them (`StageLayoutCatalog.Shelf`) and only
        // priced at the later ones. The strategies its ILP picks move with the microbatch size, by a few percent
        // over a factor of 2 and more over a wider one (Llama 3 70B on 4 DGX H100, solved at 32 microbatches and best
        // at 1,024: 10% slower than solved at 1,024). So every count whose plan is within `layoutResolveMargin` of the
        // fastest (the fastest included) is searched again as `--microbatches` of it would be: with layouts solved
        // at that count, by every program whose counts hold it (the sweep may have ended some on times their stale
        // layouts gave), and the faster of its two plans kept. The first count a DP ran at solved its own layouts.
        let firstSearchedCount = attempts.first { $0.programs > 0 }?.microbatches
        let leaderSeconds = byCount.values.map(\.prediction.iterationSeconds).min() ?? .infinity
        let stale = byCount
            .filter { $0.key != firstSearchedCount && $0.value.prediction.iterationSeconds <= leaderSeconds * (1 + Self.layoutResolveMargin) }
            .keys.sorted()
        let sweepSteps = attempts.count
        // The plans the second searches replaced: rewrites may still take one of them further.
        var displaced: [(plan: TrainingPlan, prediction: PlanPrediction)] = []
        for count in stale {
            if outOfTime() { stoppedEarly = true; break }
            progress(SearchProgress(phase: "searching with \(count) microbatches again, stage layouts solved at that count",
                                    completedSteps: attempts.count, totalSteps: sweepSteps + stale.count + (includesMegatronGrid && grid == nil ? 1 : 0)))
            let live = programs.indices.filter { programCounts[$0].contains(count) }
            if let found = try searchCount(count, programs: live, shelf: StageLayoutCatalog.Shelf(), solvedAgain: true),
               let earlier = byCount[count], found.prediction.iterationSeconds < earlier.prediction.iterationSeconds {
                displaced.append(earlier)
                byCount[count] = found
            }
        }
        // Ties go to the fewest microbatches, so the answer does not depend on the dictionary's order.
        let dynamicProgramPlans = byCount.sorted { $0.key < $1.key }.map(\.value)
        let dynamicProgramBest = dynamicProgramPlans.indices.min {
            dynamicProgramPlans[$0].prediction.iterationSeconds < dynamicProgramPlans[$1].prediction.iterationSeconds
        }
        let dynamicProgramSeconds = dynamicProgramBest.map { dynamicProgramPlans[$0].prediction.iterationSeconds }
        if includesMegatronGrid && grid == nil && !(outOfTime() && dynamicProgramBest != nil) {
            progress(SearchProgress(phase: "pricing Megatron-LM configurations", completedSteps: attempts.count, totalSteps: attempts.count + 1))
            let priced = priceGrid(analysis: analysis, evaluator: evaluator, microbatches: fixed)
            grid = priced.attempt
            gridFastest = priced.fastest
        } else if includesMegatronGrid && grid == nil {
            stoppedEarly = true
        }
        var best = dynamicProgramBest.map { dynamicProgramPlans[$0] }
        if let gridFastest, gridFastest.prediction.iterationSeconds < dynamicProgramSeconds ?? .infinity {
            best = gridFastest
            grid?.chosen = true
        }
        guard var best else {
            let pinned = pins.isEmpty ? "" : " keeping \(pins.flags)"
            throw InputError(.invalidValue, at: .root,
                             "no feasible plan\(pinned): no partition of \(graph.name) into pipeline stages\(pinnedOutPlans > 0 ? " (\(pinnedOutPlans) of the stage DP's broke a pin)" : "") fits in the \(PlanPrediction.bytes(cluster.device.memoryBytes)) of each device of \(clusterName) with any microbatch count tried\(stoppedEarly ? " before the time limit" : "")\(nearestMiss.map { ": \($0.description)" } ?? ""); try more devices\(variants.recomputeModes.contains(.full) && variants.zeroStages.contains(3) ? "" : ", recomputation (--recompute) or ZeRO (--zero)")")
        }
        best.plan.provenance = SearchProvenance(foundBy: grid?.chosen == true ? .megatronGrid : .stageDynamicProgram,
                                                stageDynamicProgramSeconds: dynamicProgramSeconds,
                                                megatronGridSeconds: grid?.best?.iterationSeconds,
                                                searchSeconds: Date().timeIntervalSince(start), stoppedEarly: stoppedEarly)
        if !pins.isEmpty {
            best.plan.provenance?.pinned = pins
            best.plan.provenance?.dynamicProgramLeftOut = dynamicProgramLeftOut
        }
        if grid?.chosen == true {
            let departures = SearchProvenance.megatronDepartures(of: best.plan)
            best.plan.provenance?.departures = departures
        }
        // Where the answer is the stage DP's, its other plans within the margin, fastest first: the rewrite search
        // starts from them too (and gives the one it keeps the answer's provenance).
        let others = grid?.chosen == true ? []
            : dynamicProgramPlans.indices.filter { $0 != dynamicProgramBest }.map { dynamicProgramPlans[$0] } + displaced
        let runnersUp = others.indices
            .filter { others[$0].prediction.iterationSeconds <= best.prediction.iterationSeconds * (1 + Self.runnerUpMargin) }
            .sorted { (others[$0].prediction.iterationSeconds, $0) < (others[$1].prediction.iterationSeconds, $1) }
            .map { others[$0] }
        return Result(plan: best.plan, prediction: best.prediction, attempts: attempts, grid: grid, gridPlan: gridFastest,
                      dynamicProgramSeconds: dynamicProgramSeconds, stoppedEarly: stoppedEarly, runnersUp: runnersUp,
                      pinnedOutPlans: pinnedOutPlans, dynamicProgramLeftOut: dynamicProgramLeftOut)
    }

    /// Prices Megatron-LM's configurations: every one ranked by composed layer costs, the fastest few that
    /// fit priced exactly. Returns what was found and the fastest exactly priced plan that fits. Once
    /// `isCancelled` says so and a configuration is estimated to fit, the rest are not estimated (`complete`
    /// false) and only the first of the fastest estimated that fits when priced exactly is.
    private func priceGrid(analysis: GraphAnalysis, evaluator: PlanEvaluator, microbatches fixed: Int?,
                           shortlistCount: Int = MegatronGrid.exactlyPricedCount, isCancelled: @Sendable () -> Bool = { false })
        -> (attempt: GridAttempt, fastest: (plan: TrainingPlan, prediction: PlanPrediction)?, complete: Bool,
            fitting: [(plan: TrainingPlan, prediction: PlanPrediction)]) {
        let started = Date()
        let variants = self.variants.searched(in: graph)
        let configurations = megatronGrid.configurations(for: graph, on: cluster, options: options, analysis: analysis,
                                                         maximumStageCount: maximumStageCount, meshShape: meshShape,
                                                         microbatches: fixed, variants: variants, pins: pins)
        let layerwise = LayerClustering(analysis, smallLayerFraction: 0)
        func estimate(_ list: [MegatronConfiguration], fitFound: Bool) -> (estimates: [MegatronGrid.Estimate?], complete: Bool) {
            MegatronGrid.estimates(list, graph: graph, cluster: cluster, analysis: analysis, clustering: layerwise,
                                   kernels: evaluator.kernels, fitFound: fitFound, isCancelled: isCancelled)
        }
        func fits(_ estimate: MegatronGrid.Estimate?) -> Bool { (estimate?.peakMemoryBytes ?? .infinity) <= cluster.device.memoryBytes }
        var all: [MegatronConfiguration] = [], estimates: [MegatronGrid.Estimate?] = [], complete = true
        // Estimates `list` after those before it (whose fitting ones let a time limit cut it short) and returns its own.
        func add(_ list: [MegatronConfiguration]) -> [MegatronGrid.Estimate?] {
            let found = estimate(list, fitFound: estimates.contains(where: fits))
            all += list
            estimates += found.estimates
            complete = complete && found.complete
            return found.estimates
        }
        _ = add(configurations)
        // Configurations that do not fit as they are, again with each stronger recomputation allowed (not full
        // recomputation beside the experts' overlapped all-to-alls, which Megatron-Core refuses).
        let retriedFrom = configurations.indices.filter { (estimates[$0]?.peakMemoryBytes ?? 0) > cluster.device.memoryBytes }.flatMap { index in
            variants.recomputeModes.filter {
                $0.strength > configurations[index].options.recompute.strength
                    && !($0 == .full && configurations[index].options.overlapExpertParallelCommunication)
            }.map { mode in
                var stronger = configurations[index]
                stronger.options.recompute = mode
                return (base: index, configuration: stronger)
            }
        }
        let retriedEstimates = add(retriedFrom.map(\.configuration))
        // Configurations that fit only with every block rerun, again rerunning only a chunk's first blocks.
        let blocks = TrainingPlan.repeatedLayers(analysis.layers, in: graph).count
        let fastestFitting = estimates.filter(fits).compactMap { $0?.iterationSeconds }.min() ?? .infinity
        _ = add(zip(retriedFrom, retriedEstimates).flatMap { retry, everyBlock in
            partialRecomputations(of: retry.configuration, everyBlock: everyBlock, lightest: estimates[retry.base], blocks: blocks,
                                  toBeat: fastestFitting)
        })
        let fitting = all.indices.filter { fits(estimates[$0]) }
        let shortlist = fitting.sorted { (estimates[$0]!.iterationSeconds, $0) < (estimates[$1]!.iterationSeconds, $1) }
            .prefix(shortlistCount).map { all[$0] }
        var fastest: (plan: TrainingPlan, prediction: PlanPrediction)?
        var pricedFitting: [(plan: TrainingPlan, prediction: PlanPrediction)] = []
        // Estimates cut short by the time limit: the shortlist is priced one at a time, fastest estimate first,
        // up to the first that fits.
        for group in complete ? [Array(shortlist)] : shortlist.map({ [$0] }) where fastest == nil {
            for candidate in price(group, analysis: analysis, evaluator: evaluator).compactMap({ $0 }) where candidate.prediction.fitsInMemory {
                pricedFitting.append(candidate)
                if candidate.prediction.iterationSeconds < fastest?.prediction.iterationSeconds ?? .infinity { fastest = candidate }
            }
        }
        let attempt = GridAttempt(configurations: all.count, fitting: fitting.count,
                                  best: fastest.map { ($0.plan.summary ?? "", $0.prediction.iterationSeconds) }, chosen: false,
                                  seconds: Date().timeIntervalSince(started))
        // Stable: ties keep the estimates' order.
        let ranked = pricedFitting.indices.sorted {
            (pricedFitting[$0].prediction.iterationSeconds, $0) < (pricedFitting[$1].prediction.iterationSeconds, $1)
        }.map { pricedFitting[$0] }
        return (attempt, fastest, complete, ranked)
    }

    /// The grid's configurations that fit, priced exactly, fastest first: the `count` fastest by their estimates
    /// that fit by them, with every configuration estimated (no time limit). `plan --emit` asks for them where
    /// neither the searched plan nor the search's alternatives give settings that fit and run in the framework, so
    /// that it writes a fitting configuration whenever the grid holds one (`FrameworkExport.choosing`). Settings
    /// `plan()` refuses (FP8 on a device without FP8 tensor cores, an empty variant list) are refused here too.
    public func fittingGridPlans(count: Int, microbatches fixed: Int? = nil) throws(InputError) -> [(plan: TrainingPlan, prediction: PlanPrediction)] {
        try checkSettings()
        return priceGrid(analysis: GraphAnalysis(graph), evaluator: PlanEvaluator(cluster: cluster), microbatches: fixed, shortlistCount: count).fitting
    }

    /// `configuration` with full recomputation of only the first N blocks of each chunk (Megatron-LM's
    /// `--recompute-method block --recompute-num-layers N`), the rest keeping their activations, where it fits with
    /// every block rerun (`everyBlock`) and not without recomputation (`lightest`): `--recompute auto` allows full
    /// recomputation, and a layout need not rerun more than it must. A block rerun saves about what the next does,
    /// so N is read off the two estimates, linearly, as the fewest blocks that bring the peak within the device;
    /// N + 1 is tried beside it, for the error of that reading. `blocks` counts the graph's repeated layers. None is
    /// tried where it cannot beat `toBeat`, the fastest estimate that fits: rerunning no block saves at most the
    /// rerun forward pass, a quarter of forward (1), rerun (1) and backward (2), so the layout takes at least 3/4
    /// of its time with every block rerun.
    func partialRecomputations(of configuration: MegatronConfiguration, everyBlock: MegatronGrid.Estimate?,
                               lightest: MegatronGrid.Estimate?, blocks: Int, toBeat: Double = .infinity) -> [MegatronConfiguration] {
        let budget = cluster.device.memoryBytes
        guard let rerunSeconds = everyBlock?.iterationSeconds, 0.75 * rerunSeconds < toBeat else { return [] }
        let chunkBlocks = blocks / (configuration.pipelineParallel * configuration.virtualStages)
        guard configuration.options.recompute == .full, configuration.options.recomputedBlocks == nil, variants.recomputeModes.contains(.full),
              variants.recomputeModes.min(by: { $0.strength < $1.strength }) == RecomputeMode.none, chunkBlocks >= 2,
              let rerun = everyBlock?.peakMemoryBytes, rerun <= budget,
              let kept = lightest?.peakMemoryBytes, kept > budget else { return [] }
        // The average chunk's blocks (a lighter first or last rank, or the embedding counted as a layer, holds fewer):
        // an approximation that only chooses what to price, since every count tried is estimated again.
        let needed = Int((Double(chunkBlocks) * (kept - budget) / (kept - rerun)).rounded(.up))
        return Set([needed, needed + 1].map { min(max($0, 1), chunkBlocks - 1) }).sorted().map { count in
            var fewer = configuration
            fewer.options.recomputedBlocks = count
            return fewer
        }
    }

    /// The stage DPs to solve for each microbatch count (with a placeholder count): 1F1B over stages of any
    /// of the planning submeshes, 1F1B over equal stages of the depths those submeshes miss, and interleaved
    /// 1F1B over equal ranks for every depth and chunk count.
    func programs(layerCount: Int, clustering: LayerClustering) -> [StageDynamicProgram] {
        // Submeshes are cut from NVLink domains (a node, or a rack of trays), the units the fast links join.
        let nodes = cluster.domainCount, perNode = cluster.devicesPerDomain
        var general = SubmeshShape.planningCandidates(nodes: nodes, devicesPerNode: perNode).filter { $0.deviceCount <= nodes * perNode }
        if let stageMeshShape { general = general.filter { $0.logicalShapes.contains(stageMeshShape) } }
        // A pinned tp: only submeshes with a view that lays it out (`ParallelPins.admitsView`).
        general = general.filter { $0.logicalShapes.contains(where: pins.admitsView) }
        var result: [StageDynamicProgram] = []
        let pinned = pins.pipelineParallel
        if !general.isEmpty {
            // A pinned depth: exactly that many stages of any of the submeshes, where they can hold as many.
            let unit = general.map(\.deviceCount).reduce(0, StageDynamicProgram.greatestCommonDivisor)
            if let pinned {
                if pinned <= min(maximumStageCount ?? .max, layerCount, nodes * perNode / unit) {
                    result.append(StageDynamicProgram(layerCount: layerCount, nodes: nodes, devicesPerNode: perNode, microbatches: 1,
                                                      submeshes: general, stageCount: pinned))
                }
            } else {
                result.append(StageDynamicProgram(layerCount: layerCount, nodes: nodes, devicesPerNode: perNode, microbatches: 1,
                                                  submeshes: general, maximumStageCount: maximumStageCount))
            }
        }
        let most = min(maximumStageCount ?? .max, layerCount, cluster.deviceCount)
        guard most >= 2 else { return result }
        for depth in 2 ... most where pinned.map({ $0 == depth }) ?? true {
            guard let share = SubmeshShape.equalShare(of: depth, nodes: nodes, devicesPerNode: perNode),
                  stageMeshShape.map({ share.logicalShapes.contains($0) }) ?? true,
                  share.logicalShapes.contains(where: pins.admitsView) else { continue }
            if !general.contains(share) {
                result.append(StageDynamicProgram(layerCount: layerCount, nodes: nodes, devicesPerNode: perNode, microbatches: 1,
                                                  submeshes: [share], stageCount: depth))
            }
            // Every chunk holds a layer.
            guard maximumVirtualStages >= 2, 2 * depth <= layerCount else { continue }
            for chunks in 2 ... min(maximumVirtualStages, layerCount / depth) {
                result.append(StageDynamicProgram(layerCount: layerCount, nodes: nodes, devicesPerNode: perNode, microbatches: 1,
                                                  schedule: .interleaved, virtualStages: chunks, submeshes: [share], stageCount: depth))
            }
        }
        return result
    }

    /// The microbatch counts `program` is solved at: the powers of two in `powersOfTwo` (the batch's, or the
    /// one count the user fixed), and for a pipeline of exactly p ranks also p times each power of two that
    /// divides the `batch` (nil when the count is fixed), up to `limit`: whole rounds of its ranks, which
    /// Megatron-LM's interleaved schedule requires (so an interleaved program takes only those) and which
    /// split evenly over a p-th of the devices where p is not a power of two (a 35-rank pipeline of 280
    /// sequences reaches 35, 70, 140 and 280). A pipeline of p ranks takes no count below p: with fewer
    /// microbatches than ranks, more than half of every rank's time is bubble, and the program free to choose
    /// its depth has the shallower pipelines.
    static func microbatchCounts(of program: StageDynamicProgram, powersOfTwo: [Int], batch: Int?, limit: Int) -> Set<Int> {
        guard let depth = program.stageCount else { return Set(powersOfTwo) }
        var rounds = Set(powersOfTwo.filter { $0 % depth == 0 })
        if let batch {
            var count = depth
            while count <= min(batch, limit) && batch % count == 0 {
                rounds.insert(count)
                count *= 2
            }
        }
        return program.schedule == .interleaved ? rounds : rounds.union(powersOfTwo.filter { $0 >= depth })
    }

    /// The counts beside its ladder that a pipeline of exactly p ranks over submeshes of S devices is also
    /// solved at: those that give each of its data-parallel degrees a whole power-of-two number of sequences
    /// per replica (`Graph.wholeSequenceCounts` over S devices), at least p, and whole rounds of p for an
    /// interleaved program, up to `limit`. The ladder misses them where the batch has odd factors: 2,160
    /// sequences over 12 ranks of 160 devices reach 108 microbatches (20 replicas of 8 devices, one sequence
    /// each), which no count of 12 x 2^k gives. Empty for a program whose depth is free.
    static func dataParallelCounts(of program: StageDynamicProgram, batch: Int, limit: Int) -> Set<Int> {
        guard let depth = program.stageCount, let submesh = program.submeshes.first else { return [] }
        return Graph.wholeSequenceCounts(batch: batch, devices: submesh.deviceCount, atLeast: depth,
                                         multipleOf: program.schedule == .interleaved ? depth : 1, limit: limit)
    }

    /// Each configuration's plan and prediction, priced on all cores; nil where the graph does not admit it.
    private func price(_ configurations: [MegatronConfiguration], analysis: GraphAnalysis,
                       evaluator: PlanEvaluator) -> [(plan: TrainingPlan, prediction: PlanPrediction)?] {
        // One stage cost model per microbatch count, made once (a configuration's recomputation is applied to it).
        var models: [Int: StageCostModel] = [:]
        let batch = graph.batchSize ?? 1
        for configuration in configurations {
            let count = batch / (configuration.microBatchSize * (configuration.dataParallel ?? 1))
            if models[count] == nil { models[count] = StageCostModel(graph: graph, kernels: evaluator.kernels, options: options, microbatches: count) }
        }
        let results = SharedTable<Int, (plan: TrainingPlan, prediction: PlanPrediction)>()
        let modelsByCount = models
        DispatchQueue.concurrentPerform(iterations: configurations.count) { index in
            guard let plan = try? TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: clusterName,
                                                        configuration: configurations[index], layers: analysis.layers),
                  let model = modelsByCount[plan.microbatches]?.with(options: plan.options) else { return }
            results[index] = (plan, evaluator.evaluate(plan, model: model, modelTrainingFLOPs: analysis.modelTrainingFLOPs,
                                   causalHalvedTrainingFLOPs: analysis.causalHalvedTrainingFLOPs))
        }
        return configurations.indices.map { results[$0] }
    }

    /// How much slower than the fastest plan a count's plan may be and still be searched again with stage layouts
    /// solved at its count. Layouts of their own made counts 2.1-3.5% faster, and every count they took past the
    /// fastest had been within 0.6% of it (GPT-3 350M on two nodes of 4 GiB devices, Megatron-Bridge's Llama 3 70B
    /// and 405B rows of Docs/plan-quality.md); across those rows, 1% keeps 23 of the 68 second searches a 5% margin
    /// makes (91 of 232 s) and all of their gains (Docs/pipeline-search.md, "Catalogs").
    static let layoutResolveMargin = 0.01

    /// How much slower than the answer another count's plan may be and still be refined by the rewrite search: about
    /// the most rewrites gain. The safe rules gain 1.4-6.2% (Docs/rewrites.md), and took Llama 3 405B's 16
    /// microbatches on 2,048 DGX H100 from 2.3% behind the answer to 1.7% ahead.
    static let runnerUpMargin = 0.05

    /// The training plan a DP partition describes, not yet summarised (`TrainingPlan.stageSummary`).
    func trainingPlan(_ partition: PipelinePartition<StageSearchOracle.Layout>, clustering: LayerClustering,
                      oracle: StageSearchOracle, microbatches: Int) throws(InputError) -> TrainingPlan {
        let ranks = partition.stages.count
        // Under the interleaved schedule the ranks' layers are spread over their chunks in pipeline order.
        let chunkLayers = partition.schedule == .interleaved
            ? ChunkSplit.chunkRanges(rankLayers: partition.stages.map(\.layers.count), chunks: partition.virtualStages)
            : partition.stages.map(\.layers)
        var meshes: [DeviceMesh] = []
        for stage in partition.stages {
            let shape = stage.candidate.payload.meshShape
            meshes.append(try DeviceMesh(devices: stage.devices, shape: shape,
                                         axisNames: Array(DeviceMesh.defaultAxisNames.prefix(shape.count)), in: cluster))
        }
        var stages: [StageLayout] = []
        for (chunk, layers) in chunkLayers.enumerated() {
            let rank = partition.stages[chunk % ranks]
            let layout = rank.candidate.payload
            let operations = layers.isEmpty
                ? (layers.lowerBound < clustering.layers.count ? clustering.layers[layers.lowerBound].operations.lowerBound : graph.operations.count)
                    ..< (layers.lowerBound < clustering.layers.count ? clustering.layers[layers.lowerBound].operations.lowerBound : graph.operations.count)
                : clustering.operations(of: layers)
            let strategies = layers.isEmpty ? [] : oracle.strategies(layers: layers, submesh: rank.submesh, layout: layout)
            stages.append(StageLayout(operations: operations, mesh: meshes[chunk % ranks], strategies: strategies, recompute: layout.recompute))
        }
        return TrainingPlan(graph: graph, cluster: cluster, clusterName: clusterName, stages: stages,
                            pipelineRanks: ranks, virtualStages: partition.virtualStages, schedule: partition.schedule,
                            microbatches: microbatches, options: options)
    }
}
