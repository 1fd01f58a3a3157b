import Testing
@testable import ShardPlan

@Suite("elementwise shape rules")
struct ElementwiseShapeTests {
    @Test("every unary function keeps shape and dtype, with one free index per dimension",
          arguments: UnaryFunction.allCases)
    func unaryKeepsType(_ function: UnaryFunction) throws {
        let signature = try inferredSignature(.unary(function), TensorType([4, 8], .bf16))
        #expect(signature.result == TensorType([4, 8], .bf16))
        #expect(signature.indexSpace.names(withRole: .free) == ["d0", "d1"])
        #expect(signature.indexSpace.operandIndices == [[0, 1]])
        #expect(signature.indexSpace.resultIndices == [0, 1])
    }

    @Test("transcendental functions need floating point; sign and magnitude functions take integers")
    func unaryDTypes() throws {
        #expect(throws: OperatorRuleViolation.self) { try inferredSignature(.unary(.exp), TensorType([4], .i32)) }
        #expect(try inferredSignature(.unary(.relu), TensorType([4], .i32)).result == TensorType([4], .i32))
        #expect(throws: OperatorRuleViolation.self) { try inferredSignature(.unary(.neg), TensorType([4], .bool)) }
        #expect(try inferredSignature(.unary(.stopGradient), TensorType([4], .bool)).result == TensorType([4], .bool))
    }

    @Test("cast changes only the dtype")
    func cast() throws {
        let signature = try inferredSignature(.cast(.f32), TensorType([2, 3], .bf16))
        #expect(signature.result == TensorType([2, 3], .f32))
    }

    @Test("dropout and scale keep the type; their attributes are checked")
    func dropoutAndScale() throws {
        #expect(try inferredSignature(.dropout(rate: 0.1), TensorType([2, 3], .bf16)).result == TensorType([2, 3], .bf16))
        #expect(try inferredSignature(.dropout(rate: 0), TensorType([2, 3], .bf16)).result == TensorType([2, 3], .bf16))
        #expect(try inferredSignature(.scale(factor: 0.125), TensorType([2, 3], .f16)).result == TensorType([2, 3], .f16))
        for rate in [1.0, 1.5, -0.1, Double.nan] {
            #expect(throws: OperatorRuleViolation.self) { try inferredSignature(.dropout(rate: rate), TensorType([2], .f32)) }
        }
        #expect(throws: OperatorRuleViolation.self) { try inferredSignature(.scale(factor: .infinity), TensorType([2], .f32)) }
        #expect(throws: OperatorRuleViolation.self) { try inferredSignature(.dropout(rate: 0.1), TensorType([2], .i32)) }
    }

    @Test("every binary function broadcasts NumPy-style; comparisons give booleans",
          arguments: BinaryFunction.allCases)
    func binaryBroadcasts(_ function: BinaryFunction) throws {
        let dtype: DType = function.isLogical ? .bool : .f32
        let signature = try inferredSignature(.binary(function), TensorType([4, 1, 8], dtype), TensorType([3, 1], dtype))
        #expect(signature.result == TensorType([4, 3, 8], function.isComparison ? .bool : dtype))
        // The size-1 dimensions of each operand carry no index: they are broadcast, never split.
        #expect(signature.indexSpace.operandNames(0) == ["d0", "-", "d2"])
        #expect(signature.indexSpace.operandNames(1) == ["d1", "-"])
        #expect(signature.indexSpace.resultNames == ["d0", "d1", "d2"])
    }

    @Test("binary functions need one dtype and compatible shapes")
    func binaryErrors() {
        let mixed = #expect(throws: OperatorRuleViolation.self) {
            try inferredSignature(.binary(.add), TensorType([4], .bf16), TensorType([4], .f32))
        }
        #expect(mixed?.kind == .dtypeMismatch)
        let shapes = #expect(throws: OperatorRuleViolation.self) {
            try inferredSignature(.binary(.mul), TensorType([4, 3], .f32), TensorType([4], .f32))
        }
        #expect(shapes?.kind == .shapeMismatch)
        #expect(throws: OperatorRuleViolation.self) {
            try inferredSignature(.binary(.and), TensorType([4], .f32), TensorType([4], .f32))
        }
        #expect(throws: OperatorRuleViolation.self) {
            try inferredSignature(.binary(.lt), TensorType([4], .bool), TensorType([4], .bool))
        }
    }

    @Test("where broadcasts its condition and both branches")
    func select() throws {
        let signature = try inferredSignature(.select, TensorType([4, 1], .bool), TensorType([1, 8], .f32), TensorType([4, 8], .f32))
        #expect(signature.result == TensorType([4, 8], .f32))
        #expect(signature.indexSpace.operandNames(0) == ["d0", "-"])
        #expect(signature.indexSpace.operandNames(1) == ["-", "d1"])
        let condition = #expect(throws: OperatorRuleViolation.self) {
            try inferredSignature(.select, TensorType([4], .f32), TensorType([4], .f32), TensorType([4], .f32))
        }
        #expect(condition?.kind == .dtypeMismatch)
    }
}
