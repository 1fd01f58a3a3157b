extension OpStrategy {
    /// Every valid strategy of `operation` on a mesh of `meshShape`: each axis longer than 1 splits one
    /// splittable index or none (two axes may split the same index, major axis first), and every split
    /// divides the dimensions it cuts. With `microbatches`, the batch index `batchIndex` is first divided
    /// by the microbatch count. The replicated strategy comes first; the order is deterministic.
    public static func candidates(for operation: Operation, operandShapes: [[Int]], resultShape: [Int],
                                  meshShape: [Int], batchIndex: Int?, microbatches: Int) -> [OpStrategy] {
        let space = operation.indexSpace
        let splittable = space.indices.indices.filter { space.indices[$0].role != .unsplittable && space.indices[$0].size > 1 }
        var assignments: [[Int?]] = [[]]
        for axis in meshShape.indices {
            let options: [Int?] = meshShape[axis] > 1 ? [nil] + splittable.map { Optional($0) } : [nil]
            assignments = assignments.flatMap { prefix in options.map { prefix + [$0] } }
        }
        return assignments.map(OpStrategy.init(indexOfAxis:)).filter { strategy in
            guard strategy.isValid(for: operation, operandShapes: operandShapes, resultShape: resultShape, meshShape: meshShape)
            else { return false }
            guard let batchIndex, microbatches > 1 else { return true }
            let perMicrobatch = space.indices[batchIndex].size / microbatches
            return perMicrobatch % strategy.splitFactor(of: batchIndex, meshShape: meshShape) == 0
        }
    }
}
