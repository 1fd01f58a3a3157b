import Testing
@testable import ShardPlan

/// `norm-act`: Megatron-Core's `--recompute-modules layernorm moe_act`, whose output-discarding checkpoints free the
/// results of the norm before the experts and of the experts' activation and rerun them in the backward pass.
@Suite("norm-act recomputation")
struct NormActivationRecomputationTests {
    let fixture: RecomputationFixture
    let moe: Graph

    init() throws {
        fixture = try RecomputationFixture()
        moe = try #require(ModelCatalog.model(id: "moe-tiny")).build()
    }

    /// The one stage of `graph` on one device, every op unsplit.
    func stage(_ graph: Graph) throws -> StageLayout {
        let operations = 0 ..< graph.operations.count
        let mesh = try DeviceMesh(devices: [0], shape: [1], in: fixture.cluster)
        return StageLayout(operations: operations, mesh: mesh, strategies: operations.map { _ in OpStrategy(indexOfAxis: [nil]) })
    }

    @Test("it reruns the norm before the experts and their SiLU and gating product, in every block; a dense model reruns nothing")
    func whatReruns() throws {
        let reruns = fixture.model(.normAct, moe).operatorRecomputation
        #expect(fixture.names(reruns, in: moe) == ["h0.mlp.norm", "h0.mlp.experts.silu", "h0.mlp.experts.gated"])
        #expect(fixture.names(reruns, in: moe, layer: "layer1") == ["h1.mlp.norm", "h1.mlp.experts.silu", "h1.mlp.experts.gated"])
        #expect(reruns.count == 6)
        #expect(StageCostModel.rerunsUnderNormActivation(moe))
        // llama-tiny: its norms feed products with a weight (TransformerEngine fuses them into those), no experts.
        #expect(fixture.model(.normAct).operatorRecomputation.isEmpty)
        #expect(!StageCostModel.rerunsUnderNormActivation(fixture.graph))
        #expect(!RecomputeMode.normAct.isOperatorLevel && RecomputeMode.automaticChoices.contains(.normAct))
    }

    @Test("each block keeps 66,560 bytes less a microbatch, and the search's terms agree with the exact model")
    func bytesByHand() throws {
        // moe-tiny, the whole batch of 8 sequences of 32 tokens as one microbatch, bf16: the norm's output
        // 8·32·64·2 = 32,768 bytes and its fp32 statistics 8·32·4 = 1,024; the experts' gating product, 8 experts x
        // 8 sequences x 8 slots (32 tokens x top-2 / 8 experts) x 32 wide x 2 = 32,768 bytes. Their SiLU, fused
        // into that product, is never kept (the fused backward recomputes it), nor is the rotary table, a constant.
        let stage = try stage(moe)
        let none = fixture.model(.none, moe).cost(of: stage), normAct = fixture.model(.normAct, moe).cost(of: stage)
        #expect(none.activationBytesPerMicrobatch - normAct.activationBytesPerMicrobatch == 2 * 66_560)
        // What one block drops is alive again while it runs backward.
        #expect(normAct.recomputationWorkingBytes == 66_560)
        #expect(normAct.recomputeSeconds > 0)
        // The search's terms drop and hold again the same bytes: its memory under none less under norm-act is the
        // exact model's kept bytes less the block it holds while rerunning (each of the two blocks half of it).
        let searchMemory = { (mode: RecomputeMode) in
            let terms = StageCostTerms(model: fixture.model(mode, moe), operations: stage.operations, mesh: stage.mesh, inFlight: 1)
            return stage.operations.reduce(0.0) { $0 + terms.nodeTerms($1, stage.strategy(of: $1)).memory }
        }
        #expect(searchMemory(.none) - searchMemory(.normAct) == 2 * 66_560 - 66_560)
    }

