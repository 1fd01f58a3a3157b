import Testing
@testable import ShardPlan

@Suite("reduction, softmax, normalisation and loss shape rules")
struct ReductionShapeTests {
    @Test("reduce sum drops its axes and sums their indices")
    func reduceSum() throws {
        let signature = try inferredSignature(.reduce(.sum, axes: [1], keepDimensions: false), TensorType([4, 8, 16], .f32))
        #expect(signature.result == TensorType([4, 16], .f32))
        #expect(signature.indexSpace.names(withRole: .summed) == ["r1"])
        #expect(signature.indexSpace.operandNames(0) == ["d0", "r1", "d2"])
        #expect(signature.indexSpace.resultNames == ["d0", "d2"])
    }

    @Test("reduce mean with keepdims keeps a size-1 dimension that carries no index")
    func reduceMeanKeepDimensions() throws {
        let signature = try inferredSignature(.reduce(.mean, axes: [1], keepDimensions: true), TensorType([4, 8, 16], .bf16))
        #expect(signature.result == TensorType([4, 1, 16], .bf16))
        #expect(signature.indexSpace.resultNames == ["d0", "-", "d2"])
    }

    @Test("reduce max and min leave partial extrema, not partial sums",
          arguments: [ReductionKind.max, .min])
    func reduceExtremum(_ kind: ReductionKind) throws {
        let signature = try inferredSignature(.reduce(kind, axes: [0, 1], keepDimensions: false), TensorType([4, 8], .i32))
        #expect(signature.result == TensorType([], .i32))
        #expect(signature.indexSpace.names(withRole: .extremum) == ["r0", "r1"])
    }

    @Test("negative axes count from the end and are stored normalised")
    func negativeAxes() throws {
        let op = Operator.reduce(.sum, axes: [-1, -3], keepDimensions: false)
        let operand = TensorType([4, 8, 16], .f32)
        #expect(op.normalized(for: [operand]) == .reduce(.sum, axes: [2, 0], keepDimensions: false))
        #expect(try inferredSignature(op, operand).result == TensorType([8], .f32))
    }

    @Test("reduce rejects axes out of range, repeated axes, and a mean of integers")
    func reduceErrors() {
        #expect(throws: OperatorRuleViolation.self) {
            try inferredSignature(.reduce(.sum, axes: [3], keepDimensions: false), TensorType([4, 8, 16], .f32))
        }
        #expect(throws: OperatorRuleViolation.self) {
            try inferredSignature(.reduce(.sum, axes: [2, -1], keepDimensions: false), TensorType([4, 8, 16], .f32))
        }
        #expect(throws: OperatorRuleViolation.self) {
            try inferredSignature(.reduce(.mean, axes: [0], keepDimensions: false), TensorType([4], .i32))
        }
    }

    @Test("softmax and log_softmax keep the shape and couple their axis with two statistics per row")
    func softmax() throws {
        for op in [Operator.softmax(axis: -1), .logSoftmax(axis: 2)] {
            let signature = try inferredSignature(op, TensorType([2, 4, 128], .bf16))
            #expect(signature.result == TensorType([2, 4, 128], .bf16))
            #expect(signature.indexSpace.role(of: "d2") == .coupled(statistics: 2))
            #expect(signature.indexSpace.names(withRole: .free) == ["d0", "d1"])
        }
    }

    @Test("softmax's axis defaults to the last one in a document")
    func softmaxDefaultAxis() throws {
        let graph = try Graph(jsonBytes: Array(GraphDocumentText(ops: #"{"name": "y", "op": "softmax", "inputs": ["x"]}"#).text.utf8))
        #expect(graph.operations[0].op == .softmax(axis: 1))
    }

    @Test("layer_norm couples the hidden axis; gamma and beta carry its index")
    func layerNorm() throws {
        let signature = try inferredSignature(.layerNorm(axes: [-1]), TensorType([4, 8, 16], .bf16),
                                              TensorType([16], .bf16), TensorType([16], .bf16))
        #expect(signature.result == TensorType([4, 8, 16], .bf16))
        #expect(signature.indexSpace.role(of: "d2") == .coupled(statistics: 2))
        #expect(signature.indexSpace.operandNames(1) == ["d2"])
        #expect(signature.indexSpace.operandNames(2) == ["d2"])
    }

    @Test("layer_norm over several axes wants gamma shaped like those axes")
    func layerNormSeveralAxes() throws {
        let signature = try inferredSignature(.layerNorm(axes: [-2, -1]), TensorType([4, 8, 16], .f32),
                                              TensorType([8, 16], .f32), TensorType([8, 16], .f32))
        #expect(signature.indexSpace.names(withRole: .coupled(statistics: 2)) == ["d1", "d2"])
        let wrongGamma = #expect(throws: OperatorRuleViolation.self) {
            try inferredSignature(.layerNorm(axes: [-1]), TensorType([4, 8, 16], .f32), TensorType([8], .f32))
        }
        #expect(wrongGamma?.kind == .shapeMismatch)
        #expect(throws: OperatorRuleViolation.self) {
            try inferredSignature(.layerNorm(axes: []), TensorType([4, 8], .f32))
        }
    }

    @Test("rms_norm keeps one statistic per row")
    func rmsNorm() throws {
        let signature = try inferredSignature(.rmsNorm(axes: [-1]), TensorType([4, 16], .bf16), TensorType([16], .bf16))
        #expect(signature.result == TensorType([4, 16], .bf16))
        #expect(signature.indexSpace.role(of: "d1") == .coupled(statistics: 1))
    }

    @Test("batch_norm keeps channels free and couples batch and space")
    func batchNorm() throws {
        let signature = try inferredSignature(.batchNorm(axis: 1), TensorType([8, 16, 32, 32], .f32),
                                              TensorType([16], .f32), TensorType([16], .f32))
        #expect(signature.result == TensorType([8, 16, 32, 32], .f32))
        #expect(signature.indexSpace.names(withRole: .free) == ["d1"])
        #expect(signature.indexSpace.names(withRole: .coupled(statistics: 2)) == ["d0", "d2", "d3"])
        #expect(signature.indexSpace.operandNames(1) == ["d1"])
        #expect(throws: OperatorRuleViolation.self) {
            try inferredSignature(.batchNorm(axis: 1), TensorType([8, 16, 32, 32], .f32), TensorType([32], .f32))
        }
    }

    @Test("cross_entropy gives an f32 scalar: classes coupled, every other index summed into the mean")
    func crossEntropy() throws {
        let signature = try inferredSignature(.crossEntropy, TensorType([4, 8, 100], .bf16), TensorType([4, 8], .i32))
        #expect(signature.result == TensorType([], .f32))
        #expect(signature.indexSpace.role(of: "class") == .coupled(statistics: 3))
        #expect(signature.indexSpace.names(withRole: .summed) == ["d0", "d1"])
        #expect(signature.indexSpace.operandNames(1) == ["d0", "d1"])
        #expect(signature.indexSpace.resultNames.isEmpty)
    }

    @Test("cross_entropy wants integer labels shaped like the logits without their class axis")
    func crossEntropyErrors() {
        let shape = #expect(throws: OperatorRuleViolation.self) {
            try inferredSignature(.crossEntropy, TensorType([4, 8, 100], .f32), TensorType([4, 9], .i32))
        }
        #expect(shape?.kind == .shapeMismatch)
        let dtype = #expect(throws: OperatorRuleViolation.self) {
            try inferredSignature(.crossEntropy, TensorType([4, 100], .f32), TensorType([4], .f32))
        }
        #expect(dtype?.kind == .dtypeMismatch)
    }
}
