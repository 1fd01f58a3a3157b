import Foundation
import Testing
@testable import ShardPlan

/// MaxText's two policies that rerun products with a weight: `mlp` (`save_dot_with_context_except_mlp`: attention's
/// projections and output kept, the MLP rerun) and `all-but-qkv` (`save_qkv_proj`: only q, k and v kept).
@Suite("MaxText's recomputation policies")
struct MaxTextRecomputationTests {
    let fixture: RecomputationFixture
    var graph: Graph { fixture.graph }
    var cluster: Cluster { fixture.cluster }

    init() throws { fixture = try RecomputationFixture() }

    func model(_ mode: RecomputeMode) -> StageCostModel { fixture.model(mode) }

    @Test("mlp reruns the MLP's three products besides the elementwise ops; all-but-qkv reruns attention and its output projection too")
    func whatReruns() throws {
        let elementwise = model(.elementwise).operatorRecomputation
        let mlp = model(.mlp).operatorRecomputation, allButQKV = model(.allButQKV).operatorRecomputation
        #expect(fixture.names(mlp.subtracting(elementwise)) == ["h0.mlp.gate", "h0.mlp.up", "h0.mlp.down"])
        #expect(fixture.names(allButQKV.subtracting(mlp)) == ["h0.attn", "h0.attn.out"])
        #expect(elementwise.isStrictSubset(of: mlp) && mlp.isStrictSubset(of: allButQKV))
        for kept in ["h0.attn.q", "h0.attn.k", "h0.attn.v"] { #expect(!fixture.names(allButQKV).contains(kept)) }
        // Embeddings and the output layer are not checkpointed.
        #expect(fixture.names(allButQKV, layer: "head").isEmpty)
        #expect(RecomputeMode.mlp.isOperatorLevel && RecomputeMode.allButQKV.isOperatorLevel)
        #expect(RecomputeMode.allCases == [.none, .normAct, .selective, .elementwise, .selectiveOperators, .mlp, .allButQKV, .full])
    }

    @Test("a mixture of experts reruns its router and experts under mlp, and keeps attention's projections")
    func expertsRerunUnderMLP() throws {
        let moe = try #require(ModelCatalog.model(id: "moe-tiny")).build()
        let rerun = fixture.names(fixture.model(.mlp, moe).operatorRecomputation, in: moe)
        for name in ["h0.mlp.router", "h0.mlp.experts.gate", "h0.mlp.experts.up", "h0.mlp.experts.down"] {
            #expect(rerun.contains(name), "\(name)")
        }
        for kept in ["h0.attn.q", "h0.attn.k", "h0.attn.v", "h0.attn", "h0.attn.out"] { #expect(!rerun.contains(kept), "\(kept)") }
    }

    @Test("a block keeps, in bytes: its input, q, k, v, attention's output and log-sum-exp and out (mlp); its input, q, k and v (all-but-qkv)")
    func whatABlockKeeps() throws {
        // One block of llama-tiny's shape, one 32-token sequence in bf16 (head size 16): its input 32·64·2 = 4,096,
        // q 4,096, k and v (two heads) 2,048 each, attention's output 4,096 and log-sum-exp 32·4·4 = 512, out 4,096:
        // 20,992 bytes under mlp (elementwise keeps gate, up and down besides: 11,264 + 11,264 + 4,096 more).
        let block = { (mode: RecomputeMode) in try fixture.blockBytes(mode) }
        #expect(try block(.mlp) == 20_992)
        #expect(try block(.elementwise) - block(.mlp) == 26_624)
        // all-but-qkv: 4,096 + 4,096 + 2,048 + 2,048.
        #expect(try block(.allButQKV) == 12_288)
        // Full recomputation keeps the block's input alone.
        #expect(try block(.full) == 4_096)
    }

    @Test("the recomputation time is the forward time of the ops that rerun, in the evaluator and in the search's terms",
          arguments: [RecomputeMode.elementwise, .mlp, .allButQKV])
    func recomputeSeconds(mode: RecomputeMode) throws {
        let model = model(mode)
        let mesh = try DeviceMesh(devices: [0], shape: [1], in: cluster)
        let operations = 0 ..< graph.operations.count
        let stage = StageLayout(operations: operations, mesh: mesh, strategies: operations.map { _ in OpStrategy(indexOfAxis: [nil]) })
        let operatorModel = model.operatorModel(meshShape: [1])
        let rerun = model.operatorRecomputation.reduce(0.0) { $0 + operatorModel.cost($1, stage.strategy(of: $1)).forwardSeconds }
        #expect(rerun > 0)
        #expect(abs(model.cost(of: stage).recomputeSeconds - rerun) <= 1e-12 * rerun)
        let terms = StageCostTerms(model: model, operations: operations, mesh: mesh, inFlight: 1)
        let plain = StageCostTerms(model: self.model(.none), operations: operations, mesh: mesh, inFlight: 1)
        let added = operations.reduce(0.0) { $0 + terms.nodeTerms($1, stage.strategy(of: $1)).seconds - plain.nodeTerms($1, stage.strategy(of: $1)).seconds }
        #expect(abs(added - rerun) <= 1e-9 * rerun, "search \(added) s, rerun ops \(rerun) s")
    }

    @Test("between selective-op and full: each keeps less and reruns more than the mode before it")
    func ordering() throws {
        let modes: [RecomputeMode] = [.elementwise, .mlp, .allButQKV, .full]
        let costs = try modes.map { try fixture.cost($0, layers: 2) }
        for (lighter, heavier) in zip(costs, costs.dropFirst()) {
            #expect(heavier.activationBytesPerMicrobatch < lighter.activationBytesPerMicrobatch)
            #expect(heavier.recomputeSeconds > lighter.recomputeSeconds)
        }
    }

    @Test("a plan document keeps either mode, for the plan and for a stage of its own")
    func planDocumentRoundTrip() throws {
        let graph = try #require(ModelCatalog.model(id: "gpt-tiny")).build()
        let cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        let evaluator = PlanEvaluator(cluster: cluster)
        var plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1",
                                             configuration: MegatronConfiguration(tensorParallel: 2, pipelineParallel: 2,
                                                                                  options: TrainingOptions(recompute: .mlp)))
        plan.stages[1].recompute = .allButQKV
        let prediction = evaluator.evaluate(plan)
        let text = plan.jsonText(prediction: prediction)
        #expect(text.contains("\"mlp\"") && text.contains("\"all-but-qkv\""))
        let decoded = try TrainingPlan(json: try JSONParser.parse(text), graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1")
        #expect(decoded.stages.map { $0.recompute ?? decoded.options.recompute } == [.mlp, .allButQKV])
        #expect(evaluator.evaluate(decoded).iterationSeconds == prediction.iterationSeconds)
    }

    @Test("Megatron-LM and NeMo checkpoint submodules, naming what they keep; torchtitan recomputes in full",
          arguments: [RecomputeMode.mlp, .allButQKV], [MatmulPrecision.bf16, .fp8])
    func exports(mode: RecomputeMode, precision: MatmulPrecision) throws {
        let graph = try #require(ModelCatalog.model(id: "gpt-tiny")).build()
        let cluster = try Cluster.preset(named: "dgx-h100:1")
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-h100:1",
                                             configuration: MegatronConfiguration(tensorParallel: 2, pipelineParallel: 1, sequenceParallel: true,
                                                                                  options: TrainingOptions(recompute: mode, precision: precision)))
        let recognition = try LayoutRecognition(plan)
        let prediction = PlanEvaluator(cluster: cluster).evaluate(plan)
        // Megatron-Core refuses the norms' recomputation beside FP8's delayed scaling.
        let modules = (mode == .mlp ? "mlp" : "core_attn mlp") + (precision == .fp8 ? "" : " layernorm")
        for framework in TrainingFramework.allCases {
            let export = try FrameworkExport(recognition: recognition, of: plan, prediction: prediction, framework: framework)
            switch framework {
            case .megatron:
                #expect(export.layout.recompute == mode)
                #expect(export.text.contains("--recompute-granularity selective") && export.text.contains("--recompute-modules \(modules)"))
                #expect(export.differences.contains { $0.contains("--recompute-modules") && $0.contains("residual adds")
                    && $0.contains("the norms") == (precision == .fp8) }, "\(export.differences)")
                #expect(try MegatronArgumentReader(export.text).layout().recompute == mode)
            case .nemo:
                #expect(export.layout.recompute == mode)
                // One shell word: the whole override double-quoted, the list without spaces.
                let list = modules.split(separator: " ").map { "'\($0)'" }.joined(separator: ",")
                #expect(export.text.contains("\"model.config.recompute_modules=[\(list)]\""), "\(export.text)")
                #expect(try NeMoOverrideReader(export.text).layout().recompute == mode)
            case .megatronBridge:
                #expect(export.layout.recompute == mode)
                let list = modules.split(separator: " ").map { "'\($0)'" }.joined(separator: ", ")
                #expect(export.text.contains("    cfg.model.recompute_modules = [\(list)]\n"), "\(export.text)")
                #expect(try MegatronBridgeConfigReader(export.text).layout().recompute == mode)
            case .torchtitan:
                #expect(export.layout.recompute == .full)
                #expect(export.text.contains("mode = \"full\""))
                #expect(export.differences.contains { $0.contains("full recomputation is nearest") }, "\(export.differences)")
            }
        }
    }

    @Test("a mixture of experts' blocks checkpoint Megatron-Core's moe submodule, dense blocks its mlp")
    func expertSubmodules() throws {
        let moe = try #require(ModelCatalog.model(id: "moe-tiny")).build()
        #expect(ParallelLayout.feedForwardModules(of: moe) == ["moe"])
        #expect(ParallelLayout.feedForwardModules(of: graph) == ["mlp"])
        let cluster = try Cluster.preset(named: "dgx-h100:1")
        let plan = try TrainingPlan.megatron(graph: moe, cluster: cluster, clusterName: "dgx-h100:1",
                                             configuration: MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1,
                                                                                  options: TrainingOptions(recompute: .allButQKV)))
        let export = try FrameworkExport(recognition: try LayoutRecognition(plan), of: plan,
                                         prediction: PlanEvaluator(cluster: cluster).evaluate(plan), framework: .megatron)
        #expect(export.text.contains("--recompute-modules core_attn moe layernorm"), "\(export.text)")
        #expect(try MegatronArgumentReader(export.text).layout().recompute == .allButQKV)
    }

    @Test("a published row whose recompute text starts with mlp or all but qkv replays the mode")
    func calibrationRow() throws {
        var run = try #require(FrameworkRoundTripTests.runs.first { $0.recompute.hasPrefix("selective op") })
        run.recompute = "mlp (MaxText save_dot_with_context_except_mlp)"
        #expect(try CalibrationRun.replay(run).configuration.options.recompute == .mlp)
        run.recompute = "all but qkv (MaxText save_qkv_proj)"
        #expect(try CalibrationRun.replay(run).configuration.options.recompute == .allButQKV)
        // The command line's names, in any case, read as the modes they name.
        for (text, mode) in [("all-but-qkv", RecomputeMode.allButQKV), ("selective-op", .selectiveOperators), ("MLP", .mlp), ("Full", .full)] {
            run.recompute = text
            #expect(run.recomputeMode == mode, "\(text)")
        }
    }
}
