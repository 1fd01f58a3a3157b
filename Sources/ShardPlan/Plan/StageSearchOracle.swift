import Foundation

/// The stage DP's oracle: the fastest way to run a range of clustered layers on a submesh, over every logical
/// view of the submesh, every layout of its catalog (`StageLayoutCatalog`: the ILP's, leaner ones, Megatron's)
/// and every training variant the planner allows (ZeRO stage, recomputation), priced in constant time per
/// range by `LayerCostProfile`s built with `StageCostModel`.
///
/// Under the interleaved schedule a question is about a pipeline rank: its layers are split into chunks
/// (`ChunkSplit`), the first rank's first chunk holding the model's first layer and the last rank's last chunk
/// its last layer, every other chunk a run of the model's repeated middle layer. The rank's time is the sum of
/// its chunks', its memory the chunks' weights and the activations `ChunkOccupancy` keeps alive.
public struct StageSearchOracle: StageCostOracle {
    /// What the plan needs back for a chosen stage: the logical mesh shape, the layout of the view's catalog,
    /// the ZeRO stage and the recomputation (nil: the plan's own).
    public struct Layout: Sendable, Hashable {
        public var meshShape: [Int]
        public var layout: Int
        public var zeroStage: Int
        public var recompute: RecomputeMode?
    }

    /// The training variants a stage may take: ZeRO stages and recomputation modes, each stage its own.
    public struct Variants: Sendable, Equatable {
        public var zeroStages: [Int]
        public var recomputeModes: [RecomputeMode]
        /// The context-parallel exchanges the Megatron grid tries for each of its context-parallel configurations
        /// (`MegatronGrid.contextExchanges`); empty for the options' own alone, as where `--cp-comm-type` names one.
        public var contextParallelCommunications: [ContextParallelCommunication]
        /// Whether the Megatron grid also tries each expert-parallel configuration that Megatron-Core can run so with
        /// the experts' all-to-alls overlapped (`TrainingOptions.overlapExpertParallelCommunication`).
        public var triesExpertParallelOverlap: Bool
        /// Whether the Megatron grid prices NCCL's all-to-all where torchtitan runs it in place of the options'
        /// dispatcher (`ExpertDispatcher.inTorchTitan`: where each expert is split over the tensor-parallel ranks, beside
        /// which its DeepEP refuses to run; `plan --emit torchtitan`).
        public var deduplicatesOnlyWholeExperts = false

        /// Variants trying each of `zeroStages` (0 to 3) with each of `recomputeModes`. Any values make variants: a
        /// search given none of either, or a ZeRO stage outside 0 to 3, refuses them with an `InputError`
        /// (`PipelinePlanner.plan`), and `StageSearchOracle.init` requires one of each.
        public init(zeroStages: [Int], recomputeModes: [RecomputeMode], contextParallelCommunications: [ContextParallelCommunication] = [],
                    triesExpertParallelOverlap: Bool = false) {
            self.zeroStages = zeroStages
            self.recomputeModes = recomputeModes
            self.contextParallelCommunications = contextParallelCommunications
            self.triesExpertParallelOverlap = triesExpertParallelOverlap
        }

        /// These variants less `norm-act` where it reruns nothing in `graph` (a model without experts or latent attention,
        /// `StageCostModel.rerunsUnderNormActivation`) and none is among them: it would price as none does, and only
        /// tie its plans.
        public func searched(in graph: Graph) -> Variants {
            searched(rerunsUnderNormActivation: !recomputeModes.contains(.normAct) || StageCostModel.rerunsUnderNormActivation(graph))
        }

        /// `searched(in:)` where it is known whether norm-act reruns anything (a model's `normActivationRecomputation`).
        func searched(rerunsUnderNormActivation: Bool) -> Variants {
            guard recomputeModes.contains(.normAct), recomputeModes.contains(.none), !rerunsUnderNormActivation else { return self }
            var variants = self
            variants.recomputeModes.removeAll { $0 == .normAct }
            return variants
        }

        /// Every ZeRO stage and every recomputation mode.
        public static let all = Variants(zeroStages: [0, 1, 2, 3], recomputeModes: RecomputeMode.allCases)
        /// Every ZeRO stage and the recomputation modes `--recompute auto` tries (`RecomputeMode.automaticChoices`).
        public static let automatic = Variants(zeroStages: [0, 1, 2, 3], recomputeModes: RecomputeMode.automaticChoices)
    }

