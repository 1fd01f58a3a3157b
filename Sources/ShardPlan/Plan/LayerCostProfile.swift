/// The cost of any run of consecutive clustered layers as one stage, on one logical mesh, under one layout of
/// every layer and one recomputation mode, in constant time (`BlockRecomputationShare` where full recomputation
/// reruns only a stage's first blocks).
///
/// Every figure of a stage's cost but the working sets (largest over its layers) adds up over its ops, and an op's share
/// depends on the rest of its stage only through which producers of its inputs and which readers of its
/// parameters are in the stage too (a tensor from another stage arrives in its first reader's layout, a
/// parameter read by several ops is stored once, a tensor kept by several ops is kept once). When layers
/// interact only with their neighbours, as the blocks of a transformer do, the cost of layers a ... b is
/// `cost(a) + sum over i in a+1 ... b of (cost(i-1 ... i) - cost(i-1))`: every layer priced alone and every
/// adjacent pair priced together, by `StageCostModel` itself. The profile prices each distinct layer and pair
/// once (repeated blocks with equal layouts share them), keeps prefix sums of the pairs' marginal costs, and prices the
/// gradient synchronisation's buckets from their summed bytes as the model does. A parameter read by two
/// layers that are not neighbours (tied input and output embeddings) is counted once per reader in a stage
/// holding both; only a stage of the whole model does, and the planner prices its plans exactly anyway.
final class LayerCostProfile: Sendable {
    /// The gradient synchronisation buckets (collective kind and mesh axes), each a column of the rows.
    private let buckets: [(kind: CollectiveKind, axes: [Int])]
    /// Columns of a row: forward, backward, optimizer seconds, model state and activation bytes, the seconds only
    /// the last microbatch pays, then the buckets' bytes.
    private static let fixedColumns = 6
    private let width: Int
    /// Per layer, its cost alone.
    private let single: [Double]
    /// Per layer i, the sum of the marginal costs of layers 1 ... i after their predecessors.
    private let prefix: [Double]
    /// Per layer, the parts of its backward working set (`StageCost.backwardWorkingBytes`: recomputation's, the loss's
    /// buffers, and what the loss's layer keeps of a microbatch, composed as the exact model composes them) and its
    /// ZeRO-3 gradients unsharded at once.
    private let recomputationWorking: RangeMaxima
    private let lossBuffer: RangeMaxima
    private let lossLayerKept: RangeMaxima
    private let unshardedGradients: RangeMaxima
    /// ZeRO-3 weights gathered at once: per layer alone, and per layer with its predecessor (the model keeps
    /// two adjacent layers gathered, so a range's figure is the largest over the pairs it holds).
    private let gatheredAlone: [Double]
    private let gatheredPairs: RangeMaxima
    /// Per layer, the seconds to send its results to the next stage and receive their gradients back, when a
    /// stage boundary follows it (charged to both stages, as `PlanEvaluator` does).
    let transferSeconds: [Double]
    let mesh: DeviceMesh
    /// Where full recomputation reruns only a stage's first blocks (`TrainingOptions.recomputedBlocks`): the
    /// layers without reruns, to price a stage's share of them; the tables above rerun every block.
    private let blockShare: BlockRecomputationShare?

