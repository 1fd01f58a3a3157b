import Testing
@testable import ShardPlan

@Suite("Measured attention kernels replayed through the kernel model")
struct MeasuredAttentionTests {
    /// The report of an attention-measurements file holding `rows`.
    private func replay(_ rows: String) throws -> AttentionCalibrationReport {
        try AttentionCalibrationReport(document: try JSONParser.parse(#"{"attention_measurements": [\#(rows)]}"#), source: "measured.json")
    }

    /// The replay of the one row `row`, and the kernel model of the single-H200 preset running FlashAttention-2.
    private func replayedOnH200(_ row: String) throws -> (row: AttentionCalibrationReport.Replay, kernels: KernelModel) {
        var kernels = KernelModel(device: try Cluster.preset(named: "single-h200").device)
        kernels.attentionKernel = .flash2
        return (try #require(try replay(row).replays.first), kernels)
    }

    @Test("TransformerEngine's notebook shape on one H100 with cuDNN, by hand: forward 1.958 ms, backward 5.459 ms")
    func hopperCuDNNByHand() throws {
        let report = try replay(#"""
            {"id": "te", "source": "s", "gpu": "H100-SXM5-80GB", "kernel": "cudnn", "batch": 2, "heads": 32, "head_dim": 128,
             "seq_len": 8192, "causal": true, "forward_ms": 1.9, "backward_ms": 5.5}
            """#)
        let row = try #require(report.replays.first)
        #expect(row.measurement.preset == "single-h100")
        // 4 x 2 x 8192^2 x 32 x 128 dense FLOPs; cuDNN on Hopper: 0.61 of the 989.4 TFLOP/s peak forward, 0.545
        // backward, times 8192 / (8192 + 256); causal: 1/2 + 150/8192 of the dense pass; 10 us a launch.
        let dense = 4.0 * 2 * 8192 * 8192 * 32 * 128
        let masked = 0.5 + 150.0 / 8192, length = 8192.0 / 8448
        let forward = 10e-6 + dense * masked / (989.4e12 * 0.61 * length)
        let backward = 10e-6 + 2.5 * dense * masked / (989.4e12 * 0.545 * length)
        #expect(abs(row.predictedForwardSeconds - forward) < 1e-9)
        #expect(abs(row.predictedBackwardSeconds - backward) < 1e-9)
        #expect(abs(forward - 1.958e-3) < 0.001e-3 && abs(backward - 5.459e-3) < 0.001e-3)
        #expect(abs(row.forwardError - (forward / 1.9e-3 - 1)) < 1e-12)
        #expect(abs(row.totalError - ((forward + backward) / 7.4e-3 - 1)) < 1e-12)
        #expect(report.markdown.contains("| te | H100-SXM5-80GB | cudnn | 2 x 32 x 8192 x 128 | yes | 1.96 | 1.90 | 5.46 | 5.50 | +3.0% | -0.7% | +0.2% |"))
    }

    @Test("an H200 row is priced on the single-H200 preset; grouped query heads change no FLOP, only the backward side kernels")
    func hopperH200() throws {
        let (row, kernels) = try replayedOnH200(#"""
            {"id": "a", "source": "s", "gpu": "H200-SXM-141GB", "kernel": "flash2", "batch": 1, "heads": 16, "kv_heads": 4,
             "head_dim": 64, "seq_len": 4096, "causal": false, "forward_ms": 1, "backward_ms": 2}
            """#)
        #expect(row.measurement.preset == "single-h200")
        let dense = 4.0 * 4096 * 4096 * 16 * 64
        #expect(row.predictedForwardSeconds == kernels.attentionSeconds(denseFLOPs: dense, headDimension: 64, keyLength: 4096,
                                                                         causal: false, dtype: .bf16, backward: false))
        // kv_heads does change the backward pass's side kernels: besides the preprocessing (8 bytes a query element
        // and 4 a row) and the dq conversion (6 bytes a query element), two sums fold the 16 heads' dk and dv into
        // 4 (2 bytes an element read of 2^22, written of 2^20, each). 79,953,920 bytes at 4.8 TB/s x 0.85 and four
        // 10 us launches: 59.596 us.
        let main = kernels.attentionSeconds(denseFLOPs: 2.5 * dense, headDimension: 64, keyLength: 4096, causal: false,
                                            dtype: .bf16, backward: true)
        #expect(abs(row.predictedBackwardSeconds - main - 59.596e-6) < 0.001e-6)
    }

    @Test("a FlashAttention-2 row's backward pass includes its side kernels, by hand: 0.482 ms on an H200 for 64 x 16 x 1024 x 128")
    func flashTwoBackwardSideKernels() throws {
        let (row, kernels) = try replayedOnH200(#"""
            {"id": "a", "source": "s", "gpu": "H200-SXM-141GB", "kernel": "flash2", "batch": 64, "heads": 16, "head_dim": 128,
             "seq_len": 1024, "causal": false, "forward_ms": 1.7, "backward_ms": 5.76}
            """#)
        let dense = 4.0 * 64 * 1024 * 1024 * 16 * 128
        let kernel = kernels.attentionSeconds(denseFLOPs: 2.5 * dense, headDimension: 128, keyLength: 1024, causal: false,
                                              dtype: .bf16, backward: true)
        // 2^27 query elements and 2^20 rows: the preprocessing reads O and dO, writes a 4-byte sum a row and zeroes
        // the fp32 dq accumulator, 2 x 2 + 4 bytes an element + 4 a row; the conversion
        // reads dq in fp32 and writes it in bf16, 6 bytes an element. 14 x 2^27 + 4 x 2^20 bytes at 4.8 TB/s x 0.85,
        // and two 10 us launches.
        let bytes: Double = 14 * 134_217_728 + 4 * 1_048_576
        let side: Double = 2 * 10e-6 + bytes / (4.8e12 * 0.85)
        #expect(abs(side - 0.4816e-3) < 0.0001e-3)
        #expect(abs(row.predictedBackwardSeconds - (kernel + side)) < 1e-12)
    }

    /// A row's members apart from its GPU, kernel and times.
    private static let shape = #""id": "x", "source": "s", "batch": 1, "heads": 1, "head_dim": 64, "seq_len": 1024, "causal": true"#

    /// Bad rows, each with the JSON path its error names.
    private static let badRows: [(row: String, path: String)] = [
        (#"{\#(shape), "gpu": "T4", "kernel": "flash2", "forward_ms": 1, "backward_ms": 1}"#, "attention_measurements[0].gpu"),
        (#"{\#(shape), "gpu": "H100-SXM5-80GB", "forward_ms": 1, "backward_ms": 1}"#, "attention_measurements[0].kernel"),
        (#"{\#(shape), "gpu": "H100-SXM5-80GB", "kernel": "xformers", "forward_ms": 1, "backward_ms": 1}"#, "attention_measurements[0].kernel"),
        (#"{\#(shape), "gpu": "H100-SXM5-80GB", "kernel": "flash2", "forward_ms": 0, "backward_ms": 1}"#, "attention_measurements[0].forward_ms"),
        (#"{\#(shape), "gpu": "H100-SXM5-80GB", "kernel": "flash2", "forward_ms": 1}"#, "attention_measurements[0]"),
        (#"{"id": "x", "source": "s", "batch": 0, "heads": 1, "head_dim": 64, "seq_len": 1024, "causal": true, "gpu": "H100-SXM5-80GB", "kernel": "flash2", "forward_ms": 1, "backward_ms": 1}"#, "attention_measurements[0].batch"),
        (#"3"#, "attention_measurements[0]"),
        (#"{\#(shape), "gpu": "H100-SXM5-80GB", "kernel": "flash2", "kv_heads": 2, "forward_ms": 1, "backward_ms": 1}"#, "attention_measurements[0].kv_heads"),
        (#"{\#(shape), "gpu": "H100-SXM5-80GB", "kernel": "flash2", "kv_heads": 0, "forward_ms": 1, "backward_ms": 1}"#, "attention_measurements[0].kv_heads"),
        (#"{\#(shape), "gpu": "H100-SXM5-80GB", "kernel": "flash2", "kv_heads": -1, "forward_ms": 1, "backward_ms": 1}"#, "attention_measurements[0].kv_heads"),
        // Heads wider than the kernel is built for (QA: head_dim 1,048,576 was replayed at +1,245,939.8%).
        (#"{"id": "x", "source": "s", "batch": 1, "heads": 1, "head_dim": 1048576, "seq_len": 1024, "causal": true, "gpu": "H100-SXM5-80GB", "kernel": "flash2", "forward_ms": 1, "backward_ms": 1}"#, "attention_measurements[0].head_dim"),
        (#"{"id": "x", "source": "s", "batch": 1, "heads": 1, "head_dim": 192, "seq_len": 1024, "causal": true, "gpu": "A100-SXM4-80GB", "kernel": "triton", "forward_ms": 1, "backward_ms": 1}"#, "attention_measurements[0].head_dim"),
    ]

    @Test("a bad row is refused at its JSON path", arguments: badRows)
    func badRow(row: String, path: String) throws {
        let error = #expect(throws: InputError.self) { try replay(row) }
        #expect(error?.path.description == path)
    }

    @Test("a file without measurements is refused, and calibrate tells an attention file from the others")
    func fileKinds() throws {
        #expect(throws: InputError.self) { _ = try AttentionCalibrationReport(document: try JSONParser.parse(#"{"attention_measurements": []}"#), source: "t") }
        #expect(AttentionCalibrationReport.holdsAttention(try JSONParser.parse(#"{"attention_measurements": []}"#)))
        #expect(!AttentionCalibrationReport.holdsAttention(try JSONParser.parse(#"{"measurements": []}"#)))
    }
}