    public let model: StageCostModel
    public let cluster: Cluster
    public let clustering: LayerClustering
    public let search: IntraOperatorSearch
    /// The one logical mesh shape stages may take, or nil for every view of each submesh.
    public let meshShape: [Int]?
    public let variants: Variants
    /// Whether Megatron-LM's layouts join each view's catalog.
    public let includesMegatronLayouts: Bool
    /// Whether every layer but the first and the last has one structure, as interleaving needs.
    public let supportsInterleaving: Bool
    /// The least activation memory each clustered layer keeps per microbatch under the lightest
    /// recomputation allowed, and the most its recomputation works in at once (`ActivationFloor`).
    let activationFloor: ActivationFloor
    let analysis: GraphAnalysis
    let evaluator: PlanEvaluator
    /// Prefix sums over clustered layers of parameter elements, each parameter counted on the first layer that
    /// reads it: a range's difference is at most its parameters' elements (a parameter shared with an earlier
    /// layer is left out), so the memory floor built on it stays a floor.
    private let parameterElements: [Double]
    /// The same sums over the frozen parameters alone.
    private let frozenParameterElements: [Double]
    /// The trained parameters several clustered layers read, whose gradients a stage holding some of those layers
    /// all-reduces with the ranks holding the others (`sharedParameterSeconds`).
    private let sharedReaders: SharedParameterReaders
    /// The logical views each submesh's stages are priced on.
    let views: [SubmeshShape: [[Int]]]
    /// The catalogs of each submesh's views, which the planner shares between the microbatch counts it tries.
    let catalogs: StageLayoutCatalog.Shelf
    private let occupancies = SharedTable<PipelinePosition, ChunkOccupancy>()
    private let submeshFamilies = SharedTable<SubmeshShape, [LayoutFamily]>()
    private let rankClasses = SharedTable<[Int], RankClass>()
    /// Numbers the visits of a submesh's layout families (`eachFamily`).
    private let traversals = TicketDispenser()

    /// An oracle pricing `submeshes` of `cluster` for `model`. `variants` must hold a ZeRO stage from 0 to 3 and a
    /// recomputation mode at least (a programmer's error otherwise, which traps; `PipelinePlanner.plan` refuses
    /// such variants with an `InputError` before it makes an oracle).
    public init(model: StageCostModel, cluster: Cluster, clustering: LayerClustering, analysis: GraphAnalysis,
                search: IntraOperatorSearch, submeshes: [SubmeshShape], meshShape: [Int]? = nil,
                variants: Variants = .automatic, includesMegatronLayouts: Bool = true) {
        self.init(model: model, cluster: cluster, clustering: clustering, analysis: analysis, search: search, submeshes: submeshes,
                  meshShape: meshShape, variants: variants, includesMegatronLayouts: includesMegatronLayouts, catalogs: .init())
    }

    /// An oracle taking its catalogs from `catalogs`, which the planner shares between microbatch counts; with a
    /// pinned tensor-parallel degree, each submesh's views are those that lay it out (`ParallelPins.admitsView`).
    init(model: StageCostModel, cluster: Cluster, clustering: LayerClustering, analysis: GraphAnalysis,
         search: IntraOperatorSearch, submeshes: [SubmeshShape], meshShape: [Int]?, variants: Variants,
         includesMegatronLayouts: Bool = true, catalogs: StageLayoutCatalog.Shelf, pins: ParallelPins = ParallelPins()) {
        precondition(!variants.zeroStages.isEmpty && !variants.recomputeModes.isEmpty
                        && variants.zeroStages.allSatisfy { TrainingOptions.zeroStages.contains($0) },
                     "an oracle needs a ZeRO stage from 0 to 3 and a recomputation mode to try")
        self.model = model
        self.catalogs = catalogs
        self.cluster = cluster
        self.clustering = clustering
        self.analysis = analysis
        self.search = search
        self.meshShape = meshShape
        self.variants = variants.searched(rerunsUnderNormActivation: !model.normActivationRecomputation.isEmpty)
        self.includesMegatronLayouts = includesMegatronLayouts
        evaluator = PlanEvaluator(kernels: model.kernels)
        let lightest = self.variants.recomputeModes.min { $0.strength < $1.strength }!
        activationFloor = ActivationFloor(models: Set([lightest, self.variants.recomputeModes.max { $0.strength < $1.strength }!])
                                            .sorted { $0.strength < $1.strength }.map { model.recomputing($0) },
                                          clustering: clustering, analysis: analysis, cluster: cluster)
        var counted = Set<ValueID>(), prefix = [0.0], frozenPrefix = [0.0]
        for layer in clustering.layers {
            var elements = 0.0, frozen = 0.0
            for op in layer.operations {
                for input in model.graph.operations[op].inputs where model.graph[input].isParameter && counted.insert(input).inserted {
                    elements += Double(model.graph[input].type.elementCount)
                    if model.graph[input].isFrozen { frozen += Double(model.graph[input].type.elementCount) }
                }
            }
            prefix.append(prefix.last! + elements)
            frozenPrefix.append(frozenPrefix.last! + frozen)
        }
        parameterElements = prefix
        frozenParameterElements = frozenPrefix
        sharedReaders = SharedParameterReaders(graph: model.graph, clustering: clustering)
        supportsInterleaving = clustering.supportsInterleaving
        var views: [SubmeshShape: [[Int]]] = [:]
        // For long sequences, Megatron's context-parallel meshes `[dp, cp, tp]` as well (`contextViews`).
        let sequence = StageCostModel.sequenceLength(model.graph, roles: model.roles) ?? 0
        let contextSizes = meshShape == nil && includesMegatronLayouts && sequence >= Self.contextViewTokens
            ? MegatronGrid.contextParallelSizes(sequenceLength: sequence).filter { $0 > 1 } : []
        // The all-to-all exchange needs whole heads on each context-parallel rank (`MegatronConfiguration.unrunnableContextHeads`),
        // hierarchical context parallelism on each rank of an all-to-all group.
        let exchange = model.options.contextParallelCommunication
        let heads = exchange == .allToAll || exchange == .hierarchical ? AttentionHeads.all(in: model.graph) : []
        for submesh in submeshes {
            // A 1 x n and an n x 1 view are the same mesh with its axes swapped. A 2-D view whose inner axis
            // spans several nodes has both axes crossing the slow links; as Alpa's "single node model parallel"
            // option does, the search keeps the inner axis inside a node (the 1-D view over every device stays).
            let planar = meshShape.map { shape in submesh.logicalShapes.filter { $0 == shape } }
                ?? submesh.logicalShapes.filter { shape in
                    shape.count == 2 && shape[0] > 1 ? shape[1] > 1 && shape[1] <= cluster.devicesPerDomain : true
                }
            views[submesh] = (planar + Self.contextViews(of: submesh.logicalShapes, sizes: contextSizes, devicesPerDomain: cluster.devicesPerDomain,
                                                         batch: model.graph.batchSize ?? 1, heads: heads, hierarchical: exchange == .hierarchical))
                .filter(pins.admitsView)
        }
        self.views = views
    }

