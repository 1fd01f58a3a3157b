extension OpStrategy {
    /// Every valid strategy of `operation` on a mesh of `meshShape`: each axis longer than 1 splits one
    /// splittable index or none (two axes may split the same index, major axis first), and every split
    /// divides the dimensions it cuts. With `microbatches`, the batch index `batchIndex` is first divided
    /// by the microbatch count. The replicated strategy comes first; the order is deterministic.
    ///
    /// `storedParameters` lists the operand positions of parameters this op reads first (and so stores);
    /// strategies that reduce their gradients come in ZeRO variants, up to `maximumZeroStage`, ZeRO-1 left out where
    /// `zeroOne` is false.
    public static func candidates(for operation: Operation, operandShapes: [[Int]], resultShape: [Int],
                                  meshShape: [Int], batchIndex: Int?, microbatches: Int,
                                  storedParameters: [Int] = [], maximumZeroStage: Int = 3, zeroOne: Bool = true) -> [OpStrategy] {
        let space = operation.indexSpace
        let splittable = space.indices.indices.filter { space.indices[$0].role != .unsplittable && space.indices[$0].size > 1 }
        var assignments: [[Int?]] = [[]]
        for axis in meshShape.indices {
            let options: [Int?] = meshShape[axis] > 1 ? [nil] + splittable.map { Optional($0) } : [nil]
            assignments = assignments.flatMap { prefix in options.map { prefix + [$0] } }
        }
        let valid = assignments.map { OpStrategy(indexOfAxis: $0) }.filter { strategy in
            strategy.isValid(for: operation, operandShapes: operandShapes, resultShape: resultShape, meshShape: meshShape)
                && strategy.splitsWholeSamples(of: operation, batchIndex: batchIndex, microbatches: microbatches, meshShape: meshShape)
        }
        guard !storedParameters.isEmpty else { return valid }
        // Where a stored parameter's gradient is reduced over some axis, ZeRO can shard its state there:
        // optimizer state only (ZeRO-1, same traffic as an all-reduce) or everything (ZeRO-3, gathers weights
        // before each use).
        return valid.flatMap { strategy -> [OpStrategy] in
            let reduced = storedParameters.contains { operand in
                strategy.gradientSpec(operand, in: space).partialAxes.contains { meshShape[$0] > 1 }
            }
            guard reduced else { return [strategy] }
            return [0, 1, 3].filter { $0 <= maximumZeroStage && (zeroOne || $0 != 1) }.map { OpStrategy(indexOfAxis: strategy.indexOfAxis, zeroStage: $0) }
        }
    }

    /// Whether each device gets whole samples of every microbatch: the batch index `batchIndex`, divided by the
    /// microbatch count, divides by this strategy's split of it.
    func splitsWholeSamples(of operation: Operation, batchIndex: Int?, microbatches: Int, meshShape: [Int]) -> Bool {
        guard let batchIndex, microbatches > 1 else { return true }
        let perMicrobatch = operation.indexSpace.indices[batchIndex].size / microbatches
        return perMicrobatch % splitFactor(of: batchIndex, meshShape: meshShape) == 0
    }
}