    /// The profile of `layouts` (one strategy per op of each clustered layer) on `mesh` with `recompute`
    /// (nil: the model's own), priced by `model`; `neighbour` is a device of the next stage, for transfers.
    /// `composesBlocks` false prices every stage as the model does for a stage of those layers alone, even where
    /// the model reruns only a stage's first blocks (for `BlockRecomputationShare`'s own profiles).
    init(model: StageCostModel, clustering: LayerClustering, mesh: DeviceMesh, layouts: [[OpStrategy]],
         recompute: RecomputeMode?, cluster: Cluster, neighbour: Int, composesBlocks: Bool = true) {
        self.mesh = mesh
        var model = model
        if composesBlocks, (recompute ?? model.options.recompute) == .full, let blocks = model.options.recomputedBlocks, blocks > 0 {
            func profile(rerunning count: Int?) -> LayerCostProfile {
                var options = model.options
                options.recomputedBlocks = count
                return LayerCostProfile(model: model.with(options: options), clustering: clustering, mesh: mesh, layouts: layouts,
                                        recompute: recompute, cluster: cluster, neighbour: neighbour, composesBlocks: false)
            }
            blockShare = BlockRecomputationShare(blocks: blocks, model: model, clustering: clustering,
                                                 keptProfile: profile(rerunning: 0), boundaryProfile: profile(rerunning: 1))
            var everyBlock = model.options
            everyBlock.recomputedBlocks = nil
            model = model.with(options: everyBlock)
        } else {
            blockShare = nil
        }
        let layers = clustering.layers
        let keys = clustering.structureKeys
        func cost(_ range: ClosedRange<Int>) -> StageCost {
            model.cost(of: StageLayout(operations: clustering.operations(of: range.lowerBound ..< range.upperBound + 1), mesh: mesh,
                                       strategies: Array(layouts[range].joined()), recompute: recompute))
        }
        // Distinct layers and pairs, by structure and layout (each layer's strategies numbered once).
        var layoutNumbers: [[OpStrategy]: Int] = [:]
        let layoutOf = layouts.map { layout in
            if let known = layoutNumbers[layout] { return known }
            layoutNumbers[layout] = layoutNumbers.count
            return layoutNumbers.count - 1
        }
        func key(_ range: ClosedRange<Int>) -> [Int] { range.flatMap { [keys[$0], layoutOf[$0]] } }
        var singles: [[Int]: StageCost] = [:], pairs: [[Int]: StageCost] = [:]
        for index in layers.indices {
            if singles[key(index ... index)] == nil { singles[key(index ... index)] = cost(index ... index) }
            if index > 0, pairs[key(index - 1 ... index)] == nil { pairs[key(index - 1 ... index)] = cost(index - 1 ... index) }
        }
        var bucketColumn: [[Int]: Int] = [:]
        var buckets: [(kind: CollectiveKind, axes: [Int])] = []
        for cost in Array(singles.values) + Array(pairs.values) {
            for (axes, kinds) in cost.gradientSynchronizationBytesByAxes {
                for kind in kinds.keys {
                    let key = axes + [-1, CollectiveKind.allCases.firstIndex(of: kind)!]
                    if bucketColumn[key] == nil {
                        bucketColumn[key] = 0
                        buckets.append((kind, axes))
                    }
                }
            }
        }
        buckets.sort { ($0.axes.lexicographicallyPrecedes($1.axes)) || ($0.axes == $1.axes && $0.kind.rawValue < $1.kind.rawValue) }
        for (column, bucket) in buckets.enumerated() {
            bucketColumn[bucket.axes + [-1, CollectiveKind.allCases.firstIndex(of: bucket.kind)!]] = Self.fixedColumns + column
        }
        self.buckets = buckets
        let width = Self.fixedColumns + buckets.count
        self.width = width
        func row(_ cost: StageCost) -> [Double] {
            var row = [cost.forwardSeconds, cost.backwardSeconds, cost.optimizerSeconds, cost.modelStateBytes,
                       cost.activationBytesPerMicrobatch, cost.lastMicrobatchSeconds] + Array(repeating: 0.0, count: buckets.count)
            for (axes, kinds) in cost.gradientSynchronizationBytesByAxes {
                for (kind, bytes) in kinds { row[bucketColumn[axes + [-1, CollectiveKind.allCases.firstIndex(of: kind)!]]!] += bytes }
            }
            return row
        }
        let singleRows = singles.mapValues(row), pairRows = pairs.mapValues(row)
        var single: [Double] = [], prefix = Array(repeating: 0.0, count: width)
        single.reserveCapacity(layers.count * width)
        for index in layers.indices {
            single += singleRows[key(index ... index)]!
            if index > 0 {
                let pair = pairRows[key(index - 1 ... index)]!, before = singleRows[key(index - 1 ... index - 1)]!
                let previous = (index - 1) * width
                for column in 0 ..< width { prefix.append(prefix[previous + column] + pair[column] - before[column]) }
            }
        }
        self.single = single
        self.prefix = prefix
        recomputationWorking = RangeMaxima(layers.indices.map { singles[key($0 ... $0)]!.recomputationWorkingBytes })
        // One layer holds the loss: the largest of a range is its.
        lossBuffer = RangeMaxima(layers.indices.map { singles[key($0 ... $0)]!.lossBufferBytes })
        lossLayerKept = RangeMaxima(layers.indices.map { singles[key($0 ... $0)]!.lossLayerKeptBytes })
        unshardedGradients = RangeMaxima(layers.indices.map { singles[key($0 ... $0)]!.unshardedGradientBytes })
        gatheredAlone = layers.indices.map { singles[key($0 ... $0)]!.gatheredWeightBytes }
        gatheredPairs = RangeMaxima(layers.indices.map { $0 == 0 ? 0 : pairs[key($0 - 1 ... $0)]!.gatheredWeightBytes })
        // Results read by a later layer cross a boundary after their layer: sent in parts by the devices that
        // replicate them and gathered on the receiving side.
        let graph = model.graph
        let consumers = model.consumers
        let operatorModel = model.operatorModel(meshShape: mesh.shape)
        transferSeconds = layers.indices.map { index in
            let operations = layers[index].operations
            var seconds = 0.0
            for op in operations {
                let result = graph.operations[op].result
                guard consumers[result.rawValue].contains(where: { $0 >= operations.upperBound }) else { continue }
                let strategy = layouts[index][op - operations.lowerBound]
                let spec = strategy.resultSpec(in: graph.operations[op].indexSpace).reduced
                let sent = StageTransferParts(localBytes: operatorModel.localBytes(result, spec), spec: spec, mesh: mesh)
                seconds += cluster.sendSeconds(bytes: sent.part, from: mesh.devices[0], to: neighbour) + sent.gatherSeconds(on: mesh)
            }
            return seconds
        }
    }

