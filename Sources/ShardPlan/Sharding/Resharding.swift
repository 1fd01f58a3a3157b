/// The collectives that change a tensor's layout on a mesh: reducing partial sums (all-reduce, or
/// reduce-scatter when the target splits along the same axis), gathering split dimensions (all-gather),
/// moving a split from one dimension to another (all-to-all), slicing a replicated dimension (free), and
/// sending each device's block to the device that holds it in the target (collective-permute, `sendReceive`)
/// when the device order differs: the same pieces on other devices, or a dimension split by several axes in
/// another major-to-minor order than the gathers, all-to-alls and slices leave (each of those works on the
/// minor end of a dimension's axes). That is how XLA's SPMD partitioner reshards (seen in the HLO of the
/// JAX check, Docs/jax.md): `[S: y, H: x]` to `[S: (x, y)]` is an all-to-all over x, which leaves S split
/// (y, x), and a collective-permute.
///
/// A mixture of experts' token dispatcher is not XLA's partitioner: Megatron-Core's and torchtitan's send each rank's
/// tokens to their experts' ranks in one all-to-all over the whole expert-parallel group, whichever dimensions the
/// tokens were split along (batch and sequence, when expert parallelism folds over context- or tensor-parallel ranks).
/// With a `dispatch` a change that XLA's pieces cannot pair is that one all-to-all (`mergedMoves`), and under a
/// dispatcher that sends each token once per destination rank and node its all-to-alls carry the routing
/// (`Collective.dispatch`), which prices them (`CollectiveGroup.deduplicatedAllToAllSeconds`).
public enum Resharding {
    /// The collectives that turn a tensor of `elementCount` elements laid out as `source` into `target`.
    /// Partial sums in `target` are ignored (a consumer never asks for them). A `dispatch` says that the change
    /// carries tokens to or from a mixture of experts' expert GEMMs, routed so (`TensorRoles.dispatchedTokens`).
    public static func collectives(from source: ShardingSpec, to target: ShardingSpec, elementCount: Double,
                                   bytesPerElement: Int, meshShape: [Int], dispatch: TokenDispatch? = nil) -> [Collective] {
        if source == target { return [] }
        var result: [Collective] = []
        var localBytes = elementCount * Double(bytesPerElement) / Double(source.totalSplitFactor(meshShape: meshShape))
        let active = { (axes: [[Int]]) in axes.map { $0.filter { meshShape[$0] > 1 } } }
        var held = active(source.dimensionAxes)
        let wanted = active(target.dimensionAxes)
        // Partial sums first, each group (summed index) on its own. A reduction all-reduces every group whole
        // and slices the target out (a group the target splits by is a reduce-scatter over the whole group).
        if !source.partialSumsFromContraction {
            var scatteredAxes: [Int] = []
            for group in source.partialSums {
                let axes = group.filter { meshShape[$0] > 1 }
                guard !axes.isEmpty else { continue }
                let scattered = axes.filter { axis in wanted.contains { $0.contains(axis) } }
                result.append(Collective(scattered.isEmpty ? .allReduce : .reduceScatter, axes: axes, bytes: localBytes))
                scatteredAxes += scattered
            }
            for axis in scatteredAxes {
                held[wanted.firstIndex { $0.contains(axis) }!].append(axis)
                localBytes /= Double(meshShape[axis])
            }
        }
        // A contraction reduce-scatters the axes the target splits by, then all-reduces the rest of every group
        // on the smaller buffer.
        if source.partialSumsFromContraction && !source.partialSums.isEmpty {
            let groups = source.partialSums.map { $0.filter { meshShape[$0] > 1 } }
            var remaining: [[Int]] = []
            for group in groups {
                let scattered = group.filter { axis in wanted.contains { $0.contains(axis) } }
                remaining.append(group.filter { !scattered.contains($0) })
                guard !scattered.isEmpty else { continue }
                result.append(Collective(.reduceScatter, axes: scattered, bytes: localBytes))
                for axis in scattered {
                    held[wanted.firstIndex { $0.contains(axis) }!].append(axis)
                    localBytes /= Double(meshShape[axis])
                }
            }
            for group in remaining where !group.isEmpty {
                result.append(Collective(.allReduce, axes: group, bytes: localBytes))
            }
        }
        if held == wanted { return result }
        let pieces = { (axes: [Int]) in axes.reduce(1) { $0 * meshShape[$1] } }
        if zip(held, wanted).allSatisfy({ pieces($0) == pieces($1) }) {
            // Every device keeps a block of the same shape, only on another device.
            result.append(Collective(.sendReceive, axes: reordered(held, wanted), bytes: localBytes))
            return result
        }
        guard let moves = splitMoves(from: held, to: wanted, localBytes: localBytes, meshShape: meshShape)
                ?? (dispatch != nil ? mergedMoves(from: held, to: wanted, localBytes: localBytes, meshShape: meshShape) : nil) else {
            // XLA has no direct way there: it gathers the whole tensor, one dimension at a time from the last,
            // and slices the target out of it.
            for axes in held.reversed() where !axes.isEmpty {
                localBytes *= Double(pieces(axes))
                result.append(Collective(.allGather, axes: axes, bytes: localBytes))
            }
            return result
        }
        guard let dispatch, dispatch.deduplicates else { return result + moves }
        return result + moves.map { move in
            var marked = move
            if move.kind == .allToAll { marked.dispatch = dispatch }
            return marked
        }
    }

