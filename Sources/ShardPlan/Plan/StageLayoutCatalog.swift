/// The layouts a stage may take on one logical mesh of one submesh, each as one strategy per op of every
/// clustered layer, so that a stage of any layers takes their slices:
/// - for every structure of layer, the ILP's layout of a layer of it between its neighbours (the layers
///   before and after, whose boundaries the ILP prices too), chosen where that layer's neighbours are most
///   typical (a block between two blocks rather than next to the embedding), so that every layer of one
///   structure gets the same strategies and ranges of equal structure cost the same;
/// - the same with time plus a price per byte held (`IntraOperatorSearch`'s `secondsPerByte`), at prices that
///   make memory weigh as much as time, and four times as much: leaner layouts for stages short of memory;
/// - Megatron-LM's layout on a `[dp, tp]` view, with and without sequence parallelism (each layer of a
///   structure with its representative's strategies), so that the stages of Megatron's configurations are
///   in the search's space.
/// A context-parallel view `[dp, cp, tp]` (`StageSearchOracle.contextViews`) holds Megatron's context-parallel
/// layouts only, with and without sequence parallelism: no ILP runs on three axes.
/// Duplicates are dropped, keeping the first.
struct StageLayoutCatalog: Sendable {
    let mesh: DeviceMesh
    /// Each layout: per clustered layer, the strategies of its ops.
    let layouts: [[[OpStrategy]]]

    /// The prices of memory, relative to an unconstrained layout's seconds per byte, of the lean layouts.
    static let leanWeights = [1.0, 4.0]

    /// Catalogs by submesh and logical shape, made once. The planner keeps one shelf for all the microbatch
    /// counts it tries: a view's layouts are solved at the first count that asks for them (the strategies a
    /// view's ILP picks barely move with the microbatch size, while solving them is a quarter of a count's
    /// search), and every count prices them with its own cost model. A count for which some of those layouts
    /// would split a microbatch into fractions of a sample takes the others with the layouts solved at that
    /// count, kept under the view and the count's `batchSplitSignature`, so that counts alike in which splits
    /// give whole samples share them.
    final class Shelf: Sendable {
        let table = SharedTable<[Int], StageLayoutCatalog?>()
        init() {}
    }

