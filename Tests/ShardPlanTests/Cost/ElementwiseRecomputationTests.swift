import Foundation
import Testing
@testable import ShardPlan

/// Recomputing only the elementwise ops (`--recompute elementwise`, MaxText's `remat_policy: minimal_with_context`):
/// every product with a weight and attention are kept, the rest of each block reruns.
@Suite("Elementwise recomputation")
struct ElementwiseRecomputationTests {
    let fixture: RecomputationFixture
    var graph: Graph { fixture.graph }
    var cluster: Cluster { fixture.cluster }

    init() throws { fixture = try RecomputationFixture() }

    func model(_ mode: RecomputeMode, _ graph: Graph? = nil) -> StageCostModel { fixture.model(mode, graph) }

    func names(_ ops: Set<Int>, in graph: Graph, layer: String) -> Set<String> { fixture.names(ops, in: graph, layer: layer) }

    /// The stage cost of llama-tiny itself, or of its shape with `layers` blocks.
    func cost(_ mode: RecomputeMode, layers: Int? = nil) throws -> StageCost {
        try fixture.cost(mode, layers: layers ?? 2)
    }

    @Test("a block reruns its norms, the rotary embedding, the activation, the gating product and the residual adds; no product with a weight, nor attention")
    func whatReruns() throws {
        let elementwise = model(.elementwise)
        #expect(names(elementwise.operatorRecomputation, in: graph, layer: "layer0") == [
            "h0.attn.norm", "h0.attn.q.rotated", "h0.attn.k.rotated", "h0.attn.residual",
            "h0.mlp.norm", "h0.mlp.silu", "h0.mlp.gated", "h0.mlp.residual"])
        // The rotary table is a constant, not rerun; embeddings and the output layer are not checkpointed.
        #expect(names(elementwise.operatorRecomputation, in: graph, layer: "head").isEmpty)
        // What selective-op reruns besides: every second product with a weight (k, out, up).
        let operatorLevel = model(.selectiveOperators).operatorRecomputation
        #expect(elementwise.operatorRecomputation.isStrictSubset(of: operatorLevel))
        #expect(names(operatorLevel.subtracting(elementwise.operatorRecomputation), in: graph, layer: "layer0")
                == ["h0.attn.k", "h0.attn.out", "h0.mlp.up"])
        // Another mode reruns no op one by one.
        #expect(model(.none).operatorRecomputation.isEmpty && model(.full).operatorRecomputation.isEmpty)
    }

    @Test("a mixture of experts keeps its router's product and every expert's, and reruns the router's softmax and the combine")
    func expertsAndRouter() throws {
        let moe = try #require(ModelCatalog.model(id: "moe-tiny")).build()
        let rerun = names(model(.elementwise, moe).operatorRecomputation, in: moe, layer: "layer0")
        for kept in ["h0.mlp.router", "h0.mlp.experts.gate", "h0.mlp.experts.up", "h0.mlp.experts.down", "h0.attn"] {
            #expect(!rerun.contains(kept), "\(kept)")
        }
        for name in ["h0.mlp.router.probs", "h0.mlp.experts.silu", "h0.mlp.experts.gated", "h0.mlp.combine.weighted"] {
            #expect(rerun.contains(name), "\(name)")
        }
    }

    @Test("a block keeps its input and what every product with a weight and attention produce")
    func whatABlockKeeps() throws {
        // One block of llama-tiny's shape, a microbatch of one 32-token sequence in bf16 (head size 16): its input
        // (32·64·2 = 4,096), q (32·4·16·2 = 4,096), k and v (two heads: 2,048 each), attention's output (4,096)
        // and log-sum-exp (32·4 in f32: 512), out (4,096), gate and up (32·176·2 = 11,264 each) and down (4,096)
        // = 47,616 bytes; selective-op keeps 17,408 fewer (k, out and up rerun).
        let block = try cost(.elementwise, layers: 3).activationBytesPerMicrobatch - cost(.elementwise, layers: 2).activationBytesPerMicrobatch
        #expect(block == 47_616, "\(block)")
        let operatorBlock = try cost(.selectiveOperators, layers: 3).activationBytesPerMicrobatch
            - cost(.selectiveOperators, layers: 2).activationBytesPerMicrobatch
        #expect(block - operatorBlock == 2_048 + 4_096 + 11_264)
    }

    @Test("keeps less than no recomputation and more than selective-op, and reruns less than selective-op")
    func betweenNoneAndOperatorLevel() throws {
        let none = try cost(.none), elementwise = try cost(.elementwise), operatorLevel = try cost(.selectiveOperators)
        #expect(elementwise.activationBytesPerMicrobatch < none.activationBytesPerMicrobatch)
        #expect(elementwise.activationBytesPerMicrobatch > operatorLevel.activationBytesPerMicrobatch)
        #expect(elementwise.recomputeSeconds > 0 && elementwise.recomputeSeconds < operatorLevel.recomputeSeconds)
        #expect(RecomputeMode.elementwise.isOperatorLevel && RecomputeMode.selectiveOperators.isOperatorLevel)
        #expect(!RecomputeMode.selective.isOperatorLevel && !RecomputeMode.full.isOperatorLevel)
    }

    @Test("a plan document keeps the mode, for the plan and for a stage of its own")
    func planDocumentRoundTrip() throws {
        let graph = try #require(ModelCatalog.model(id: "gpt-tiny")).build()
        let cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        let evaluator = PlanEvaluator(cluster: cluster)
        var plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1",
                                             configuration: MegatronConfiguration(tensorParallel: 2, pipelineParallel: 2,
                                                                                  options: TrainingOptions(recompute: .elementwise)))
        plan.stages[1].recompute = .selectiveOperators
        let prediction = evaluator.evaluate(plan)
        let text = plan.jsonText(prediction: prediction)
        #expect(text.contains("\"elementwise\""))
        let decoded = try TrainingPlan(json: try JSONParser.parse(text), graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1")
        #expect(decoded.options.recompute == .elementwise)
        #expect(decoded.stages.map { $0.recompute ?? decoded.options.recompute } == [.elementwise, .selectiveOperators])
        #expect(evaluator.evaluate(decoded).iterationSeconds == prediction.iterationSeconds)
        #expect(evaluator.evaluate(decoded).peakMemoryBytesPerDevice == prediction.peakMemoryBytesPerDevice)
    }

    @Test("Megatron-LM, NeMo and Megatron-Bridge run selective granularity instead, torchtitan its op-level policy, each with a change note")
    func exports() throws {
        let graph = try #require(ModelCatalog.model(id: "gpt-tiny")).build()
        let cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1",
                                             configuration: MegatronConfiguration(tensorParallel: 2, pipelineParallel: 1, sequenceParallel: true,
                                                                                  options: TrainingOptions(recompute: .elementwise, overlapGradientReduction: true)))
        let recognition = try LayoutRecognition(plan)
        #expect(recognition.layout.recompute == .elementwise)
        let prediction = PlanEvaluator(cluster: cluster).evaluate(plan)
        for framework in TrainingFramework.allCases {
            let export = try FrameworkExport(recognition: recognition, of: plan, prediction: prediction, framework: framework)
            switch framework {
            case .megatron, .nemo, .megatronBridge:
                #expect(export.layout.recompute == .selective)
                #expect(export.differences.contains { $0.contains("keeps every product with a weight") && $0.contains("selective granularity") },
                        "\(export.differences)")
            case .torchtitan:
                #expect(export.layout.recompute == .selectiveOperators)
                #expect(export.text.contains("selective_ac_option = \"op\""))
                #expect(export.differences.contains { $0.contains("selective_ac_option") && $0.contains("every second product") },
                        "\(export.differences)")
            }
        }
    }

    @Test("a published row whose recompute text starts with elementwise replays the mode")
    func calibrationRow() throws {
        var run = try #require(FrameworkRoundTripTests.runs.first { $0.recompute.hasPrefix("selective op") })
        run.recompute = "elementwise (MaxText minimal_with_context)"
        #expect(try CalibrationRun.replay(run).configuration.options.recompute == .elementwise)
    }
}