    /// The shortest sequence whose stages also get context-parallel views: 16,384 tokens, where a rank may hold a
    /// quarter of it. At 8,192 tokens the views held no better plan for Llama 3 405B on 16,384 H100s (5.55 s either
    /// way) and took its search from 21 s to 32 s; at 131,072 they took it from 13.2 s to 10.8 s.
    static let contextViewTokens = 4 * MegatronGrid.minimumContextShare

    /// Megatron's context-parallel views of a submesh whose logical shapes are `shapes`: `[rows / cp, cp, columns]`
    /// for every 2-D shape whose columns (the tensor-parallel axis) stay inside a node and whose rows outnumber the
    /// `batch` samples of an iteration, which data parallelism alone cannot spread over them, and every
    /// context-parallel size of `sizes` that divides its rows into data-parallel rows that divide the samples. Their
    /// catalogs hold Megatron's context-parallel layouts only (`StageLayoutCatalog`), so that the DP's space holds the
    /// stages the Megatron grid lays out where a 2-D view cannot. Where `heads` are given (the all-to-all exchange),
    /// only views whose `cp x columns` divides every head count. Under hierarchical context parallelism
    /// (`hierarchical`) the context axis is cut into `[cp / a, a]` by the all-to-all group the Megatron grid takes
    /// (`MegatronConfiguration.defaultContextAllToAll`, whose `a x columns` divide a domain and `heads`); a `cp` with no
    /// group gives no view.
    static func contextViews(of shapes: [[Int]], sizes: [Int], devicesPerDomain: Int, batch: Int, heads: [AttentionHeads] = [],
                             hierarchical: Bool = false) -> [[Int]] {
        shapes.filter { $0.count == 2 && $0[1] <= devicesPerDomain && $0[0] > batch }.flatMap { shape in
            sizes.compactMap { cp -> [Int]? in
                guard shape[0] % cp == 0 && batch % (shape[0] / cp) == 0 else { return nil }
                guard hierarchical else { return heads.allSatisfy { $0.divide(over: cp * shape[1]) } ? [shape[0] / cp, cp, shape[1]] : nil }
                guard let group = MegatronConfiguration.defaultContextAllToAll(contextParallel: cp, tensorParallel: shape[1],
                                                                               devicesPerDomain: devicesPerDomain, heads: heads) else { return nil }
                return [shape[0] / cp, cp / group, group, shape[1]]
            }
        }
    }

    public var deviceMemoryBytes: Double? { cluster.device.memoryBytes }

    // MARK: Layouts and profiles

    /// The catalog of `submesh`'s view `shape` for this count, made once; a build `isCancelled` abandons throws
    /// and is not kept (the shelf serves later searches). The view's first catalog serves every count all of
    /// whose layouts it gives whole samples; any other count takes those that do, then the layouts solved at it.
    func catalog(_ submesh: SubmeshShape, _ shape: [Int], isCancelled: () -> Bool = { false }) throws(CancellationError) -> StageLayoutCatalog? {
        let view = [submesh.nodes, submesh.devicesPerNode] + shape
        func build() throws(CancellationError) -> StageLayoutCatalog? {
            guard let mesh = try? submesh.representativeMesh(shape: shape, in: cluster) else { return nil }
            return try StageLayoutCatalog(model: model, clustering: clustering, analysis: analysis, search: search, mesh: mesh,
                                          prices: ReshardingPrices(mesh: mesh), includesMegatronLayouts: includesMegatronLayouts,
                                          isCancelled: isCancelled)
        }
        guard let first = try catalogs.table.value(for: view, compute: build) else { return nil }
        let signature = StageLayoutCatalog.batchSplitSignature(model: model, meshShape: shape)
        return try catalogs.table.value(for: view + [-1] + signature) { () throws(CancellationError) -> StageLayoutCatalog? in
            let whole = first.layouts.filter { StageLayoutCatalog.keepsWholeSamples($0, clustering: clustering, model: model, meshShape: shape) }
            // A view first built at a count none of whose layouts gave whole samples is built again here.
            guard whole.count < first.layouts.count || first.layouts.isEmpty else { return first }
            var layouts = whole
            for layout in try build()?.layouts ?? [] where !layouts.contains(layout) { layouts.append(layout) }
            return StageLayoutCatalog(mesh: first.mesh, layouts: layouts)
        }
    }

