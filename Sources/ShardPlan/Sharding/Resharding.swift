/// The collectives that change a tensor's layout on a mesh: reducing partial sums (all-reduce, or
/// reduce-scatter when the target splits along the same axis), gathering split dimensions (all-gather),
/// moving a split from one dimension to another (all-to-all), slicing a replicated dimension (free), and
/// sending each device's block to the device that holds it in the target (collective-permute, `sendReceive`)
/// when the device order differs: the same pieces on other devices, or a dimension split by several axes in
/// another major-to-minor order than the gathers, all-to-alls and slices leave (each of those works on the
/// minor end of a dimension's axes). That is how XLA's SPMD partitioner reshards (seen in the HLO of the
/// JAX check, Docs/jax.md): `[S: y, H: x]` to `[S: (x, y)]` is an all-to-all over x, which leaves S split
/// (y, x), and a collective-permute.
public enum Resharding {
    /// The collectives that turn a tensor of `elementCount` elements laid out as `source` into `target`.
    /// Partial sums in `target` are ignored (a consumer never asks for them).
    public static func collectives(from source: ShardingSpec, to target: ShardingSpec, elementCount: Double,
                                   bytesPerElement: Int, meshShape: [Int]) -> [Collective] {
        if source == target { return [] }
        var result: [Collective] = []
        var current = source
        var localBytes = elementCount * Double(bytesPerElement) / Double(source.totalSplitFactor(meshShape: meshShape))
        // Partial sums first: reduce-scatter where the target splits along the same axis, all-reduce elsewhere.
        let partial = source.partialAxes.filter { meshShape[$0] > 1 }
        let scatterAxes = partial.filter { axis in
            current.dimension(splitBy: axis) == nil && target.dimension(splitBy: axis) != nil
        }
        let reduceAxes = partial.filter { !scatterAxes.contains($0) }
        if !reduceAxes.isEmpty {
            result.append(Collective(.allReduce, axes: reduceAxes, bytes: localBytes))
        }
        if !scatterAxes.isEmpty {
            result.append(Collective(.reduceScatter, axes: scatterAxes, bytes: localBytes))
            for axis in scatterAxes {
                current.dimensionAxes[target.dimension(splitBy: axis)!].append(axis)
                localBytes /= Double(meshShape[axis])
            }
        }
        current.partialAxes = []
        let active = { (spec: ShardingSpec) in spec.dimensionAxes.map { $0.filter { meshShape[$0] > 1 } } }
        let held = active(current), wanted = active(target)
        if held == wanted { return result }
        let pieces = { (axes: [Int]) in axes.reduce(1) { $0 * meshShape[$1] } }
        if zip(held, wanted).allSatisfy({ pieces($0) == pieces($1) }) {
            // Every device keeps a block of the same shape, only on another device.
            result.append(Collective(.sendReceive, axes: reordered(held, wanted), bytes: localBytes))
            return result
        }
        // Then splits: slice where the target splits a replicated dimension, all-to-all where the split moves,
        // all-gather where the target replicates.
        var gatherAxes: [Int] = []
        var exchangeAxes: [Int] = []
        var slicedAxes: [Int] = []
        for axis in meshShape.indices where meshShape[axis] > 1 {
            let from = current.dimension(splitBy: axis), to = target.dimension(splitBy: axis)
            switch (from, to) {
            case (nil, .some): localBytes /= Double(meshShape[axis]); slicedAxes.append(axis)
            case (.some, nil): gatherAxes.append(axis)
            case (.some(let a), .some(let b)) where a != b: exchangeAxes.append(axis)
            default: break
            }
        }
        // A split that moves where another of the same size leaves (or to where another arrives) trades places
        // with it: one collective-permute instead of an all-to-all, as XLA does.
        var order = held
        var traded: [Int] = []
        for axis in exchangeAxes {
            let from = order.firstIndex { $0.contains(axis) }!, to = target.dimension(splitBy: axis)!
            if let leaving = gatherAxes.first(where: { meshShape[$0] == meshShape[axis] && order[to].contains($0) && !traded.contains($0) }) {
                order[to][order[to].firstIndex(of: leaving)!] = axis
                order[from][order[from].firstIndex(of: axis)!] = leaving
                traded += [axis, leaving]
            } else if let arriving = slicedAxes.first(where: { meshShape[$0] == meshShape[axis] && target.dimension(splitBy: $0) == from && !traded.contains($0) }) {
                order[from][order[from].firstIndex(of: axis)!] = arriving
                order[to].append(axis)
                traded += [axis, arriving]
            }
        }
        exchangeAxes.removeAll { traded.contains($0) }
        slicedAxes.removeAll { traded.contains($0) }
        if !traded.isEmpty { result.append(Collective(.sendReceive, axes: traded.sorted(), bytes: localBytes)) }
        if !exchangeAxes.isEmpty { result.append(Collective(.allToAll, axes: exchangeAxes, bytes: localBytes)) }
        if !gatherAxes.isEmpty {
            for axis in gatherAxes { localBytes *= Double(meshShape[axis]) }
            result.append(Collective(.allGather, axes: gatherAxes, bytes: localBytes))
        }
        // Each of those collectives takes its axis off the minor end of a dimension and puts it on the minor
        // end of another; what they leave in another order takes a collective-permute.
        var misplaced = Set<Int>()
        for axis in gatherAxes + exchangeAxes {
            let dimension = order.firstIndex { $0.contains(axis) }!
            let position = order[dimension].firstIndex(of: axis)!
            let after = order[dimension][(position + 1)...]
            if !after.allSatisfy({ gatherAxes.contains($0) || exchangeAxes.contains($0) }) { misplaced.formUnion(order[dimension]) }
        }
        for dimension in order.indices { order[dimension].removeAll { gatherAxes.contains($0) || exchangeAxes.contains($0) } }
        for axis in exchangeAxes + slicedAxes { order[target.dimension(splitBy: axis)!].append(axis) }
        misplaced.formUnion(reordered(order, wanted))
        if !misplaced.isEmpty { result.append(Collective(.sendReceive, axes: misplaced.sorted(), bytes: localBytes)) }
        return result
    }

    /// The axes of every dimension whose major-to-minor axis list differs between `held` and `wanted`.
    private static func reordered(_ held: [[Int]], _ wanted: [[Int]]) -> [Int] {
        Set(zip(held, wanted).filter { $0 != $1 }.flatMap { $0 + $1 }).sorted()
    }
}