    /// The collectives that move splits from `held` to `wanted` (axes per dimension, no partial sums), the
    /// way XLA's SPMD partitioner does it, or nil where it replicates the tensor instead:
    ///
    /// 1. Slice where the target splits by an axis the tensor is not split by (free, and first, so that the
    ///    other collectives move smaller blocks).
    /// 2. Where an axis moves to the dimension another axis of its size leaves (to be gathered) or arrives
    ///    at (by a slice), trade the two places with one collective-permute.
    /// 3. All-gather the axes the target does not split by, one dimension at a time from the last.
    /// 4. All-to-all by pieces, not by axes: every dimension cut into more pieces than the target's gives the
    ///    minor axes that make up the surplus to a dimension that lacks just as many, one all-to-all per pair;
    ///    a dimension cut into as many pieces as in the target takes no part. Surpluses without a partner of
    ///    the same count: nil.
    /// 5. A collective-permute where the axes are now in another order than the target's (each step above
    ///    works on the minor end of a dimension's axes).
    private static func splitMoves(from held: [[Int]], to wanted: [[Int]], localBytes initialBytes: Double,
                                   meshShape: [Int]) -> [Collective]? {
        var result: [Collective] = []
        var localBytes = initialBytes
        var order = held
        let heldDimension = { (axis: Int) in held.firstIndex { $0.contains(axis) } }
        let wantedDimension = { (axis: Int) in wanted.firstIndex { $0.contains(axis) } }
        var gatherAxes: [Int] = []
        var exchangeAxes: [Int] = []
        var slicedAxes: [Int] = []
        for axis in meshShape.indices where meshShape[axis] > 1 {
            switch (heldDimension(axis), wantedDimension(axis)) {
            case (nil, .some): localBytes /= Double(meshShape[axis]); slicedAxes.append(axis)
            case (.some, nil): gatherAxes.append(axis)
            case (.some(let a), .some(let b)) where a != b: exchangeAxes.append(axis)
            default: break
            }
        }
        var traded: [Int] = []
        for axis in exchangeAxes {
            let from = order.firstIndex { $0.contains(axis) }!, to = wantedDimension(axis)!
            if let leaving = gatherAxes.first(where: { meshShape[$0] == meshShape[axis] && order[to].contains($0) && !traded.contains($0) }) {
                order[to][order[to].firstIndex(of: leaving)!] = axis
                order[from][order[from].firstIndex(of: axis)!] = leaving
                traded += [axis, leaving]
            } else if let arriving = slicedAxes.first(where: { meshShape[$0] == meshShape[axis] && wantedDimension($0) == from && !traded.contains($0) }) {
                order[from][order[from].firstIndex(of: axis)!] = arriving
                order[to].append(axis)
                traded += [axis, arriving]
            }
        }
        // A traded axis that leaves is still gathered, from the place it now holds; one that arrives is in place.
        slicedAxes.removeAll { traded.contains($0) }
        if !traded.isEmpty { result.append(Collective(.sendReceive, axes: traded.sorted(), bytes: localBytes)) }
        for axis in slicedAxes { order[wantedDimension(axis)!].append(axis) }
        // A gathered axis that is not on the minor end of its dimension leaves the other blocks out of order.
        var misplaced = Set<Int>()
        for axis in gatherAxes {
            let dimension = order.firstIndex { $0.contains(axis) }!
            let after = order[dimension][(order[dimension].firstIndex(of: axis)! + 1)...]
            if !after.allSatisfy(gatherAxes.contains) { misplaced.formUnion(order[dimension]) }
        }
        // One all-gather per dimension, the last dimension first, as XLA gathers them (the JAX check's searched
        // plan: `[y, x]` to replicated is an all-gather over x, then one over y).
        for dimension in order.indices.reversed() {
            let axes = gatherAxes.filter(order[dimension].contains)
            guard !axes.isEmpty else { continue }
            order[dimension].removeAll(where: axes.contains)
            for axis in axes { localBytes *= Double(meshShape[axis]) }
            result.append(Collective(.allGather, axes: axes, bytes: localBytes))
        }
        let pieces = { (axes: [Int]) in axes.reduce(1) { $0 * meshShape[$1] } }
        var lacking = order.indices.filter { pieces(order[$0]) < pieces(wanted[$0]) }
        for dimension in order.indices where pieces(order[dimension]) > pieces(wanted[dimension]) {
            let surplus = pieces(order[dimension]) / pieces(wanted[dimension])
            guard let count = (1...order[dimension].count).first(where: { pieces(Array(order[dimension].suffix($0))) >= surplus }),
                  pieces(Array(order[dimension].suffix(count))) == surplus,
                  let partner = lacking.firstIndex(where: { pieces(wanted[$0]) == pieces(order[$0]) * surplus })
            else { return nil }
            let moving = Array(order[dimension].suffix(count))
            result.append(Collective(.allToAll, axes: moving.sorted(), bytes: localBytes))
            order[dimension].removeLast(count)
            order[lacking[partner]] += moving
            lacking.remove(at: partner)
        }
        guard lacking.isEmpty else { return nil }
        misplaced.formUnion(reordered(order, wanted))
        if !misplaced.isEmpty { result.append(Collective(.sendReceive, axes: misplaced.sorted(), bytes: localBytes)) }
        return result
    }

