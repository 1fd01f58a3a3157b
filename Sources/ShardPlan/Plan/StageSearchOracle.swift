import Foundation

/// The stage DP's oracle: the fastest way to run a range of clustered layers on a submesh, found by the
/// intra-operator ILP on each logical view of the submesh (and, optionally, as a guard against the ILP's
/// approximations, Megatron's layout on the same view), priced exactly by `StageCostModel`.
public struct StageSearchOracle: StageCostOracle {
    /// What the plan needs back for a chosen stage: the logical mesh shape and one strategy per op of the
    /// range, in op order (so it reads the same for every range with the same structure).
    public struct Layout: Sendable {
        public var meshShape: [Int]
        public var strategies: [OpStrategy]
        /// The stage's recomputation when it differs from the plan's.
        public var recompute: RecomputeMode?
    }

    public let model: StageCostModel
    public let cluster: Cluster
    public let clustering: LayerClustering
    public let search: IntraOperatorSearch
    /// The one logical mesh shape stages may take, or nil for every view of each submesh.
    public let meshShape: [Int]?
    /// Whether a stage whose reused layout does not fit may recompute more than the plan's options say.
    public let choosesRecomputation: Bool
    /// The least activation memory each clustered layer keeps per microbatch, and the most its recomputation
    /// works in at once (`ActivationFloor`), under the lightest recomputation a stage may take.
    let activationFloor: ActivationFloor
    let analysisLayers: [Layer]
    let analysis: GraphAnalysis
    let evaluator: PlanEvaluator
    /// Megatron's layout of the whole graph for each logical mesh shape, with and without sequence parallelism.
    let expertLayouts: [[Int]: [[OpStrategy]]]
    /// Each submesh's logical meshes (representative devices), with the layout changes priced on them.
    let meshes: [SubmeshShape: [[Int]: ReshardingPrices]]

    public init(model: StageCostModel, cluster: Cluster, clustering: LayerClustering, analysis: GraphAnalysis,
                search: IntraOperatorSearch, submeshes: [SubmeshShape], meshShape: [Int]? = nil,
                includesMegatronLayouts: Bool = true, choosesRecomputation: Bool = false) {
        self.choosesRecomputation = choosesRecomputation
        activationFloor = ActivationFloor(models: choosesRecomputation ? [model, model.recomputing(.full)] : [model],
                                          clustering: clustering, analysis: analysis, cluster: cluster)
        self.model = model
        self.meshShape = meshShape
        self.cluster = cluster
        self.clustering = clustering
        self.search = search
        analysisLayers = analysis.layers
        self.analysis = analysis
        evaluator = PlanEvaluator(kernels: model.kernels)
        var experts: [[Int]: [[OpStrategy]]] = [:]
        let roles = TensorRoles(model.graph)
        for shape in Set(submeshes.flatMap(\.logicalShapes)) where includesMegatronLayouts && shape.count == 2 {
            experts[shape] = [false, true].map {
                MegatronLayout(sequenceParallel: $0).strategies(for: model.graph, meshShape: shape, roles: roles)
            }
        }
        expertLayouts = experts
        var meshes: [SubmeshShape: [[Int]: ReshardingPrices]] = [:]
        for submesh in submeshes {
            for shape in submesh.logicalShapes {
                if let mesh = try? submesh.representativeMesh(shape: shape, in: cluster) { meshes[submesh, default: [:]][shape] = ReshardingPrices(mesh: mesh) }
            }
        }
        self.meshes = meshes
        var canonical: [[Int]: Range<Int>] = [:]
        let count = clustering.layers.count
        for length in 1...max(count, 1) where count > 0 {
            for start in 0...(count - length) {
                let kinds = Array(Set(clustering.layers[start..<start + length].map(\.structureKey))).sorted()
                if canonical[kinds] == nil { canonical[kinds] = start..<start + length }
            }
        }
        canonicalRanges = canonical
    }

    public var deviceMemoryBytes: Double? { cluster.device.memoryBytes }

