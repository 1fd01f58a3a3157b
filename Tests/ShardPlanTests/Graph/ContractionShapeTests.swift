import Testing
@testable import ShardPlan

@Suite("einsum and matmul shape rules")
struct ContractionShapeTests {
    private func einsum(_ equation: String, _ operands: TensorType...) throws -> OperatorSignature {
        let op = Operator.einsum(try EinsumEquation(equation))
        return try op.normalized(for: operands).signature(operands: operands)
    }

    @Test("bd,df->bf: b and f are free, d is summed")
    func matrixProduct() throws {
        let signature = try einsum("bd,df->bf", TensorType([8, 16], .bf16), TensorType([16, 32], .bf16))
        #expect(signature.result == TensorType([8, 32], .bf16))
        let space = signature.indexSpace
        #expect(space.names(withRole: .free) == ["b", "f"])
        #expect(space.names(withRole: .summed) == ["d"])
        #expect(space.operandNames(0) == ["b", "d"])
        #expect(space.operandNames(1) == ["d", "f"])
        #expect(space.resultNames == ["b", "f"])
        #expect(space.pointCount == 8 * 16 * 32)
    }

    @Test("a size-1 dimension broadcasts against its label's full size and carries no index")
    func broadcastingLabel() throws {
        let signature = try einsum("bij,bjk->bik", TensorType([4, 8, 16], .f32), TensorType([1, 16, 32], .f32))
        #expect(signature.result == TensorType([4, 8, 32], .f32))
        #expect(signature.indexSpace.operandNames(1) == ["-", "j", "k"])
        #expect(signature.indexSpace.size(of: "b") == 4)
    }

    @Test("an ellipsis stands for the leading dimensions")
    func ellipsis() throws {
        let signature = try einsum("...d,df->...f", TensorType([2, 3, 16], .bf16), TensorType([16, 32], .bf16))
        #expect(signature.result == TensorType([2, 3, 32], .bf16))
        #expect(signature.indexSpace.names(withRole: .summed) == ["d"])
        #expect(signature.indexSpace.resultNames == ["…1", "…0", "f"])
    }

    @Test("ellipses of different ranks align from the right and broadcast size-1 dimensions")
    func ellipsisBroadcasting() throws {
        let signature = try einsum("...ij,...jk->...ik", TensorType([5, 1, 8, 16], .f32), TensorType([3, 16, 4], .f32))
        #expect(signature.result == TensorType([5, 3, 8, 4], .f32))
        let space = signature.indexSpace
        #expect(space.operandNames(0) == ["…1", "-", "i", "j"])
        #expect(space.operandNames(1) == ["…0", "j", "k"])
        #expect(space.resultNames == ["…1", "…0", "i", "k"])
    }

    @Test("an operand whose ellipsis covers no dimension still matches")
    func emptyEllipsis() throws {
        let signature = try einsum("...ij,jk->...ik", TensorType([8, 16], .f32), TensorType([16, 4], .f32))
        #expect(signature.result == TensorType([8, 4], .f32))
    }

    @Test("as in NumPy, a result without '...' cannot drop the dimensions an operand's '...' covers")
    func ellipsisMissingFromResult() throws {
        let error = #expect(throws: OperatorRuleViolation.self) { try einsum("...ij->ij", TensorType([2, 3, 4], .f32)) }
        #expect(error?.kind == .invalidEinsum)
        #expect(try einsum("...ij->ij", TensorType([3, 4], .f32)).result == TensorType([3, 4], .f32))
    }

    @Test("without '->' the result is the labels used once, in alphabetical order")
    func implicitOutput() throws {
        // k and i appear once; NumPy sorts them, so the result is [i, k] = [4, 2].
        let signature = try einsum("kj,ji", TensorType([2, 3], .f32), TensorType([3, 4], .f32))
        #expect(signature.result == TensorType([4, 2], .f32))
        #expect(signature.indexSpace.names(withRole: .summed) == ["j"])
    }

    @Test("an implicit result keeps the ellipsis in front")
    func implicitOutputWithEllipsis() throws {
        let signature = try einsum("...ij,jk", TensorType([6, 8, 16], .f32), TensorType([16, 4], .f32))
        #expect(signature.result == TensorType([6, 8, 4], .f32))
    }