    /// A token dispatcher's moves from `held` to `wanted` (axes per dimension, no partial sums): after the slices of
    /// axes the tensor was not split by, every axis that changes dimension crosses in one all-to-all over all of them
    /// (which sends each block straight to the device that holds it in the target, in any order), then the axes the
    /// target does not split by are all-gathered, as Megatron-Core's dispatcher gathers the tokens over the expert
    /// tensor-parallel ranks after its all-to-all; without an all-to-all, a collective-permute where the axes are in
    /// another order than the target's.
    private static func mergedMoves(from held: [[Int]], to wanted: [[Int]], localBytes initialBytes: Double,
                                    meshShape: [Int]) -> [Collective] {
        var localBytes = initialBytes
        let heldDimension = { (axis: Int) in held.firstIndex { $0.contains(axis) } }
        let wantedDimension = { (axis: Int) in wanted.firstIndex { $0.contains(axis) } }
        var order = held, moving: [Int] = [], gathered: [Int] = []
        for axis in meshShape.indices where meshShape[axis] > 1 {
            switch (heldDimension(axis), wantedDimension(axis)) {
            case (.some(let from), nil): gathered.append(axis); order[from].removeAll { $0 == axis }
            case (nil, .some(let to)): localBytes /= Double(meshShape[axis]); order[to].append(axis)
            case (.some(let from), .some(let to)) where from != to:
                moving.append(axis)
                order[from].removeAll { $0 == axis }
                order[to].append(axis)
            default: break
            }
        }
        var result = moving.isEmpty ? [] : [Collective(.allToAll, axes: moving, bytes: localBytes)]
        if !gathered.isEmpty {
            localBytes *= Double(gathered.reduce(1) { $0 * meshShape[$1] })
            result.append(Collective(.allGather, axes: gathered, bytes: localBytes))
        }
        let misplaced = moving.isEmpty ? reordered(order, wanted) : []
        return result + (misplaced.isEmpty ? [] : [Collective(.sendReceive, axes: misplaced, bytes: localBytes)])
    }

    /// The axes of every dimension whose major-to-minor axis list differs between `held` and `wanted`.
    private static func reordered(_ held: [[Int]], _ wanted: [[Int]]) -> [Int] {
        Set(zip(held, wanted).filter { $0 != $1 }.flatMap { $0 + $1 }).sorted()
    }
}