    /// Strategies the ILP chose on a mesh shape, by (clustered layer structure, op offset in the layer): a
    /// range made of the same kinds of layers reuses them and only pays an exact evaluation, so the ILP runs
    /// once per mesh shape and kind of range rather than once per range.
    let layouts = SharedTable<[Int], [[Int]: OpStrategy]>()
    /// Exact costs of reused layouts by (layer range, mesh shape, ZeRO stage added): a stage's cost does not
    /// depend on its in-flight microbatches (only its peak memory does), which the DP asks about one by one.
    let evaluations = SharedTable<[Int], StageCost>()
    /// For each set of clustered-layer kinds a range can hold, the shortest first range holding exactly
    /// those kinds: the ILP for a kind set always runs on it, so what threads remember does not depend on
    /// which range was asked first (same input, same plan).
    let canonicalRanges: [[Int]: Range<Int>]

    /// (structure key of its clustered layer, offset in that layer) of every op.
    private func opKeys(_ operations: Range<Int>) -> [[Int]] {
        operations.map { op in
            let layer = clustering.layers.first { $0.operations.contains(op) }!
            return [layer.structureKey, op - layer.operations.lowerBound]
        }
    }

    /// The best stage for `layers` on `submesh`; `microbatches` must be the count `model` prices (the planner
    /// builds one oracle per microbatch count).
    public func stageCost(layers: Range<Int>, submesh: SubmeshShape, microbatches: Int,
                          inFlightMicrobatches: Int) -> StageCandidate<Layout>? {
        precondition(microbatches == model.microbatches, "this oracle prices \(model.microbatches) microbatches")
        let operations = clustering.operations(of: layers)
        let inFlight = Double(inFlightMicrobatches)
        let budget = cluster.device.memoryBytes - TrainingOptions.frameworkOverheadBytes
        // No layout holds less than every parameter's state spread over all the submesh's devices.
        var parameters = Set<ValueID>()
        for op in operations { for input in model.graph.operations[op].inputs where model.graph[input].isParameter { parameters.insert(input) } }
        let elements = parameters.reduce(0.0) { $0 + Double(model.graph[$1].type.elementCount) }
        var least = ParameterState(elements: elements, dataParallel: Double(submesh.deviceCount), zeroStage: 3).totalBytes
        // Nor less than the activations the lightest recomputation keeps, spread the same way.
        least += activationFloor.bytes(layers: layers, inFlight: inFlight) / Double(submesh.deviceCount)
        if least > budget { return nil }
        var best: StageCandidate<Layout>?
        let keys = opKeys(operations)
        let kinds = Array(Set(keys.map { $0[0] })).sorted()
        // A 1 x n and an n x 1 view are the same mesh with its axes swapped. A 2-D view whose inner axis spans
        // several nodes has both axes crossing the slow links; as Alpa's "single node model parallel" option
        // does, the search keeps the inner axis inside a node (the 1-D view over every device stays).
        let shapes = meshShape.map { shape in submesh.logicalShapes.filter { $0 == shape } }
            ?? submesh.logicalShapes.filter { shape in
                shape.count == 2 && shape[0] > 1 ? shape[1] > 1 && shape[1] <= cluster.devicesPerDomain : true
            }
        let fits = cluster.device.memoryBytes
        for shape in shapes {
            guard let prices = meshes[submesh]?[shape] else { continue }
            let mesh = prices.mesh
            // Each layout is priced once; the ILP's own results come priced.
            var priced: [(layout: StageLayout, cost: StageCost)] = (expertLayouts[shape] ?? []).map {
                let layout = StageLayout(operations: operations, mesh: mesh, strategies: Array($0[operations]))
                return (layout, model.cost(of: layout))
            }
            func constrained() {
                if let found = try? search.search(model: model, operations: operations, mesh: mesh, inFlight: inFlight,
                                                  memoryBudget: budget, layers: analysisLayers, prices: prices) {
                    priced.append((found.layout, found.cost))
                } else if choosesRecomputation && model.options.recompute != .full,
                          let found = try? search.search(model: model.recomputing(.full), operations: operations, mesh: mesh,
                                                         inFlight: inFlight, memoryBudget: budget, layers: analysisLayers, prices: prices) {
                    // No layout fits as the plan recomputes; one may with full recomputation.
                    var layout = found.layout
                    layout.recompute = .full
                    priced.append((layout, found.cost))
                }
            }
            // Keyed by the submesh too: two submeshes may share a logical shape on other node sizes.
            let memoryKey = [submesh.nodes, submesh.devicesPerNode] + shape + [-1] + kinds
            var table = layouts[memoryKey]
            if table == nil {
                let canonical = canonicalRanges[kinds].map { clustering.operations(of: $0) } ?? operations
                // One microbatch in flight whoever asks first: without a budget memory only enters through the
                // dominance test, which must not depend on thread timing.
                if let found = try? search.search(model: model, operations: canonical, mesh: mesh, inFlight: 1,
                                                  memoryBudget: nil, layers: analysisLayers, prices: prices) {
                    table = Dictionary(zip(opKeys(canonical), found.layout.strategies), uniquingKeysWith: { first, _ in first })
                    layouts[memoryKey] = table
                }
            }
            if let table, keys.allSatisfy({ table[$0] != nil }) {
                let recalled = StageLayout(operations: operations, mesh: mesh, strategies: keys.map { table[$0]! })
                /// The reused layout with ZeRO `zeroStage` at least and `recompute`, priced once per range and view.
                func remedy(zeroStage: Int, recompute: RecomputeMode?) -> (StageLayout, StageCost) {
                    let layout = StageLayout(operations: operations, mesh: mesh, strategies: recalled.strategies.map {
                        OpStrategy(indexOfAxis: $0.indexOfAxis, zeroStage: max($0.zeroStage, zeroStage))
                    }, recompute: recompute)
                    let modes: [RecomputeMode?] = [nil] + RecomputeMode.allCases
                    let key = [layers.lowerBound, layers.upperBound, zeroStage, modes.firstIndex(of: recompute)!,
                               submesh.nodes, submesh.devicesPerNode] + shape
                    if let known = evaluations[key] { return (layout, known) }
                    let cost = model.cost(of: layout)
                    evaluations[key] = cost
                    return (layout, cost)
                }
                let plain = remedy(zeroStage: 0, recompute: nil)
                priced.append(plain)
                if plain.1.peakMemoryBytes(inFlight: inFlight) > fits {
                    // Remedies on the reused layout: ZeRO-1 costs next to nothing, so it is tried alone first;
                    // then ZeRO-3, and (when the planner chooses recomputation) selective or full recomputation
                    // with ZeRO-1, all priced, the fastest that fits winning below. The ILP with the budget runs
                    // only when none fits.
                    var remedies = [remedy(zeroStage: 1, recompute: nil)]
                    if remedies[0].1.peakMemoryBytes(inFlight: inFlight) > fits {
                        remedies.append(remedy(zeroStage: 3, recompute: nil))
                        let stronger = RecomputeMode.allCases.filter { choosesRecomputation && $0.strength > model.options.recompute.strength }
                        for mode in stronger { remedies.append(remedy(zeroStage: 1, recompute: mode)) }
                    }
                    priced += remedies
                    if !remedies.contains(where: { $0.1.peakMemoryBytes(inFlight: inFlight) <= fits }) { constrained() }
                }
            } else {
                constrained()
            }
            for (layout, cost) in priced {
                let peak = cost.peakMemoryBytes(inFlight: inFlight)
                guard peak <= fits else { continue }
                let perIteration = evaluator.exposedSynchronization(
                    cost.gradientSynchronizationSeconds, options: model.options, forwardSeconds: cost.forwardSeconds,
                    backwardSeconds: cost.backwardSeconds) + cost.optimizerSeconds
                let candidate = StageCandidate(
                    microbatchSeconds: cost.forwardSeconds + cost.backwardSeconds, iterationSeconds: perIteration,
                    peakMemoryBytes: peak, activationBytesPerMicrobatch: cost.activationBytesPerMicrobatch,
                    payload: Layout(meshShape: shape, strategies: layout.strategies, recompute: layout.recompute))
                let microbatches = Double(model.microbatches)
                if best.map({ candidate.microbatchSeconds * microbatches + candidate.iterationSeconds
                        < $0.microbatchSeconds * microbatches + $0.iterationSeconds }) ?? true {
                    best = candidate
                }
            }
        }
        return best
    }
}