    @Test("beside an fp32 residual stream the norm before the experts reruns with its cast to bf16, and each block keeps the same 66,560 bytes less")
    func fp32ResidualMixtureOfExperts() throws {
        var configuration = try #require(ModelCatalog.model(id: "moe-tiny")?.transformer)
        configuration.residualDType = .f32
        let widened = try TransformerBuilder(name: "moe-tiny-fp32-residual", configuration: configuration).build()
        let reruns = fixture.model(.normAct, widened).operatorRecomputation
        #expect(fixture.names(reruns, in: widened) == ["h0.mlp.norm", "h0.mlp.to_compute", "h0.mlp.experts.silu", "h0.mlp.experts.gated"])
        // The router and the dispatch keep the cast's 32,768 bf16 bytes, not the norm's fp32 result, which nothing keeps.
        let stage = try self.stage(widened)
        #expect(fixture.model(.none, widened).cost(of: stage).activationBytesPerMicrobatch
            - fixture.model(.normAct, widened).cost(of: stage).activationBytesPerMicrobatch == 2 * 66_560)
    }

    @Test("it reruns a latent attention's input norm, which Megatron-Core cannot fuse into one linear layer, not its latents' norms nor a query-key norm")
    func latentAttentionInputNorm() throws {
        var configuration = RecomputationFixture.configuration(layers: 2)
        (configuration.keyValueHeads, configuration.headDimension) = (4, 16)
        configuration.latentAttention = .init(queryRank: 32, keyValueRank: 16, positionlessDimension: 16, rotaryDimension: 8)
        let latent = try TransformerBuilder(name: "mla-tiny", configuration: configuration).build()
        let reruns = fixture.model(.normAct, latent).operatorRecomputation
        #expect(fixture.names(reruns, in: latent) == ["h0.attn.norm"])
        #expect(fixture.names(reruns, in: latent, layer: "layer1") == ["h1.attn.norm"])
        #expect(StageCostModel.rerunsUnderNormActivation(latent))
        // 8 sequences of 32 tokens, hidden 64, bf16: the norm's output 8·32·64·2 = 32,768 bytes and its fp32
        // statistics 8·32·4 = 1,024, a block.
        let stage = try stage(latent)
        let none = fixture.model(.none, latent).cost(of: stage), normAct = fixture.model(.normAct, latent).cost(of: stage)
        #expect(none.activationBytesPerMicrobatch - normAct.activationBytesPerMicrobatch == 2 * 33_792)
        // Beside an fp32 residual stream the norm's cast to bf16 is part of it (TransformerEngine's norm writes bf16
        // itself): the projections keep the cast's 32,768 bytes, which go with the norm's statistics.
        configuration.residualDType = .f32
        let widened = try TransformerBuilder(name: "mla-tiny-fp32-residual", configuration: configuration).build()
        let widenedReruns = fixture.model(.normAct, widened).operatorRecomputation
        #expect(fixture.names(widenedReruns, in: widened) == ["h0.attn.norm", "h0.attn.to_compute"])
        let widenedStage = try self.stage(widened)
        #expect(fixture.model(.none, widened).cost(of: widenedStage).activationBytesPerMicrobatch
            - fixture.model(.normAct, widened).cost(of: widenedStage).activationBytesPerMicrobatch == 2 * 33_792)
        // Qwen3's query-key norm normalizes the heads attention reads: the input norm before it stays fused.
        var queryKeyNorm = RecomputationFixture.configuration(layers: 2)
        queryKeyNorm.queryKeyNorm = true
        let normed = try TransformerBuilder(name: "qk-norm-tiny", configuration: queryKeyNorm).build()
        #expect(fixture.model(.normAct, normed).operatorRecomputation.isEmpty)
        #expect(!StageCostModel.rerunsUnderNormActivation(normed))
    }

    @Test("the recomputation time is the forward time of the norm and the activation, in the evaluator and in the search's terms")
    func recomputeSeconds() throws {
        let stage = try stage(moe)
        let model = fixture.model(.normAct, moe)
        let operatorModel = model.operatorModel(meshShape: [1])
        let rerun = model.operatorRecomputation.reduce(0.0) { $0 + operatorModel.cost($1, stage.strategy(of: $1)).forwardSeconds }
        #expect(rerun > 0)
        #expect(abs(model.cost(of: stage).recomputeSeconds - rerun) <= 1e-12 * rerun)
        let terms = StageCostTerms(model: model, operations: stage.operations, mesh: stage.mesh, inFlight: 1)
        let plain = StageCostTerms(model: fixture.model(.none, moe), operations: stage.operations, mesh: stage.mesh, inFlight: 1)
        let added = stage.operations.reduce(0.0) {
            $0 + terms.nodeTerms($1, stage.strategy(of: $1)).seconds - plain.nodeTerms($1, stage.strategy(of: $1)).seconds
        }
        #expect(abs(added - rerun) <= 1e-9 * rerun, "search \(added) s, rerun ops \(rerun) s")
    }

    @Test("the search leaves norm-act out of a dense model, where it would tie none, and keeps it for a mixture of experts")
    func searchedVariants() {
        #expect(!StageSearchOracle.Variants.automatic.searched(in: fixture.graph).recomputeModes.contains(.normAct))
        #expect(StageSearchOracle.Variants.automatic.searched(in: moe).recomputeModes.contains(.normAct))
        // Without none to tie, it stays.
        let alone = StageSearchOracle.Variants(zeroStages: [1], recomputeModes: [.normAct, .full])
        #expect(alone.searched(in: fixture.graph) == alone)
    }

    @Test("a saved broadcast keeps its input: the combine keeps the experts' outputs and the top-2 gates, not their 64 copies")
    func broadcastIsAView() throws {
        let combine = try #require(moe.operations.firstIndex { $0.name == "h0.mlp.combine.weighted" })
        let gates = try #require(moe.operations.first { $0.name == "h0.mlp.router.top_k" })
        let analysis = GraphAnalysis(moe)
        // The experts' outputs 8·32·2·64·2 = 65,536 bytes, and the gates as the router's top 2 of 8·32 tokens.
        #expect(moe[gates.result].type.elementCount == 512)
        #expect(analysis.savedForBackwardBytes(operations: combine ..< combine + 1) == 65_536 + moe[gates.result].type.byteCount)
        let broadcast = try #require(moe.operations.first { $0.name == "h0.mlp.combine.gates" })
        #expect(OperationCost.storedShare(of: broadcast.result, readBy: moe.operations[combine], in: moe) == 1.0 / 64)
        // GShard's combine tensor, a broadcast of the router's probabilities over the capacity that an einsum reads,
        // stands for a real tensor of that shape: kept whole.
        let gshard = try #require(ModelCatalog.model(id: "moe-gshard")).build()
        let combined = try #require(gshard.operations.first { $0.name == "h1.mlp.combined" })
        #expect(OperationCost.storedShare(of: combined.inputs[0], readBy: combined, in: gshard) == 1)
    }

    @Test("Megatron-LM, NeMo and Megatron-Bridge rerun layernorm and moe_act; FP8's delayed scaling and torchtitan cannot",
          arguments: [MatmulPrecision.bf16, .fp8])
    func exports(precision: MatmulPrecision) throws {
        let cluster = try Cluster.preset(named: "dgx-h100:1")
        let plan = try TrainingPlan.megatron(graph: moe, cluster: cluster, clusterName: "dgx-h100:1",
                                             configuration: MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1,
                                                                                  options: TrainingOptions(recompute: .normAct, precision: precision)))
        let recognition = try LayoutRecognition(plan)
        let prediction = PlanEvaluator(cluster: cluster).evaluate(plan)
        let delayed = precision == .fp8
        for framework in TrainingFramework.allCases {
            let export = try FrameworkExport(recognition: recognition, of: plan, prediction: prediction, framework: framework)
            switch framework {
            case .megatron:
                #expect(export.layout.recompute == (delayed ? .none : .normAct))
                // Megatron-Core runs moe_act only beside the grouped GEMM, which the experts are priced as.
                #expect(export.text.contains("    --moe-grouped-gemm"))
                #expect(export.text.contains("    --recompute-granularity selective") == !delayed, "\(export.text)")
                #expect(export.text.contains("    --recompute-modules layernorm moe_act") == !delayed, "\(export.text)")
                #expect(export.differences.contains { $0.contains("delayed scaling") && $0.contains("nothing is recomputed") } == delayed,
                        "\(export.differences)")
                #expect(try MegatronArgumentReader(export.text).layout().recompute == export.layout.recompute)
            case .nemo:
                #expect(export.text.contains("\"model.config.recompute_modules=['layernorm','moe_act']\"") == !delayed, "\(export.text)")
                #expect(export.text.contains("model.config.moe_grouped_gemm=True"))
                #expect(try NeMoOverrideReader(export.text).layout().recompute == export.layout.recompute)
            case .megatronBridge:
                #expect(export.text.contains("    cfg.model.recompute_modules = ['layernorm', 'moe_act']\n") == !delayed, "\(export.text)")
                #expect(export.text.contains("    cfg.model.moe_grouped_gemm = True\n"))
                #expect(try MegatronBridgeConfigReader(export.text).layout().recompute == export.layout.recompute)
            case .torchtitan:
                #expect(export.layout.recompute == .selectiveOperators)
                #expect(export.text.contains("selective_ac_option = \"op\""))
                #expect(export.differences.contains { $0.contains("cannot rerun only the norms Megatron-Core runs as modules of their own") }, "\(export.differences)")
            }
        }
    }

    @Test("a dense model's norm-act reruns nothing: torchtitan runs it as no recomputation, Megatron-LM as layernorm alone, without grouped GEMMs")
    func denseExports() throws {
        let cluster = try Cluster.preset(named: "dgx-h100:1")
        let plan = try TrainingPlan.megatron(graph: fixture.graph, cluster: cluster, clusterName: "dgx-h100:1",
                                             configuration: MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1,
                                                                                  options: TrainingOptions(recompute: .normAct)))
        let recognition = try LayoutRecognition(plan)
        let prediction = PlanEvaluator(cluster: cluster).evaluate(plan)
        let torchtitan = try FrameworkExport(recognition: recognition, of: plan, prediction: prediction, framework: .torchtitan)
        #expect(torchtitan.layout.recompute == RecomputeMode.none && torchtitan.text.contains("mode = \"none\""))
        #expect(!torchtitan.differences.contains { $0.contains("norm") }, "\(torchtitan.differences)")
        let megatron = try FrameworkExport(recognition: recognition, of: plan, prediction: prediction, framework: .megatron)
        #expect(megatron.text.contains("    --recompute-modules layernorm \\\n") && !megatron.text.contains("moe"), "\(megatron.text)")
    }

    @Test("a plan document and a calibration row name the mode")
    func namesRoundTrip() throws {
        let cluster = try Cluster.preset(named: "dgx-h100:1")
        let plan = try TrainingPlan.megatron(graph: moe, cluster: cluster, clusterName: "dgx-h100:1",
                                             configuration: MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1,
                                                                                  options: TrainingOptions(recompute: .normAct)))
        let evaluator = PlanEvaluator(cluster: cluster)
        let text = plan.jsonText(prediction: evaluator.evaluate(plan))
        #expect(text.contains("\"norm-act\""))
        let decoded = try TrainingPlan(json: try JSONParser.parse(text), graph: moe, cluster: cluster, clusterName: "dgx-h100:1")
        #expect(decoded.options.recompute == .normAct)
        #expect(PublishedRun.recomputeMode(of: "norm-act (--recompute-modules layernorm moe_act)") == .normAct)
        #expect(PublishedRun.recomputeMode(of: "Norm act") == .normAct)
    }
}