    /// The strategies of clustered layers `layers` under `layout` on `submesh`.
    public func strategies(layers: Range<Int>, submesh: SubmeshShape, layout: Layout) -> [OpStrategy] {
        // A chosen layout's catalog is on the shelf already, and the lookup is never cancelled.
        guard let catalog = try? catalog(submesh, layout.meshShape) else { preconditionFailure("a chosen layout has a catalog") }
        return layers.flatMap { layer in
            let strategies = catalog.layouts[layout.layout][layer]
            return sharded(strategies, zeroStage: layout.zeroStage,
                           reduced: reducesParameters(strategies, layer: layer, meshShape: layout.meshShape))
        }
    }

    /// `strategies` of a clustered layer with the parameters of its ops sharded by at least `zeroStage`, where
    /// `reduced` (`reducesParameters`) says the op has parameter state for ZeRO to shard.
    private func sharded(_ strategies: [OpStrategy], zeroStage: Int, reduced: [Bool]) -> [OpStrategy] {
        guard zeroStage > 0 else { return strategies }
        return zip(strategies, reduced).map { strategy, reduced in
            reduced ? OpStrategy(indexOfAxis: strategy.indexOfAxis, zeroStage: max(strategy.zeroStage, zeroStage)) : strategy
        }
    }

    /// Whether each op of clustered layer `layer`, under `strategies` on a mesh of `meshShape`, has parameter state
    /// for ZeRO to shard: an op without parameters has none, nor one whose parameters' gradients are reduced over no
    /// axis of more than one device (a replicated computation); a saved plan records ZeRO for neither
    /// (`StageLayout.storedParameters(in:planStage:)`), as `OpStrategy.candidates` gives such ops no ZeRO variant.
    /// It does not depend on the ZeRO stage, so a family finds it once for all its variants.
    private func reducesParameters(_ strategies: [OpStrategy], layer: Int, meshShape: [Int]) -> [Bool] {
        let graph = model.graph
        return zip(clustering.layers[layer].operations, strategies).map { op, strategy in
            let inputs = graph.operations[op].inputs
            return inputs.indices.contains { operand in
                graph[inputs[operand]].isParameter
                    && strategy.gradientSpec(operand, in: graph.operations[op].indexSpace).partialAxes.contains { meshShape[$0] > 1 }
            }
        }
    }

    /// The layouts of one logical view and one layout of its catalog, one per training variant, lightest
    /// first: once a variant fits, the variants `FittingVariants` finds needless are not priced, and their
    /// profiles are never built. Profiles and chunk figures are made once, the first time a question needs them
    /// (a thread that needs one another is making waits for it); one whose making throws (a search past its
    /// time limit) is not kept.
    private final class LayoutFamily: @unchecked Sendable {
        let catalog: StageLayoutCatalog
        /// One layout per variant, ordered so that every variant comes after the lighter ones.
        let layouts: [Layout]
        private let profiles = SharedTable<Int, LayerCostProfile>()
        /// `reducesParameters` of each clustered layer, one entry (key 0), the same for every variant.
        private let reduced = SharedTable<Int, [[Bool]]>()
        private let figures = SharedTable<Int, [[RankSummary.Chunk]]>()

        init(catalog: StageLayoutCatalog, layouts: [Layout]) {
            self.catalog = catalog
            self.layouts = layouts
        }

        func profile<Failure: Error>(_ variant: Int, make: () throws(Failure) -> LayerCostProfile) throws(Failure) -> LayerCostProfile {
            try profiles.value(for: variant, compute: make)
        }

        func reducedParameters(make: () -> [[Bool]]) -> [[Bool]] {
            reduced.value(for: 0, compute: make)
        }

        func figures<Failure: Error>(_ variant: Int, make: () throws(Failure) -> [[RankSummary.Chunk]]) throws(Failure) -> [[RankSummary.Chunk]] {
            try figures.value(for: variant, compute: make)
        }
    }

    /// `body`'s result for each of `families`, in their order, visiting them from a starting family that
    /// differs from one call to the next (spread by the golden ratio): threads asking about the same submesh at
    /// once then make different families' profiles instead of waiting on each other's.
    private func eachFamily<Result>(_ families: [LayoutFamily],
                                    _ body: (LayoutFamily) throws(CancellationError) -> Result) throws(CancellationError) -> [Result] {
        guard !families.isEmpty else { return [] }
        let visit = traversals.next()
        let start = Int((Double(visit) * 0.6180339887498949).truncatingRemainder(dividingBy: 1) * Double(families.count))
        var results = [Result?](repeating: nil, count: families.count)
        for step in families.indices {
            let index = (start + step) % families.count
            results[index] = try body(families[index])
        }
        return results.map { $0! }
    }