    @Test("grouped-query attention scores: q [b,s,g,r,d] x k [b,t,g,d] shares the kv group index")
    func groupedQueryScores() throws {
        let signature = try einsum("bsgrd,btgd->bgrst",
                                   TensorType([2, 128, 8, 4, 64], .bf16), TensorType([2, 128, 8, 64], .bf16))
        #expect(signature.result == TensorType([2, 8, 4, 128, 128], .bf16))
        let space = signature.indexSpace
        #expect(space.names(withRole: .summed) == ["d"])
        #expect(space.operandNames(1) == ["b", "t", "g", "d"])
        #expect(space.role(of: "g") == .free)
    }

    @Test("MoE dispatch gsec,gsm->egcm contracts the tokens of each group")
    func mixtureOfExpertsDispatch() throws {
        let signature = try einsum("gsec,gsm->egcm",
                                   TensorType([4, 256, 8, 64], .bf16), TensorType([4, 256, 512], .bf16))
        #expect(signature.result == TensorType([8, 4, 64, 512], .bf16))
        #expect(signature.indexSpace.names(withRole: .summed) == ["s"])
    }

    @Test("three operands chain: ab,bc,cd->ad sums b and c")
    func threeOperands() throws {
        let signature = try einsum("ab,bc,cd->ad", TensorType([2, 3], .f32), TensorType([3, 4], .f32), TensorType([4, 5], .f32))
        #expect(signature.result == TensorType([2, 5], .f32))
        #expect(signature.indexSpace.names(withRole: .summed) == ["b", "c"])
    }

    @Test("ij-> sums everything into a scalar; i,j->ij is an outer product")
    func totalSumAndOuterProduct() throws {
        let total = try einsum("ij->", TensorType([3, 4], .f32))
        #expect(total.result == TensorType([], .f32))
        #expect(total.indexSpace.names(withRole: .summed) == ["i", "j"])
        let outer = try einsum("i,j->ij", TensorType([3], .f32), TensorType([4], .f32))
        #expect(outer.result == TensorType([3, 4], .f32))
        #expect(outer.indexSpace.names(withRole: .summed).isEmpty)
    }

