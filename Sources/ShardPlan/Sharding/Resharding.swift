/// The collectives that change a tensor's layout on a mesh: reducing partial sums (all-reduce, or
/// reduce-scatter when the target splits along the same axis), gathering split dimensions (all-gather),
/// moving a split from one dimension to another (all-to-all), and slicing a replicated dimension (free).
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
        // Then splits: slice where the target splits a replicated dimension, all-to-all where the split moves,
        // all-gather where the target replicates.
        var gatherAxes: [Int] = []
        var exchangeAxes: [Int] = []
        for axis in meshShape.indices where meshShape[axis] > 1 {
            let from = current.dimension(splitBy: axis), to = target.dimension(splitBy: axis)
            switch (from, to) {
            case (nil, .some): localBytes /= Double(meshShape[axis])
            case (.some, nil): gatherAxes.append(axis)
            case (.some(let a), .some(let b)) where a != b: exchangeAxes.append(axis)
            default: break
            }
        }
        if !exchangeAxes.isEmpty { result.append(Collective(.allToAll, axes: exchangeAxes, bytes: localBytes)) }
        if !gatherAxes.isEmpty {
            for axis in gatherAxes { localBytes *= Double(meshShape[axis]) }
            result.append(Collective(.allGather, axes: gatherAxes, bytes: localBytes))
        }
        return result
    }
}