    /// The families of `submesh`'s layouts, in a fixed order; their catalogs are built here, so this is where a
    /// question waits longest, and where `isCancelled` abandons it most often.
    private func families(on submesh: SubmeshShape, isCancelled: () -> Bool) throws(CancellationError) -> [LayoutFamily] {
        try submeshFamilies.value(for: submesh) { () throws(CancellationError) -> [LayoutFamily] in
            // Without overlap, ZeRO-1 holds less than no sharding and takes no longer (a smaller optimizer step,
            // the same synchronisation): ZeRO-0 can never be the fastest that fits.
            let zeroStages = variants.zeroStages.filter { !($0 == 0 && variants.zeroStages.contains(1) && !model.options.overlapGradientReduction) }
            let ordered = zeroStages.sorted().flatMap { zero in
                variants.recomputeModes.sorted { $0.strength < $1.strength }.map { (zero, $0) }
            }
            var result: [LayoutFamily] = []
            for shape in views[submesh] ?? [] {
                guard let catalog = try catalog(submesh, shape, isCancelled: isCancelled) else { continue }
                for index in catalog.layouts.indices {
                    result.append(LayoutFamily(catalog: catalog, layouts: ordered.map { zero, mode in
                        Layout(meshShape: shape, layout: index, zeroStage: zero, recompute: mode == model.options.recompute ? nil : mode)
                    }))
                }
            }
            return result
        }
    }

    /// The profile of `family`'s variant `variant`, not begun once `isCancelled` says so.
    private func profile(_ family: LayoutFamily, _ variant: Int, isCancelled: () -> Bool) throws(CancellationError) -> LayerCostProfile {
        try family.profile(variant) { () throws(CancellationError) -> LayerCostProfile in
            if isCancelled() { throw CancellationError() }
            let layout = family.layouts[variant], catalog = family.catalog
            let reduced = layout.zeroStage == 0 ? [] : family.reducedParameters {
                catalog.layouts[layout.layout].enumerated().map { layer, strategies in
                    reducesParameters(strategies, layer: layer, meshShape: layout.meshShape)
                }
            }
            let layouts = catalog.layouts[layout.layout].enumerated().map { layer, strategies in
                layout.zeroStage == 0 ? strategies : sharded(strategies, zeroStage: layout.zeroStage, reduced: reduced[layer])
            }
            let neighbour = cluster.pipelineNeighbour(after: catalog.mesh.devices[0], devices: catalog.mesh.devices.count)
            return LayerCostProfile(model: model, clustering: clustering, mesh: catalog.mesh, layouts: layouts,
                                    recompute: layout.recompute, cluster: cluster, neighbour: neighbour)
        }
    }

    /// The best layout of `family` by `price` (a score and a candidate, or nil when it does not fit): every
    /// variant but those a lighter fitting one makes needless. With overlapped gradient reduction the
    /// exposed synchronisation may shrink with sharding, so every variant is priced.
    private func best<Candidate>(in family: LayoutFamily, isCancelled: () -> Bool,
                                 _ price: (Int, Layout, LayerCostProfile) -> (score: Double, candidate: Candidate)?)
        throws(CancellationError) -> (score: Double, candidate: Candidate)? {
        var best: (score: Double, candidate: Candidate)?
        var fitting = FittingVariants(prunes: !model.options.overlapGradientReduction, recompute: model.options.recompute,
                                      linearLayersInFP8: model.options.precision != .bf16,
                                      reducesZeroThreeOnce: model.options.accumulatesUnshardedGradients)
        for (variant, layout) in family.layouts.enumerated() where !fitting.makesNeedless(layout) {
            guard let priced = price(variant, layout, try profile(family, variant, isCancelled: isCancelled)) else { continue }
            fitting.record(layout)
            if priced.score < best?.score ?? .infinity { best = priced }
        }
        return best
    }

    /// Whether no layout of `layers` on `submesh` can fit with `inFlight` microbatches: not even every
    /// parameter's state and the least activations spread over all its devices (every weight an FP8 one where the
    /// options keep FP8 weights: a bound).
    private func hopeless(_ layers: Range<Int>, on submesh: SubmeshShape, inFlight: Double) -> Bool {
        let elements = parameterElements[layers.upperBound] - parameterElements[layers.lowerBound]
        let frozen = frozenParameterElements[layers.upperBound] - frozenParameterElements[layers.lowerBound]
        let least = ParameterState.leastBytes(elements: elements, frozenElements: frozen, devices: submesh.deviceCount,
                                              options: model.options)
            + activationFloor.bytes(layers: layers, inFlight: inFlight) / Double(submesh.deviceCount)
        return least > cluster.device.memoryBytes - TrainingOptions.frameworkOverheadBytes
    }

    // MARK: GPipe and 1F1B stages

    /// The best stage for `layers` on `submesh` with `inFlightMicrobatches` microbatches alive; `microbatches`
    /// must be the count `model` prices (the planner builds one oracle per microbatch count).
    public func stageCost(layers: Range<Int>, submesh: SubmeshShape, microbatches: Int,
                          inFlightMicrobatches: Int) -> StageCandidate<Layout>? {
        precondition(microbatches == model.microbatches, "this oracle prices \(model.microbatches) microbatches")
        // Never cancelled: the question is answered in full.
        return try? stage(layers: layers, submesh: submesh, inFlightMicrobatches: inFlightMicrobatches) { false }
    }

