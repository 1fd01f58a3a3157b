import Foundation
import Testing
@testable import ShardPlan

/// Sliding-window (local) causal attention: the graph format's `window`, the band's FLOPs and the fused kernel's
/// time, the builder's per-layer windows and the calibration rows' `sliding_window`.
@Suite("Sliding-window attention")
struct SlidingWindowTests {
    let a100 = SingleHeadAttention.a100

    func attentionGraph(tokens: Int, window: Int?, causal: Bool = true) throws -> Graph {
        try SingleHeadAttention.graph(tokens: tokens, window: window, causal: causal)
    }

    func attentionCost(_ graph: Graph, kernels: KernelModel) throws -> OperatorCost {
        let index = try #require(graph.operations.firstIndex { $0.name == "attention" })
        return OperatorCostModel(graph: graph, kernels: kernels, meshShape: [1], microbatches: 1)
            .cost(index, OpStrategy(indexOfAxis: [nil]))
    }

    @Test("t = 8192, w = 4096: 25,167,872 pairs (0.37503 of t^2), band FLOPs 12,885,950,464 of 34,359,738,368 dense")
    func bandPairsAndFLOPs() throws {
        // The first 4096 queries fill a triangle, 4096 x 4097 / 2 = 8,390,656; the other 4096 read 4096 keys each.
        #expect(SlidingWindow.pairs(tokens: 8192, window: 4096) == 8_390_656 + 16_777_216)
        #expect(SlidingWindow.share(tokens: 8192, window: 4096) == 0.375030517578125)
        // A window as long as the sequence is causal attention: t (t + 1) / 2 pairs.
        #expect(SlidingWindow.pairs(tokens: 8192, window: 8192) == 8192 * 8193 / 2)
        #expect(SlidingWindow.pairs(tokens: 8192, window: 100_000) == 8192 * 8193 / 2)
        #expect(SlidingWindow.narrowing(4096, keys: 8192) == 4096 && SlidingWindow.narrowing(8192, keys: 8192) == nil)

        let analysis = GraphAnalysis(try attentionGraph(tokens: 8192, window: 4096))
        let attention = try #require(analysis.operations.last)
        // Counted dense like causal attention (4 x 8192 x 8192 x 128); the band is 4 x 128 x 25,167,872.
        #expect(attention.forwardFLOPs == 34_359_738_368 && attention.causal && attention.window == 4096)
        #expect(attention.bandForwardFLOPs == 12_885_950_464)
        #expect(analysis.slidingWindowAttentionForwardFLOPs == 34_359_738_368)
        #expect(analysis.slidingWindowBandForwardFLOPs == 12_885_950_464)
        guard case .object(let json) = analysis.json, case .object(let flops)? = json["flops"] else {
            Issue.record("no flops object"); return
        }
        #expect(flops["sliding_window_band_forward"] == .number(12_885_950_464))
        #expect(flops["model_forward"] == .number(268_435_456 + 25_771_900_928))
        let full = GraphAnalysis(try attentionGraph(tokens: 8192, window: 8192))
        #expect(full.operations.last?.window == nil && full.slidingWindowAttentionForwardFLOPs == 0)
    }

