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
    }

    public let model: StageCostModel
    public let cluster: Cluster
    public let clustering: LayerClustering
    public let search: IntraOperatorSearch
    /// The one logical mesh shape stages may take, or nil for every view of each submesh.
    public let meshShape: [Int]?
    let analysisLayers: [Layer]
    let analysis: GraphAnalysis
    let evaluator: PlanEvaluator
    /// Megatron's layout of the whole graph for each logical mesh shape, with and without sequence parallelism.
    let expertLayouts: [[Int]: [[OpStrategy]]]
    /// Each submesh's logical meshes (representative devices), with the layout changes priced on them.
    let meshes: [SubmeshShape: [[Int]: ReshardingPrices]]

    public init(model: StageCostModel, cluster: Cluster, clustering: LayerClustering, analysis: GraphAnalysis,
                search: IntraOperatorSearch, submeshes: [SubmeshShape], meshShape: [Int]? = nil,
                includesMegatronLayouts: Bool = true) {
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

    /// Answers remembered by an integer key, shared by the threads the DP asks on.
    final class Memory<Value>: @unchecked Sendable {
        private let lock = NSLock()
        private var values: [[Int]: Value] = [:]

        func recall(_ key: [Int]) -> Value? { lock.withLock { values[key] } }

        func remember(_ key: [Int], _ value: Value) { lock.withLock { values[key] = value } }
    }

    /// Strategies the ILP chose on a mesh shape, by (clustered layer structure, op offset in the layer): a
    /// range made of the same kinds of layers reuses them and only pays an exact evaluation, so the ILP runs
    /// once per mesh shape and kind of range rather than once per range.
    let layouts = Memory<[[Int]: OpStrategy]>()
    /// Exact costs of reused layouts by (layer range, mesh shape, ZeRO stage added): a stage's cost does not
    /// depend on its in-flight microbatches (only its peak memory does), which the DP asks about one by one.
    let evaluations = Memory<StageCost>()
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
        // Without recomputation, nor less than the activations kept, spread the same way.
        if model.options.recompute == .none {
            least += Double(analysis.savedForBackwardBytes(operations: operations)) / Double(model.microbatches)
                / Double(submesh.deviceCount) * inFlight
        }
        if least > budget { return nil }
        var best: StageCandidate<Layout>?
        let keys = opKeys(operations)
        let kinds = Array(Set(keys.map { $0[0] })).sorted()
        // A 1 x n and an n x 1 view are the same mesh with its axes swapped. A 2-D view whose inner axis spans
        // several nodes has both axes crossing the slow links; as Alpa's "single node model parallel" option
        // does, the search keeps the inner axis inside a node (the 1-D view over every device stays).
        let shapes = meshShape.map { shape in submesh.logicalShapes.filter { $0 == shape } }
            ?? submesh.logicalShapes.filter { shape in
                shape.count == 2 && shape[0] > 1 ? shape[1] > 1 && shape[1] <= cluster.devicesPerNode : true
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
                }
            }
            let memoryKey = shape + [-1] + kinds
            var table = layouts.recall(memoryKey)
            if table == nil {
                let canonical = canonicalRanges[kinds].map { clustering.operations(of: $0) } ?? operations
                if let found = try? search.search(model: model, operations: canonical, mesh: mesh, inFlight: inFlight,
                                                  memoryBudget: nil, layers: analysisLayers, prices: prices) {
                    table = Dictionary(zip(opKeys(canonical), found.layout.strategies), uniquingKeysWith: { first, _ in first })
                    layouts.remember(memoryKey, table!)
                }
            }
            if let table, keys.allSatisfy({ table[$0] != nil }) {
                let recalled = StageLayout(operations: operations, mesh: mesh, strategies: keys.map { table[$0]! })
                func evaluate(_ layout: StageLayout, zeroStage: Int) -> StageCost {
                    let key = [layers.lowerBound, layers.upperBound, zeroStage] + shape
                    if let known = evaluations.recall(key) { return known }
                    let cost = model.cost(of: layout)
                    evaluations.remember(key, cost)
                    return cost
                }
                let cost = evaluate(recalled, zeroStage: 0)
                priced.append((recalled, cost))
                if cost.peakMemoryBytes(inFlight: inFlight) > fits {
                    // ZeRO on the reused layout is the cheap remedy; the ILP with the budget runs only when it
                    // is not enough.
                    var remedied = false
                    for zeroStage in [1, 3] where !remedied {
                        let sharded = StageLayout(operations: operations, mesh: mesh, strategies: recalled.strategies.map {
                            OpStrategy(indexOfAxis: $0.indexOfAxis, zeroStage: max($0.zeroStage, zeroStage))
                        })
                        let shardedCost = evaluate(sharded, zeroStage: zeroStage)
                        priced.append((sharded, shardedCost))
                        remedied = shardedCost.peakMemoryBytes(inFlight: inFlight) <= fits
                    }
                    if !remedied { constrained() }
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
                    payload: Layout(meshShape: shape, strategies: layout.strategies))
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