    /// The best GPipe or 1F1B stage, or `CancellationError` once `isCancelled` says so.
    private func stage(layers: Range<Int>, submesh: SubmeshShape, inFlightMicrobatches: Int,
                       isCancelled: () -> Bool) throws(CancellationError) -> StageCandidate<Layout>? {
        let inFlight = Double(inFlightMicrobatches)
        if hopeless(layers, on: submesh, inFlight: inFlight) { return nil }
        let memory = cluster.device.memoryBytes
        let m = Double(model.microbatches)
        var best: (score: Double, candidate: StageCandidate<Layout>)?
        var least = (latency: Double.infinity, tail: Double.infinity)
        let perFamily = try eachFamily(try families(on: submesh, isCancelled: isCancelled)) { family throws(CancellationError) in
            try self.best(in: family, isCancelled: isCancelled) { _, layout, profile -> (score: Double, candidate: StageCandidate<Layout>)? in
                let rank = RankSummary(profile: profile, chunks: [layers], layerCount: clustering.layers.count)
                let activations = rank.chunkActivations[0]
                let peak = rank.fixedBytes + activations * inFlight
                let latency = rank.microbatchSeconds
                let tail = rank.iterationSeconds(evaluator: evaluator, options: model.options, zeroStage: layout.zeroStage)
                    + sharedParameterSeconds([layers], catalog: family.catalog, layout: layout)
                // Only the activations in flight shrink at a higher count.
                if rank.fixedBytes <= memory { least = (min(least.latency, latency), min(least.tail, tail)) }
                guard peak <= memory else { return nil }
                return (latency * m + tail, StageCandidate(microbatchSeconds: latency, iterationSeconds: tail, peakMemoryBytes: peak,
                                                           activationBytesPerMicrobatch: activations, payload: layout))
            }
        }
        for found in perFamily { if let found, found.score < best?.score ?? .infinity { best = found } }
        guard var chosen = best?.candidate else { return nil }
        (chosen.leastMicrobatchSeconds, chosen.leastIterationSeconds) = least
        return chosen
    }

    // MARK: Interleaved ranks

    /// The best rank of `layers.count` layers over `position.virtualStages` chunks on `submesh` at `position`.
    public func stageCost(layers: Range<Int>, submesh: SubmeshShape, microbatches: Int,
                          position: PipelinePosition) -> StageCandidate<Layout>? {
        stageCost(layers: layers, submesh: submesh, microbatches: microbatches, position: position) { false }
    }

    /// The best stage or rank at `position`, or nil without an answer once `isCancelled` says so: a question
    /// waiting on a catalog build or a profile gives up between their long steps, and nothing half-made is kept.
    public func stageCost(layers: Range<Int>, submesh: SubmeshShape, microbatches: Int, position: PipelinePosition,
                          isCancelled: () -> Bool) -> StageCandidate<Layout>? {
        precondition(microbatches == model.microbatches, "this oracle prices \(model.microbatches) microbatches")
        do {
            return position.schedule == .interleaved
                ? try rank(layers: layers, submesh: submesh, position: position, isCancelled: isCancelled)
                : try stage(layers: layers, submesh: submesh, inFlightMicrobatches: position.inFlightMicrobatches, isCancelled: isCancelled)
        } catch {
            return nil
        }
    }

    /// The best interleaved rank, or `CancellationError` once `isCancelled` says so.
    private func rank(layers: Range<Int>, submesh: SubmeshShape, position: PipelinePosition,
                      isCancelled: () -> Bool) throws(CancellationError) -> StageCandidate<Layout>? {
        precondition(supportsInterleaving, "interleaving needs a model whose middle layers share one shape")
        let count = clustering.layers.count
        // Every chunk of a rank holds at least one layer.
        let chunks = position.virtualStages
        guard layers.count >= chunks else { return nil }
        let first = layers.lowerBound == 0, last = layers.upperBound == count
        let occupancy = occupancies.value(for: position) { position.occupancy }
        let memory = cluster.device.memoryBytes
        let rankClass = try rankClasses.value(for: [layers.count, first ? 1 : 0, last ? 1 : 0, chunks, position.stageCount,
                                                    submesh.nodes, submesh.devicesPerNode]) { () throws(CancellationError) -> RankClass in
            // The first rank warms up deepest: what fits there fits at every rank of the pipeline.
            let deepest = PipelinePosition(schedule: .interleaved, stagesFromEnd: position.stageCount, stageCount: position.stageCount,
                                           virtualStages: chunks, microbatches: position.microbatches)
            let candidates = try rankCandidates(layers: layers.count, first: first, last: last, chunks: chunks, submesh: submesh,
                                                deepest: occupancies.value(for: deepest) { deepest.occupancy }, isCancelled: isCancelled)
            // Only the activations in flight shrink at a higher count.
            let possible = candidates.filter { $0.fixedBytes <= memory }
            return RankClass(candidates: candidates, leastLatency: possible.map(\.latency).min(), leastTail: possible.map(\.tail).min())
        }
        // The fastest that fits: candidates are sorted by score, and only memory depends on the position.
        for candidate in rankClass.candidates {
            let peak = candidate.fixedBytes + occupancy.peakBytes(chunkBytes: candidate.chunkActivations)
            guard peak <= memory else { continue }
            return StageCandidate(microbatchSeconds: candidate.latency, iterationSeconds: candidate.tail, peakMemoryBytes: peak,
                                  activationBytesPerMicrobatch: candidate.chunkActivations.reduce(0, +), payload: candidate.layout,
                                  leastMicrobatchSeconds: rankClass.leastLatency, leastIterationSeconds: rankClass.leastTail)
        }
        return nil
    }