    @Test("MFU counts a window's band twice, as causal attention is counted dense: 25,771,900,928 at t = 8192, w = 4096; never above dense")
    func modelFLOPsCountTheBand() throws {
        let analysis = GraphAnalysis(try attentionGraph(tokens: 8192, window: 4096))
        // 2 x the band's 12,885,950,464; the projection is 2 x 8192 x 128 x 128 = 268,435,456.
        #expect(analysis.operations.last?.modelForwardFLOPs == 25_771_900_928)
        #expect(analysis.modelForwardFLOPs == 268_435_456 + 25_771_900_928)
        #expect(analysis.forwardFLOPs == 268_435_456 + 34_359_738_368)
        // w = t - 1: 2 x 33,558,527 pairs exceeds t^2 = 67,108,864, so the op counts dense, as causal attention does.
        let wide = GraphAnalysis(try attentionGraph(tokens: 8192, window: 8191))
        #expect(wide.operations.last?.window == 8191 && wide.modelForwardFLOPs == wide.forwardFLOPs)
        // Causal attention without a window keeps its dense count.
        let causal = GraphAnalysis(try attentionGraph(tokens: 8192, window: nil))
        #expect(causal.modelForwardFLOPs == causal.forwardFLOPs)

        // A plan's MFU and TFLOP/s per device count 3 x the model FLOPs.
        let cluster = try Cluster.preset(named: "dgx-h100")
        let graph = try attentionGraph(tokens: 8192, window: 4096)
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-h100",
                                             configuration: MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1, dataParallel: 1, microBatchSize: 1))
        let prediction = PlanEvaluator(cluster: cluster).evaluate(plan)
        #expect(prediction.modelFLOPs == 3 * analysis.modelForwardFLOPs)
        #expect(abs(prediction.tflopsPerDevice - prediction.modelFLOPs / prediction.iterationSeconds / Double(plan.deviceCount) / 1e12) < 1e-9)
    }

    @Test("FlashAttention-2 on an A100, t = 8192, w = 4096, one head of 128: 0.44339 of the unmasked pass, 68.98 us forward, 203.05 us backward")
    func windowedKernelSeconds() throws {
        // share = 0.375030517578125 + 2 x 280 / 8192 = 0.443389892578125 (causal: 1/2 + 280/8192 = 0.5341796875);
        // rate 312e12 x 0.73 x 8192 / 8448 forward, x 0.62 backward.
        let dense = 34_359_738_368.0
        let share = 0.375030517578125 + 2 * 280.0 / 8192
        #expect(share == 0.443389892578125)
        let forwardRate = 312e12 * 0.73 * 8192 / 8448
        let forward = a100.attentionSeconds(denseFLOPs: dense, headDimension: 128, keyLength: 8192, causal: true, window: 4096,
                                            dtype: .bf16, backward: false)
        #expect(abs(forward - dense * share / forwardRate) <= 1e-15)
        #expect(abs(forward - 68.98e-6) <= 0.01e-6)
        let backward = a100.attentionSeconds(denseFLOPs: 2.5 * dense, headDimension: 128, keyLength: 8192, causal: true, window: 4096,
                                             dtype: .bf16, backward: true)
        #expect(abs(backward - 203.05e-6) <= 0.01e-6)
        // 0.830 of the causal kernel's time.
        let causal = a100.attentionSeconds(denseFLOPs: dense, headDimension: 128, keyLength: 8192, causal: true, dtype: .bf16, backward: false)
        #expect(abs(forward / causal - 0.443389892578125 / 0.5341796875) <= 1e-12)

        // Through the operator cost model: the same forward seconds, the dense FLOPs reported.
        let cost = try attentionCost(try attentionGraph(tokens: 8192, window: 4096), kernels: a100)
        #expect(abs(cost.forwardSeconds - forward) <= 1e-15 && cost.forwardFLOPs == dense)
    }

    @Test("a window at least the key length, or the Triton kernel's, is priced as full causal attention; a short window is capped at causal's share")
    func windowsThatChangeNothing() throws {
        let causal = try attentionCost(try attentionGraph(tokens: 2048, window: nil), kernels: a100)
        for window in [2048, 4096] {
            let same = try attentionCost(try attentionGraph(tokens: 2048, window: window), kernels: a100)
            #expect(same.forwardSeconds == causal.forwardSeconds && same.backwardSeconds == causal.backwardSeconds)
        }
        var triton = a100
        triton.attentionKernel = .triton
        #expect(try attentionCost(try attentionGraph(tokens: 8192, window: 1024), kernels: triton).forwardSeconds
            == attentionCost(try attentionGraph(tokens: 8192, window: nil), kernels: triton).forwardSeconds)
        // w = 2000 of 2048: 0.49991 + 560/2048 exceeds 1/2 + 280/2048, so the causal share is kept.
        let nearlyCausal = try attentionCost(try attentionGraph(tokens: 2048, window: 2000), kernels: a100)
        #expect(nearlyCausal.forwardSeconds == causal.forwardSeconds)
        // A narrow window saves most of the pass: w = 256 of 8192 keeps 0.0313 + 0.0684 of it.
        let narrow = a100.attentionSeconds(denseFLOPs: 1e12, headDimension: 128, keyLength: 8192, causal: true, window: 256,
                                           dtype: .bf16, backward: false)
        let unmasked = a100.attentionSeconds(denseFLOPs: 1e12, headDimension: 128, keyLength: 8192, causal: false, dtype: .bf16, backward: false)
        #expect(abs(narrow / unmasked - (SlidingWindow.share(tokens: 8192, window: 256) + 560.0 / 8192)) <= 1e-12)
    }

    @Test("on a context-parallel ring of 4 a windowed layer is priced as a causal one: no ring step is skipped")
    func ringUnchanged() throws {
        func ringCost(window: Int?) throws -> OperatorCost {
            let graph = try attentionGraph(tokens: 16384, window: window)
            let index = try #require(graph.operations.firstIndex { $0.name == "attention" })
            let query = try #require(graph.operations[index].indexSpace.indices.firstIndex { $0.name == "query" })
            let strategy = OpStrategy(indexOfAxis: [query])
            #expect(ContextParallelExchange.ringSize(graph.operations[index], strategy, meshShape: [4]) == 4)
            return OperatorCostModel(graph: graph, kernels: a100, meshShape: [4], microbatches: 1).cost(index, strategy)
        }
        let (windowed, causal) = (try ringCost(window: 1024), try ringCost(window: nil))
        #expect(windowed.forwardSeconds == causal.forwardSeconds && windowed.backwardSeconds == causal.backwardSeconds)
    }

    static let windowedOp = #"{"name": "attn", "op": "attention", "inputs": ["q", "q", "q"], "causal": true, "window": 4096}"#

    static func document(op: String) -> String {
        """
        {"format": "shardplan.graph/1", "name": "w",
         "inputs": [{"name": "q", "shape": [1, 8192, 2, 64], "dtype": "bf16"}],
         "ops": [\(op)], "outputs": ["attn"]}
        """
    }

    @Test("a graph's attention window round-trips through JSON and is written only when set")
    func graphRoundTrip() throws {
        let graph = try Graph(jsonBytes: Array(Self.document(op: Self.windowedOp).utf8))
        #expect(graph.operations[0].op == .attention(causal: true, window: 4096))
        #expect(graph.jsonText.contains(#""window": 4096"#))
        let again = try Graph(jsonBytes: Array(graph.jsonText.utf8))
        #expect(again.jsonText == graph.jsonText && again.operations[0].op == graph.operations[0].op)
        let plain = try Graph(jsonBytes: Array(Self.document(op: #"{"name": "attn", "op": "attention", "inputs": ["q", "q", "q"], "causal": true}"#).utf8))
        #expect(plain.operations[0].op == .attention(causal: true) && !plain.jsonText.contains("window"))
    }

    @Test("attention sinks round-trip through JSON beside a window, are written only when set, and a non-boolean is refused at the op's sinks")
    func sinksRoundTrip() throws {
        let op = #"{"name": "attn", "op": "attention", "inputs": ["q", "q", "q"], "causal": true, "window": 128, "sinks": true}"#
        let graph = try Graph(jsonBytes: Array(Self.document(op: op).utf8))
        #expect(graph.operations[0].op == .attention(causal: true, window: 128, sinks: true))
        #expect(graph.jsonText.contains(#""sinks": true"#))
        #expect(try Graph(jsonBytes: Array(graph.jsonText.utf8)).operations[0].op == graph.operations[0].op)
        let without = try Graph(jsonBytes: Array(Self.document(op: op.replacingOccurrences(of: "true}", with: "false}")).utf8))
        #expect(without.operations[0].op == .attention(causal: true, window: 128) && !without.jsonText.contains("sinks"))
        let error = #expect(throws: InputError.self) {
            try Graph(jsonBytes: Array(Self.document(op: op.replacingOccurrences(of: "\"sinks\": true", with: "\"sinks\": 1")).utf8))
        }
        #expect(error?.path.description == #"ops[0] "attn".sinks"#, "\(error?.description ?? "")")
    }

    @Test("a window without causal, or not a positive integer, is refused at the op's window", arguments: [
        #"{"name": "attn", "op": "attention", "inputs": ["q", "q", "q"], "window": 4096}"#,
        #"{"name": "attn", "op": "attention", "inputs": ["q", "q", "q"], "causal": false, "window": 4096}"#,
        #"{"name": "attn", "op": "attention", "inputs": ["q", "q", "q"], "causal": true, "window": 0}"#,
        #"{"name": "attn", "op": "attention", "inputs": ["q", "q", "q"], "causal": true, "window": 4096.5}"#,
    ])
    func refusedWindows(op: String) throws {
        let error = #expect(throws: InputError.self) { try Graph(jsonBytes: Array(Self.document(op: op).utf8)) }
        #expect(error?.path.description == #"ops[0] "attn".window"#, "\(error?.description ?? "")")
        if op.contains("4096}") && !op.contains("true") { #expect(error?.message.contains("causal") == true) }
        // Built in code, the same op is refused at the op.
        var builder = GraphBuilder(name: "code")
        let q = try builder.input("q", [1, 16, 2, 64], .bf16)
        let built = #expect(throws: InputError.self) { try builder.attention("attn", q: q, k: q, v: q, causal: false, window: 8) }
        #expect(built?.message.contains("causal") == true)
    }

    @Test("Olmo 3's pattern: window 4,096 in layers 0-2, 4-6, ..., full attention in 3, 7, ..., 31; Mistral's in every layer")
    func builderWindows() throws {
        var olmo = TransformerConfiguration.llama(layers: 32, hidden: 256, heads: 2, keyValueHeads: 2, feedForwardHidden: 512,
                                                  vocabulary: 128, sequenceLength: 8192, globalBatch: 1)
        olmo.slidingWindow = 4096
        olmo.globalAttentionInterval = 4
        let graph = try TransformerBuilder(name: "olmo3", configuration: olmo).build()
        let windows = graph.operations.compactMap { operation -> Int?? in
            guard case .attention(_, let window, _) = operation.op else { return nil }
            return .some(window)
        }
        #expect(windows.count == 32)
        for (layer, window) in windows.enumerated() {
            #expect(window == (layer % 4 == 3 ? nil : 4096), "layer \(layer)")
        }
        #expect(olmo.slidingWindow(inLayer: 31) == nil && olmo.slidingWindow(inLayer: 30) == 4096)
        var mistral = olmo
        mistral.globalAttentionInterval = nil
        #expect((0..<32).allSatisfy { mistral.slidingWindow(inLayer: $0) == 4096 })
        let catalog = try #require(ModelCatalog.model(id: "mistral-7b")?.transformer)
        #expect(catalog.slidingWindow == 4096 && catalog.globalAttentionInterval == nil && catalog.sequenceLength == 8192)
        var gemma2 = olmo
        gemma2.globalAttentionInterval = 2
        #expect(gemma2.slidingWindow(inLayer: 0) == 4096 && gemma2.slidingWindow(inLayer: 1) == nil)
        var encoder = olmo
        encoder.causal = false
        #expect(throws: InputError.self) { try TransformerBuilder(name: "bad", configuration: encoder).build() }
        var zero = olmo
        zero.slidingWindow = 0
        #expect(throws: InputError.self) { try TransformerBuilder(name: "bad", configuration: zero).build() }
        // Every layer global would window none: refused, as a row's global_every of 1 is.
        var everyLayer = olmo
        everyLayer.globalAttentionInterval = 1
        #expect(throws: InputError.self) { try TransformerBuilder(name: "bad", configuration: everyLayer).build() }
    }

    static let runs = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Docs/calibration/olmo3-hsdp.json")

    func olmoRow(_ window: JSONValue?) throws -> JSONValue {
        guard case .object(let top) = try JSONParser.parse(try String(contentsOf: Self.runs, encoding: .utf8)),
              case .array(let rows)? = top["rows"], case .object(var row) = rows[0] else {
            Issue.record("unexpected document"); return .null
        }
        row["sliding_window"] = window
        return .object(JSONObject([("rows", .array([.object(row)]))]))
    }

    @Test("a row's sliding_window is read and windows three of every four layers of the replayed graph")
    func calibrationRowMember() throws {
        let document = try olmoRow(try JSONParser.parse(#"{"size": 4096, "global_every": 4}"#))
        let run = try #require(try PublishedRun.rows(in: document).runs.first)
        #expect(run.slidingWindow?.size == 4096 && run.slidingWindow?.globalEvery == 4)
        let graph = try CalibrationRun.replay(run).graph
        let windowed = graph.operations.filter { if case .attention(true, 4096?, _) = $0.op { true } else { false } }
        #expect(windowed.count == 24)
        let plain = try #require(try PublishedRun.rows(in: try olmoRow(nil)).runs.first)
        #expect(plain.slidingWindow == nil)
    }

    @Test("a bad sliding_window is refused at its member's path", arguments: [
        (#"{"size": 0}"#, "rows[0].sliding_window.size"), (#"{"size": -4096, "global_every": 4}"#, "rows[0].sliding_window.size"),
        (#"{"size": "4096"}"#, "rows[0].sliding_window.size"), (#"{"global_every": 4}"#, "rows[0].sliding_window"),
        (#"{"size": 4096, "global_every": 1}"#, "rows[0].sliding_window.global_every"),
        (#"{"size": 4096, "global_every": 0}"#, "rows[0].sliding_window.global_every"),
        (#"{"size": 4096, "every": 4}"#, "rows[0].sliding_window.every"), (#"4096"#, "rows[0].sliding_window"),
    ])
    func refusedRowMember(member: String, path: String) throws {
        let document = try olmoRow(try JSONParser.parse(member))
        let error = #expect(throws: InputError.self) { try PublishedRun.rows(in: document) }
        #expect(error?.path.description == path, "\(error?.description ?? "")")
    }
}