    /// The summary of clustered layers `layers` as one stage (transfers to neighbouring stages excluded).
    func summary(layers: Range<Int>) -> StageCostSummary {
        let first = layers.lowerBound, last = layers.upperBound - 1
        let a = first * width, b = last * width
        @inline(__always) func column(_ c: Int) -> Double { single[a + c] + prefix[b + c] - prefix[a + c] }
        var synchronization = 0.0
        for (index, bucket) in buckets.enumerated() {
            let bytes = column(Self.fixedColumns + index)
            // Bytes are sums of whole buffers; what cancels leaves rounding dust, not a collective.
            guard bytes >= 0.5 else { continue }
            synchronization += mesh.seconds(for: Collective(bucket.kind, axes: bucket.axes, bytes: bytes))
        }
        let summary = StageCostSummary(forwardSeconds: column(0), backwardSeconds: column(1), synchronizationSeconds: synchronization,
                                       optimizerSeconds: column(2), modelStateBytes: column(3), activationBytesPerMicrobatch: column(4),
                                       lastMicrobatchSeconds: column(5),
                                       recomputationWorkingBytes: recomputationWorking.maximum(in: layers),
                                       lossBufferBytes: lossBuffer.maximum(in: layers), lossLayerKeptBytes: lossLayerKept.maximum(in: layers),
                                       gatheredWeightBytes: first == last ? gatheredAlone[first] : gatheredPairs.maximum(in: first + 1 ..< last + 1),
                                       unshardedGradientBytes: unshardedGradients.maximum(in: layers))
        return blockShare?.summary(layers: layers, rerunAll: summary, of: self) ?? summary
    }

    /// Forward, backward and optimizer seconds, model state and activation bytes, and the last microbatch's seconds,
    /// of layers `layers` as one stage.
    func additiveFigures(of layers: Range<Int>) -> [Double] {
        let a = layers.lowerBound * width, b = (layers.upperBound - 1) * width
        return (0 ..< Self.fixedColumns).map { single[a + $0] + prefix[b + $0] - prefix[a + $0] }
    }

    /// What layer `index` adds to `additiveFigures` after layer `index - 1`.
    func marginalFigures(of index: Int) -> [Double] {
        let (a, b) = ((index - 1) * width, index * width)
        return (0 ..< Self.fixedColumns).map { prefix[b + $0] - prefix[a + $0] }
    }
}