    /// The ways to run one class of rank, fastest first (`rankCandidates`), and the least time per microbatch
    /// and tail of those whose memory apart from the activations fits (what a higher count could reach).
    private struct RankClass: Sendable {
        var candidates: [RankCandidate]
        var leastLatency: Double?
        var leastTail: Double?
    }

    /// One way to run a rank: its time and memory apart from the activations alive, which depend on its position.
    private struct RankCandidate: Sendable {
        var score: Double
        var latency: Double
        var tail: Double
        var fixedBytes: Double
        var chunkActivations: [Double]
        var layout: Layout
    }

    /// Every layout of a rank of `layers` layers over `chunks` chunks on `submesh`, fastest first (ties in
    /// layout order), made once for all the positions the table asks about. A variant that takes no less time
    /// and no less memory in every chunk than another of its family is left out, and so is one at least as
    /// heavy as a variant that fits even at `deepest`, the occupancy of the pipeline's first rank, which keeps
    /// the most alive (as in `best(in:_:)`, only without overlapped gradient reduction).
    private func rankCandidates(layers: Int, first: Bool, last: Bool, chunks: Int, submesh: SubmeshShape,
                                deepest: ChunkOccupancy, isCancelled: () -> Bool) throws(CancellationError) -> [RankCandidate] {
        let sizes = ChunkSplit.sizes(layers: layers, chunks: chunks, isFirstRank: first)
        let kinds = sizes.indices.map { chunk in first && chunk == 0 ? 0 : last && chunk == chunks - 1 ? 2 : 1 }
        // The layers each chunk's figures are those of (`chunkFigures`), for the parameters the rank shares.
        let count = clustering.layers.count
        let chunkLayers = sizes.indices.map { chunk in
            [0 ..< sizes[chunk], 1 ..< 1 + sizes[chunk], count - sizes[chunk] ..< count][kinds[chunk]]
        }
        let m = Double(model.microbatches)
        let perFamily = try eachFamily(try families(on: submesh, isCancelled: isCancelled)) { family throws(CancellationError) in
            var kept: [RankCandidate] = []
            var fitting = FittingVariants(prunes: !model.options.overlapGradientReduction, recompute: model.options.recompute,
                                      linearLayersInFP8: model.options.precision != .bf16,
                                      reducesZeroThreeOnce: model.options.accumulatesUnshardedGradients)
            for (variant, layout) in family.layouts.enumerated() where !fitting.makesNeedless(layout) {
                let figures = try family.figures(variant) { () throws(CancellationError) in
                    chunkFigures(try profile(family, variant, isCancelled: isCancelled))
                }
                var summary = RankSummary()
                for chunk in sizes.indices { summary.append(figures[kinds[chunk]][sizes[chunk]]) }
                let latency = summary.microbatchSeconds
                let tail = summary.iterationSeconds(evaluator: evaluator, options: model.options, zeroStage: layout.zeroStage)
                    + sharedParameterSeconds(chunkLayers, catalog: family.catalog, layout: layout)
                let candidate = RankCandidate(score: latency * m + tail, latency: latency, tail: tail, fixedBytes: summary.fixedBytes,
                                              chunkActivations: summary.chunkActivations, layout: layout)
                if candidate.fixedBytes + deepest.peakBytes(chunkBytes: candidate.chunkActivations) <= cluster.device.memoryBytes {
                    fitting.record(layout)
                }
                let dominated = kept.contains { other in
                    other.score <= candidate.score && other.fixedBytes <= candidate.fixedBytes
                        && zip(other.chunkActivations, candidate.chunkActivations).allSatisfy { $0 <= $1 }
                }
                if !dominated { kept.append(candidate) }
            }
            return kept
        }
        // Stable: equal scores keep the layouts' order.
        return Array(perFamily.joined()).enumerated().sorted { ($0.element.score, $0.offset) < ($1.element.score, $1.offset) }.map(\.element)
    }