    @Test("an equation edited by hand to name an unknown result label is reported, not trapped on")
    func editedEquation() throws {
        var equation = try EinsumEquation("bd,df->bf")
        equation.result = [.letter("b"), .letter("z")]
        let error = #expect(throws: OperatorRuleViolation.self) {
            try Operator.einsum(equation).signature(operands: [TensorType([8, 16], .f32), TensorType([16, 32], .f32)])
        }
        #expect(error?.kind == .invalidEinsum)
    }

    @Test("white space inside an equation is ignored")
    func whiteSpace() throws {
        let signature = try einsum(" bd , df -> bf ", TensorType([8, 16], .f32), TensorType([16, 32], .f32))
        #expect(signature.result == TensorType([8, 32], .f32))
    }

    struct NumPyCase: Sendable, CustomTestStringConvertible {
        var equation: String
        var operands: [[Int]]
        /// `np.einsum(equation, *ones)`'s shape, or nil where NumPy raises.
        var result: [Int]?
        var testDescription: String { "\(equation) on \(operands.map(\.shapeText).joined(separator: ", "))" }
    }

    // Expected shapes (and errors) from NumPy 2.4.6: `np.einsum(equation, *[np.ones(s) for s in operands]).shape`.
    @Test("einsum agrees with NumPy on shapes and on what it rejects", arguments: [
        NumPyCase(equation: "ij,jk", operands: [[2, 3], [3, 4]], result: [2, 4]),
        NumPyCase(equation: "Ba,aC", operands: [[2, 3], [3, 4]], result: [2, 4]),
        NumPyCase(equation: "...ij,...jk", operands: [[5, 1, 8, 16], [3, 16, 4]], result: [5, 3, 8, 4]),
        NumPyCase(equation: "i...,i...->...", operands: [[4, 2, 3], [4, 3]], result: [2, 3]),
        NumPyCase(equation: "ij,ij->ij", operands: [[3, 1], [3, 4]], result: [3, 4]),
        NumPyCase(equation: "ij,jk->ik", operands: [[3, 1], [4, 5]], result: [3, 5]),
        NumPyCase(equation: "bsgrd,btgd->bgrst", operands: [[2, 7, 4, 2, 8], [2, 5, 4, 8]], result: [2, 4, 2, 7, 5]),
        NumPyCase(equation: "ij->ji", operands: [[2, 3]], result: [3, 2]),
        NumPyCase(equation: "...->...", operands: [[2, 3]], result: [2, 3]),
        NumPyCase(equation: "a...c,c...->a...", operands: [[2, 3, 4], [4, 3]], result: [2, 3]),
        NumPyCase(equation: "ijk,jk->i", operands: [[2, 3, 4], [3, 4]], result: [2]),
        NumPyCase(equation: "i,i", operands: [[3], [3]], result: []),
        NumPyCase(equation: "...i,...i->...", operands: [[2, 1, 3], [4, 3]], result: [2, 4]),
        NumPyCase(equation: "bhqd,bhkd->bhqk", operands: [[2, 4, 6, 8], [2, 4, 10, 8]], result: [2, 4, 6, 10]),
        NumPyCase(equation: "ij,jk->ik", operands: [[3, 4], [5, 6]], result: nil),
        NumPyCase(equation: "ij,jk->ikk", operands: [[3, 4], [4, 6]], result: nil),
        NumPyCase(equation: "ij->k", operands: [[3, 4]], result: nil),
        NumPyCase(equation: "...ij->ij", operands: [[2, 3, 4]], result: nil),
        NumPyCase(equation: "ij,jk->ik", operands: [[3, 4, 5], [4, 6]], result: nil),
    ])
    func agreesWithNumPy(_ example: NumPyCase) {
        let operands = example.operands.map { TensorType($0, .f32) }
        let result = try? Operator.einsum(EinsumEquation(example.equation)).signature(operands: operands).result.shape
        #expect(result == example.result)
    }

    @Test("matmul of two matrices contracts the inner dimension")
    func matmulMatrices() throws {
        let signature = try inferredSignature(.matmul, TensorType([8, 16], .bf16), TensorType([16, 32], .bf16))
        #expect(signature.result == TensorType([8, 32], .bf16))
        #expect(signature.indexSpace.operandNames(0) == ["m", "k"])
        #expect(signature.indexSpace.operandNames(1) == ["k", "n"])
        #expect(signature.indexSpace.names(withRole: .summed) == ["k"])
    }

    struct MatmulCase: Sendable, CustomTestStringConvertible {
        var a: [Int], b: [Int], result: [Int]
        var testDescription: String { "\(a.shapeText) x \(b.shapeText) = \(result.shapeText)" }
    }

    // Results checked against NumPy 2.4.6's `np.matmul(np.ones(a), np.ones(b)).shape`.
    @Test("matmul follows NumPy for vectors and batches", arguments: [
        MatmulCase(a: [16], b: [16], result: []),
        MatmulCase(a: [16], b: [16, 32], result: [32]),
        MatmulCase(a: [8, 16], b: [16], result: [8]),
        MatmulCase(a: [16], b: [5, 16, 32], result: [5, 32]),
        MatmulCase(a: [5, 8, 16], b: [16], result: [5, 8]),
        MatmulCase(a: [4, 1, 8, 16], b: [3, 16, 32], result: [4, 3, 8, 32]),
        MatmulCase(a: [2, 8, 16], b: [2, 16, 32], result: [2, 8, 32]),
    ])
    func matmulShapes(_ example: MatmulCase) throws {
        let signature = try inferredSignature(.matmul, TensorType(example.a, .f32), TensorType(example.b, .f32))
        #expect(signature.result == TensorType(example.result, .f32))
        #expect(signature.indexSpace.names(withRole: .summed) == ["k"])
    }

    @Test("a broadcast batch dimension of matmul carries no index")
    func matmulBroadcastBatch() throws {
        let signature = try inferredSignature(.matmul, TensorType([4, 1, 8, 16], .f32), TensorType([3, 16, 32], .f32))
        #expect(signature.indexSpace.operandNames(0) == ["…1", "-", "m", "k"])
        #expect(signature.indexSpace.operandNames(1) == ["…0", "k", "n"])
        #expect(signature.indexSpace.resultNames == ["…1", "…0", "m", "n"])
    }

    @Test("matmul rejects mismatched inner sizes, scalars and booleans")
    func matmulErrors() {
        #expect(throws: OperatorRuleViolation.self) {
            try inferredSignature(.matmul, TensorType([8, 16], .f32), TensorType([15, 32], .f32))
        }
        #expect(throws: OperatorRuleViolation.self) {
            try inferredSignature(.matmul, TensorType([], .f32), TensorType([4], .f32))
        }
        #expect(throws: OperatorRuleViolation.self) {
            try inferredSignature(.matmul, TensorType([4], .bool), TensorType([4], .bool))
        }
    }
}