    /// The catalog of `mesh`. Once `isCancelled` says so (a search past its time limit) the build is
    /// abandoned between the long steps of its problems and solves, and throws.
    init(model: StageCostModel, clustering: LayerClustering, analysis: GraphAnalysis, search: IntraOperatorSearch,
         mesh: DeviceMesh, prices: ReshardingPrices, includesMegatronLayouts: Bool,
         isCancelled: () -> Bool = { false }) throws(CancellationError) {
        func checkpoint() throws(CancellationError) { if isCancelled() { throw CancellationError() } }
        self.mesh = mesh
        let layers = clustering.layers
        let keys = clustering.structureKeys
        // For each structure, the first layer whose window of neighbours' structures (and its place in it) is
        // the most common among the layers of that structure.
        var windowCounts: [Int: [[Int]: Int]] = [:], windowFirst: [Int: [[Int]: Int]] = [:]
        for index in layers.indices {
            let window = Array(keys[max(index - 1, 0) ... min(index + 1, layers.count - 1)]) + [min(index, 1)]
            windowCounts[keys[index], default: [:]][window, default: 0] += 1
            if windowFirst[keys[index]]?[window] == nil { windowFirst[keys[index], default: [:]][window] = index }
        }
        var representative: [Int: Int] = [:]
        for (key, counts) in windowCounts {
            let firsts = windowFirst[key]!
            representative[key] = counts.keys.map { (counts[$0]!, firsts[$0]!) }.max { ($0.0, -$0.1) < ($1.0, -$1.1) }!.1
        }
        // Each structure's window is built once and solved at every price of memory.
        var perKey: [Int: [[OpStrategy]]] = [:]
        // A context-parallel view `[dp, cp, tp]`, or `[dp, cp / a, a, tp]` in hierarchical context parallelism's groups,
        // takes Megatron's layouts only (`StageSearchOracle.contextViews`).
        let contextView = mesh.shape.count >= 3
        for key in Set(keys).sorted() where !contextView {
            let center = representative[key]!
            let window = clustering.operations(of: max(center - 1, 0) ..< min(center + 2, layers.count))
            let own = layers[center].operations
            let problem = try StageShardingProblem(operations: window, mesh: mesh, model: model, inFlight: 1, memoryBudget: nil,
                                                   layers: analysis.layers, prices: prices, checkpoint: checkpoint)
            try checkpoint()
            guard let plain = try? search.solve(problem) else { continue }
            let time = problem.problem.cost(of: plain.choice), memory = problem.problem.memory(of: plain.choice)
            var solutions = [plain]
            for weight in Self.leanWeights where memory > 0 {
                try checkpoint()
                if let lean = try? search.solve(problem, secondsPerByte: weight * time / memory) { solutions.append(lean) }
            }
            perKey[key] = solutions.map { Array(problem.layout(for: $0.choice).strategies[own.lowerBound - window.lowerBound ..< own.upperBound - window.lowerBound]) }
        }
        var found: [[[OpStrategy]]] = []
        for variant in 0 ... Self.leanWeights.count where keys.allSatisfy({ (perKey[$0]?.count ?? 0) > variant }) {
            found.append(keys.map { perKey[$0]![variant] })
        }
        if includesMegatronLayouts && (mesh.shape.count == 2 || contextView) {
            let roles = TensorRoles(model.graph)
            for sequenceParallel in mesh.shape.last! > 1 ? [false, true] : [false] {
                let strategies = MegatronLayout(sequenceParallel: sequenceParallel, contextParallel: contextView,
                                                contextGroups: mesh.shape.count == 4)
                    .strategies(for: model.graph, meshShape: mesh.shape, roles: roles)
                // Every layer of a structure takes its representative's strategies, as the ILP's layouts do.
                found.append(layers.indices.map { Array(strategies[layers[representative[keys[$0]]!].operations]) })
            }
        }
        // Megatron's layouts split the batch over the data axis whatever the count; keep those whose every split
        // leaves whole samples (the ILP's layouts do by construction).
        var distinct: [[[OpStrategy]]] = []
        for layout in found where !distinct.contains(layout)
            && Self.keepsWholeSamples(layout, clustering: clustering, model: model, meshShape: mesh.shape) {
            distinct.append(layout)
        }
        layouts = distinct
    }

    /// A catalog of given layouts.
    init(mesh: DeviceMesh, layouts: [[[OpStrategy]]]) {
        self.mesh = mesh
        self.layouts = layouts
    }

    /// Whether every op of `layout` leaves each device whole samples of a microbatch at `model`'s count.
    static func keepsWholeSamples(_ layout: [[OpStrategy]], clustering: LayerClustering, model: StageCostModel, meshShape: [Int]) -> Bool {
        clustering.layers.indices.allSatisfy { layer in
            zip(clustering.layers[layer].operations, layout[layer]).allSatisfy { op, strategy in
                strategy.splitsWholeSamples(of: model.graph.operations[op], batchIndex: model.roles.batchIndex[op],
                                            microbatches: model.microbatches, meshShape: meshShape)
            }
        }
    }

    /// Which splits of the batch leave whole samples of a microbatch at `model`'s count on a mesh of `meshShape`:
    /// for every size of batch index among the graph's ops and every product of mesh axes, whether it divides
    /// that size over the count (1 or 0). Counts with the same signature admit the same layouts.
    static func batchSplitSignature(model: StageCostModel, meshShape: [Int]) -> [Int] {
        let sizes = Set(model.graph.operations.indices.compactMap { op in
            model.roles.batchIndex[op].map { model.graph.operations[op].indexSpace.indices[$0].size }
        }).sorted()
        var factors: Set<Int> = [1]
        for size in meshShape { factors.formUnion(factors.map { $0 * size }) }
        return sizes.flatMap { size in
            factors.sorted().map { factor in model.microbatches <= 1 || (size / model.microbatches) % factor == 0 ? 1 : 0 }
        }
    }
}