    /// Seconds a stage of clustered layers `layers` (a rank's chunks) under `layout` of `catalog` spends once an
    /// iteration all-reducing the gradients of the parameters that layers outside it read too (a tied embedding
    /// table): what `PlanEvaluator.sharedParameterSynchronization` adds to each rank's exposed synchronisation, its
    /// first reader's shard of each in the gradients' type, `2 (n - 1) / n` of it sent to the other ranks
    /// (`PlanEvaluator.sharedParameterExchangeBytes`; `SharedParameterReaders` says what n the DP takes). The DP does
    /// not know where those ranks sit, so the link is the one its point-to-point transfers take
    /// (`Cluster.pipelineNeighbour`): into another NVLink domain whenever the cluster has several, the slowest link
    /// between two submeshes, which a pipeline over the whole cluster crosses between its first and last ranks.
    func sharedParameterSeconds(_ layers: [Range<Int>], catalog: StageLayoutCatalog, layout: Layout) -> Double {
        let shares = sharedReaders.shared(by: layers)
        guard !shares.isEmpty else { return 0 }
        let mesh = catalog.mesh, graph = model.graph
        let operatorModel = model.operatorModel(meshShape: mesh.shape)
        let neighbour = cluster.pipelineNeighbour(after: mesh.devices[0], devices: mesh.devices.count)
        return shares.reduce(0) { seconds, share in
            let reader = share.reader, operation = graph.operations[reader.operation]
            let strategy = catalog.layouts[layout.layout][reader.group][reader.operation - clustering.layers[reader.group].operations.lowerBound]
            let shard = operatorModel.localElements(share.parameter, strategy.operandSpec(reader.operand, in: operation.indexSpace))
                * model.options.gradientPrecision.bytesPerElement
            return seconds + cluster.sendSeconds(bytes: PlanEvaluator.sharedParameterExchangeBytes(shardBytes: shard, ranks: share.ranks),
                                                 from: mesh.devices[0], to: neighbour)
        }
    }

    /// The figures of every chunk a rank can have on `profile`, by kind (0: the model's first chunk, 1: a run
    /// of middle layers, 2: the model's last chunk) and size (the middle layers are interchangeable).
    private func chunkFigures(_ profile: LayerCostProfile) -> [[RankSummary.Chunk]] {
        let count = clustering.layers.count
        return [(0 ..< count).map { RankSummary.chunk(0 ..< $0, profile: profile, layerCount: count) },
                (0 ..< count - 1).map { RankSummary.chunk(1 ..< 1 + $0, profile: profile, layerCount: count) },
                (0 ..< count).map { RankSummary.chunk(count - $0 ..< count, profile: profile, layerCount: count) }]
    }
}

/// The variants of one layout family found to fit so far, for skipping the needless ones: a variant at least
/// as heavy as a fitting one in both ZeRO stage and recomputation strength, and reducing gradients the same
/// way, is never faster (more sharding or recomputation only adds collectives or recomputation, and only saves
/// memory). ZeRO 0 and 1 reduce gradients once per iteration, after the last backward pass; ZeRO 2 and 3
/// reduce-scatter them beside every microbatch's backward pass, which can hide what the former leave exposed,
/// so a fitting ZeRO-1 variant says nothing about ZeRO-2. With overlapped gradient reduction sharding may shrink
/// the exposed synchronisation, so nothing is skipped (`prunes` false). Under FP8, selective-op reruns every FP8
/// product (torchtitan's save list has no `_scaled_mm`), more than `mlp` and `all-but-qkv` rerun, so there it says
/// nothing about those two. Where ZeRO-3 reduce-scatters once an iteration (`reducesZeroThreeOnce`,
/// `TrainingOptions.accumulatesUnshardedGradients`), it may move fewer bytes a microbatch than ZeRO-2, which
/// reduce-scatters every one, so a fitting ZeRO-2 variant says nothing about ZeRO-3. Selective recomputation reruns a
/// fused attention kernel, which `elementwise`, `selective-op` and `mlp` keep, so a fitting selective variant says
/// nothing about those three; `norm-act` reruns the norm and activation of the experts, which selective keeps, so a
/// fitting norm-act variant says nothing about selective (every stronger mode reruns them too).
struct FittingVariants {
    let prunes: Bool
    /// The recomputation a layout without its own takes (the model's).
    let recompute: RecomputeMode
    /// Whether the linear layers run in FP8 (`StageCostModel.fp8AlternateProductRecomputation`).
    let linearLayersInFP8: Bool
    /// Whether ZeRO-3 reduce-scatters once an iteration, not every microbatch.
    let reducesZeroThreeOnce: Bool
    private var fitted: [(zeroStage: Int, recompute: RecomputeMode)] = []

    init(prunes: Bool, recompute: RecomputeMode, linearLayersInFP8: Bool = false, reducesZeroThreeOnce: Bool = false) {
        self.prunes = prunes
        self.recompute = recompute
        self.linearLayersInFP8 = linearLayersInFP8
        self.reducesZeroThreeOnce = reducesZeroThreeOnce
    }

    /// Whether a variant that already fits makes `layout` needless.
    func makesNeedless(_ layout: StageSearchOracle.Layout) -> Bool {
        let mode = layout.recompute ?? recompute
        let perMicrobatch = layout.zeroStage >= 2
        return prunes && fitted.contains {
            $0.zeroStage <= layout.zeroStage && $0.recompute.strength <= mode.strength && ($0.zeroStage >= 2) == perMicrobatch
                && !(reducesZeroThreeOnce && $0.zeroStage < 3 && layout.zeroStage >= 3)
                && !(linearLayersInFP8 && $0.recompute == .selectiveOperators && (mode == .mlp || mode == .allButQKV))
                && !($0.recompute == .selective && [.elementwise, .selectiveOperators, .mlp].contains(mode))
                && !($0.recompute == .normAct && mode == .selective)
        }
    }

    /// Notes that `layout` fits.
    mutating func record(_ layout: StageSearchOracle.Layout) {
        fitted.append((layout.zeroStage, layout.recompute ?? recompute))
    }
}
