import Testing
@testable import ShardPlan

@Suite("embedding, attention, conv2d and pool2d shape rules")
struct NeuralShapeTests {
    @Test("embedding appends the hidden size; the vocabulary is summed (vocabulary-parallel lookups)")
    func embedding() throws {
        let signature = try inferredSignature(.embedding, TensorType([4, 8], .i32), TensorType([1000, 64], .bf16))
        #expect(signature.result == TensorType([4, 8, 64], .bf16))
        #expect(signature.indexSpace.role(of: "vocab") == .summed)
        #expect(signature.indexSpace.role(of: "hidden") == .free)
        #expect(signature.indexSpace.operandNames(1) == ["vocab", "hidden"])
        #expect(signature.indexSpace.resultNames == ["d0", "d1", "hidden"])
        let floatIDs = #expect(throws: OperatorRuleViolation.self) {
            try inferredSignature(.embedding, TensorType([4, 8], .f32), TensorType([1000, 64], .bf16))
        }
        #expect(floatIDs?.kind == .dtypeMismatch)
    }

    @Test("multi-head attention splits batch, queries and heads; head_dim and keys stay whole")
    func multiHeadAttention() throws {
        let qkv = TensorType([2, 128, 8, 64], .bf16)
        let signature = try inferredSignature(.attention(causal: false), qkv, qkv, qkv)
        #expect(signature.result == qkv)
        let space = signature.indexSpace
        #expect(space.names(withRole: .free) == ["batch", "query", "heads"])
        #expect(space.role(of: "head_dim") == .unsplittable)
        #expect(space.role(of: "key") == .unsplittable)
        #expect(space.operandNames(1) == ["batch", "key", "heads", "head_dim"])
    }

    @Test("grouped-query attention: k and v have fewer heads and share the heads index")
    func groupedQueryAttention() throws {
        let q = TensorType([2, 128, 32, 64], .bf16), kv = TensorType([2, 128, 8, 64], .bf16)
        let signature = try inferredSignature(.attention(causal: true), q, kv, kv)
        #expect(signature.result == q)
        #expect(signature.indexSpace.operandNames(2) == ["batch", "key", "heads", "value_dim"])
        let uneven = #expect(throws: OperatorRuleViolation.self) {
            try inferredSignature(.attention(causal: false), q, TensorType([2, 128, 5, 64], .bf16), TensorType([2, 128, 5, 64], .bf16))
        }
        #expect(uneven?.kind == .shapeMismatch)
    }

    @Test("cross-attention may have a different key length and value size, but not when causal")
    func crossAttention() throws {
        let q = TensorType([2, 16, 4, 32], .f32), k = TensorType([2, 40, 4, 32], .f32), v = TensorType([2, 40, 4, 48], .f32)
        let signature = try inferredSignature(.attention(causal: false), q, k, v)
        #expect(signature.result == TensorType([2, 16, 4, 48], .f32))
        #expect(throws: OperatorRuleViolation.self) { try inferredSignature(.attention(causal: true), q, k, v) }
        #expect(throws: OperatorRuleViolation.self) {
            try inferredSignature(.attention(causal: false), q, TensorType([2, 40, 4, 16], .f32), v)
        }
    }

    @Test("conv2d with padding 1 keeps the image size; its points are the multiply-adds")
    func conv2dSame() throws {
        let signature = try inferredSignature(.conv2d(stride: [1, 1], padding: [1, 1], groups: 1),
                                              TensorType([8, 3, 32, 32], .f32), TensorType([16, 3, 3, 3], .f32))
        #expect(signature.result == TensorType([8, 16, 32, 32], .f32))
        let space = signature.indexSpace
        #expect(space.role(of: "c") == .summed)
        #expect(space.names(withRole: .free) == ["n", "o"])
        #expect(space.names(withRole: .unsplittable) == ["oh", "ow", "kh", "kw"])
        #expect(space.operandNames(0) == ["n", "c", "-", "-"])
        #expect(space.resultNames == ["n", "o", "oh", "ow"])
        #expect(space.pointCount == Double(8 * 16 * 32 * 32 * 3 * 3 * 3))
    }

    @Test("conv2d with stride 2 and no padding: (32 - 3) / 2 + 1 = 15")
    func conv2dStrided() throws {
        let signature = try inferredSignature(.conv2d(stride: [2, 2], padding: [0, 0], groups: 1),
                                              TensorType([8, 3, 32, 32], .f32), TensorType([16, 3, 3, 3], .f32))
        #expect(signature.result == TensorType([8, 16, 15, 15], .f32))
        #expect(signature.indexSpace.size(of: "oh") == 15)
    }

    @Test("grouped conv2d splits whole groups and counts C/groups multiply-adds per output")
    func conv2dGroups() throws {
        let signature = try inferredSignature(.conv2d(stride: [1, 1], padding: [0, 0], groups: 2),
                                              TensorType([8, 4, 16, 16], .f32), TensorType([6, 2, 3, 3], .f32))
        #expect(signature.result == TensorType([8, 6, 14, 14], .f32))
        let space = signature.indexSpace
        #expect(space.size(of: "group") == 2)
        #expect(space.operandNames(0) == ["n", "group", "-", "-"])
        #expect(space.operandNames(1) == ["group", "c_per_group", "kh", "kw"])
        #expect(space.pointCount == Double(8 * 6 * 14 * 14 * 2 * 3 * 3))
    }

    @Test("depthwise conv2d: one group per channel")
    func conv2dDepthwise() throws {
        let signature = try inferredSignature(.conv2d(stride: [1, 1], padding: [1, 1], groups: 32),
                                              TensorType([8, 32, 16, 16], .f32), TensorType([32, 1, 3, 3], .f32))
        #expect(signature.result == TensorType([8, 32, 16, 16], .f32))
    }

    @Test("conv2d rejects channel counts that do not fit the groups, and windows larger than the input")
    func conv2dErrors() {
        let channels = #expect(throws: OperatorRuleViolation.self) {
            try inferredSignature(.conv2d(stride: [1, 1], padding: [0, 0], groups: 2),
                                  TensorType([8, 4, 16, 16], .f32), TensorType([6, 4, 3, 3], .f32))
        }
        #expect(channels?.kind == .shapeMismatch)
        #expect(throws: OperatorRuleViolation.self) {
            try inferredSignature(.conv2d(stride: [1, 1], padding: [0, 0], groups: 1),
                                  TensorType([8, 3, 2, 2], .f32), TensorType([16, 3, 3, 3], .f32))
        }
        #expect(throws: OperatorRuleViolation.self) {
            try inferredSignature(.conv2d(stride: [0, 1], padding: [0, 0], groups: 1),
                                  TensorType([8, 3, 8, 8], .f32), TensorType([16, 3, 3, 3], .f32))
        }
    }

    @Test("pool2d shrinks space by its stride; batch and channels split")
    func pool2d() throws {
        let maximum = try inferredSignature(.pool2d(.max, window: [2, 2], stride: [2, 2], padding: [0, 0]),
                                            TensorType([8, 3, 32, 32], .f32))
        #expect(maximum.result == TensorType([8, 3, 16, 16], .f32))
        #expect(maximum.indexSpace.names(withRole: .free) == ["n", "c"])
        let average = try inferredSignature(.pool2d(.avg, window: [3, 3], stride: [1, 1], padding: [1, 1]),
                                            TensorType([8, 3, 32, 32], .f32))
        #expect(average.result == TensorType([8, 3, 32, 32], .f32))
    }
}
