import Testing
@testable import ShardPlan

@Suite("reshape, transpose, broadcast, concat, slice, iota and constant shape rules")
struct LayoutShapeTests {
    @Test("splitting heads [B, S, H*D] -> [B, S, H, D] shares the leading index of the split dimension")
    func reshapeSplit() throws {
        let signature = try inferredSignature(.reshape(shape: [2, 4, 8, 16]), TensorType([2, 4, 128], .bf16))
        #expect(signature.result == TensorType([2, 4, 8, 16], .bf16))
        let space = signature.indexSpace
        #expect(space.operandNames(0) == ["g0", "g1", "g2"])
        #expect(space.resultNames == ["g0", "g1", "g2", "out3"])
        // Cutting H*D into n contiguous blocks is cutting H into n blocks: one index of extent H.
        #expect(space.size(of: "g2") == 8)
        #expect(space.names(withRole: .unsplittable).isEmpty)
    }

    @Test("merging heads [B, S, H, D] -> [B, S, H*D] shares H and cannot split D on its own")
    func reshapeMerge() throws {
        let signature = try inferredSignature(.reshape(shape: [2, 4, 128]), TensorType([2, 4, 8, 16], .bf16))
        #expect(signature.result == TensorType([2, 4, 128], .bf16))
        #expect(signature.indexSpace.operandNames(0) == ["g0", "g1", "g2", "in3"])
        #expect(signature.indexSpace.resultNames == ["g0", "g1", "g2"])
        #expect(signature.indexSpace.role(of: "in3") == .unsplittable)
    }

    @Test("size-1 dimensions carry no index and do not disturb the grouping")
    func reshapeUnitDimensions() throws {
        let signature = try inferredSignature(.reshape(shape: [4, 6, 1]), TensorType([4, 1, 6], .f32))
        #expect(signature.result == TensorType([4, 6, 1], .f32))
        #expect(signature.indexSpace.operandNames(0) == ["g0", "-", "g2"])
        #expect(signature.indexSpace.resultNames == ["g0", "g2", "-"])
    }

    @Test("a reshape that reorders factors shares the greatest common block size")
    func reshapeRegroup() throws {
        // [6, 4] -> [4, 6]: halves of the first dimension are the same 12 elements in both shapes.
        let signature = try inferredSignature(.reshape(shape: [4, 6]), TensorType([6, 4], .f32))
        #expect(signature.indexSpace.size(of: "g0") == 2)
    }

    @Test("one -1 is inferred from the element count and stored resolved")
    func reshapeInferredSize() throws {
        let op = Operator.reshape(shape: [-1, 3])
        let operand = TensorType([4, 6], .f32)
        #expect(op.normalized(for: [operand]) == .reshape(shape: [8, 3]))
        #expect(try inferredSignature(op, operand).result == TensorType([8, 3], .f32))
    }

    @Test("reshape to a scalar and back")
    func reshapeScalar() throws {
        #expect(try inferredSignature(.reshape(shape: []), TensorType([1, 1], .f32)).result == TensorType([], .f32))
        #expect(try inferredSignature(.reshape(shape: [1]), TensorType([], .f32)).result == TensorType([1], .f32))
    }

    @Test("reshape rejects a wrong element count, zero or negative sizes, and two -1s",
          arguments: [[5, 5], [0, 24], [-2, 12], [-1, -1], [-1, 5]])
    func reshapeErrors(_ target: [Int]) {
        #expect(throws: OperatorRuleViolation.self) { try inferredSignature(.reshape(shape: target), TensorType([4, 6], .f32)) }
    }

    @Test("transpose permutes the dimensions and their indices")
    func transpose() throws {
        let signature = try inferredSignature(.transpose(permutation: [2, 0, -2]), TensorType([2, 3, 4], .f32))
        #expect(signature.result == TensorType([4, 2, 3], .f32))
        #expect(signature.indexSpace.resultNames == ["d2", "d0", "d1"])
        #expect(throws: OperatorRuleViolation.self) {
            try inferredSignature(.transpose(permutation: [0, 0, 1]), TensorType([2, 3, 4], .f32))
        }
    }

    @Test("broadcast places each input dimension; size-1 dimensions stretch and carry no index")
    func broadcast() throws {
        let row = try inferredSignature(.broadcast(shape: [4, 8], dimensions: [1]), TensorType([8], .f32))
        #expect(row.result == TensorType([4, 8], .f32))
        #expect(row.indexSpace.operandNames(0) == ["d1"])
        let stretched = try inferredSignature(.broadcast(shape: [4, 8], dimensions: [0, 1]), TensorType([1, 8], .f32))
        #expect(stretched.indexSpace.operandNames(0) == ["-", "d1"])
        #expect(throws: OperatorRuleViolation.self) {
            try inferredSignature(.broadcast(shape: [4, 8], dimensions: [0]), TensorType([8], .f32))
        }
    }

    @Test("concat adds sizes along its axis, which no operand can split")
    func concat() throws {
        let signature = try inferredSignature(.concat(axis: -1), TensorType([4, 3], .f32), TensorType([4, 5], .f32))
        #expect(signature.result == TensorType([4, 8], .f32))
        #expect(signature.indexSpace.operandNames(0) == ["d0", "-"])
        #expect(signature.indexSpace.operandNames(1) == ["d0", "-"])
        #expect(throws: OperatorRuleViolation.self) {
            try inferredSignature(.concat(axis: 1), TensorType([4, 3], .f32), TensorType([5, 5], .f32))
        }
    }

    @Test("slice keeps [start, end) of one axis")
    func slice() throws {
        let signature = try inferredSignature(.slice(axis: 1, start: 2, end: 5), TensorType([4, 8], .f32))
        #expect(signature.result == TensorType([4, 3], .f32))
        #expect(signature.indexSpace.operandNames(0) == ["d0", "-"])
        for (start, end) in [(5, 2), (0, 9), (-1, 3), (3, 3)] {
            #expect(throws: OperatorRuleViolation.self) {
                try inferredSignature(.slice(axis: 1, start: start, end: end), TensorType([4, 8], .f32))
            }
        }
    }

    @Test("iota and constant take no inputs and make the shape they name")
    func generated() throws {
        let iota = Operator.iota(shape: [4, 8], dimension: -1, dtype: .i32)
        #expect(iota.normalized(for: []) == .iota(shape: [4, 8], dimension: 1, dtype: .i32))
        #expect(try inferredSignature(iota).result == TensorType([4, 8], .i32))
        let constant = try inferredSignature(.constant(shape: [], dtype: .f32, value: 0.5))
        #expect(constant.result == TensorType([], .f32))
        #expect(throws: OperatorRuleViolation.self) { try inferredSignature(.iota(shape: [4], dimension: 1, dtype: .i32)) }
        #expect(throws: OperatorRuleViolation.self) { try inferredSignature(.constant(shape: [0], dtype: .f32, value: 0)) }
        #expect(throws: OperatorRuleViolation.self) { try inferredSignature(.constant(shape: [2], dtype: .f32, value: -.infinity)) }
    }
}
