import Foundation
import Testing
@testable import ShardPlan

@Suite("Pipeline planner: the stage DP over the intra-operator search")
struct PipelinePlannerTests {
    @Test("a model that fits on one device with a large batch gets no pipeline: GPT-3 125M, 256 sequences, one DGX")
    func smallModelNoPipeline() throws {
        let graph = try ModelCatalog.model(id: "gpt3-125m")!.build()
        let cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        for includesMegatronGrid in [false, true] {
            let found = try PipelinePlanner(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1",
                                            includesMegatronGrid: includesMegatronGrid).plan(microbatches: 4)
            #expect(found.plan.stages.count == 1, "\(found.plan.summary ?? "")")
            #expect(PlanValidator.violation(in: found.plan) == nil)
        }
    }

    /// GPT-3 125M with 256 sequences on a DGX A100 of 4 GiB devices (at most 2 stages under 1F1B, ZeRO-1, no
    /// recomputation) fits only from a count of many microbatches, and the stage layouts solved there are reused at
    /// higher counts. Every count whose plan comes within `layoutResolveMargin` of the fastest is searched again with
    /// layouts solved at that count: the answer is no slower than the search of any of them alone (`--microbatches`).
    @Test("counts whose plans come near the fastest are searched again as each count alone would be")
    func nearCountsSearchedAgain() throws {
        let graph = try ModelCatalog.model(id: "gpt3-125m")!.build().rebatched(to: 256)
        var cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        cluster.device.memoryBytes = 4 * 1_073_741_824
        let planner = PipelinePlanner(graph: graph, cluster: cluster, clusterName: "small", options: TrainingOptions(zeroStage: 1),
                                      maximumStageCount: 2, includesMegatronGrid: false,
                                      variants: StageSearchOracle.Variants(zeroStages: [1], recomputeModes: [.none]), maximumVirtualStages: 1)
        let found = try planner.plan()
        let first = try #require(found.attempts.first { $0.programs > 0 })
        let again = found.attempts.filter(\.layoutsSolvedAgain)
        #expect(!again.isEmpty && again.allSatisfy { $0.microbatches != first.microbatches })
        // The sweep's attempts come first, the second searches after them.
        #expect(found.attempts.dropLast(again.count).allSatisfy { !$0.layoutsSolvedAgain })
        #expect(found.plan.microbatches == first.microbatches || again.contains { $0.microbatches == found.plan.microbatches })
        for attempt in again {
            let alone = try planner.plan(microbatches: attempt.microbatches)
            #expect(alone.attempts.allSatisfy { !$0.layoutsSolvedAgain })
            #expect(found.prediction.iterationSeconds <= alone.prediction.iterationSeconds * (1 + 1e-12),
                    "\(found.prediction.iterationSeconds) s against \(alone.prediction.iterationSeconds) s for \(attempt.microbatches) alone")
        }
        #expect(PlanValidator.violation(in: found.plan) == nil)
        // The DP's other plans near the answer, which the rewrite search starts from too: slower, within the
        // margin, fastest first.
        let times = found.runnersUp.map(\.prediction.iterationSeconds)
        #expect(times == times.sorted())
        for runnerUp in found.runnersUp {
            #expect(runnerUp.prediction.iterationSeconds >= found.prediction.iterationSeconds)
            #expect(runnerUp.prediction.iterationSeconds <= found.prediction.iterationSeconds * (1 + PipelinePlanner.runnerUpMargin))
        }
    }

    /// GPT-3 350M on two p3.16xlarge nodes (8 V100s each, 25 Gb/s between nodes), 16 microbatches. A pipeline of
    /// stages smaller than a node crosses the network at one boundary at least, and its slowest stage sets the pace.
    /// The stage search had priced every boundary of such stages at NVLink's rate, and priced exactly only the
    /// partition its estimate ranked first: it answered a pipeline of four 1 x 4 stages at 3.66 s, where one stage
    /// of 16-way data parallelism (the grid's best too) takes 2.44 s. Pricing every partition exactly alone finds it here.
    @Test("stages smaller than a node pay the network between stages: GPT-3 350M on two p3.16xlarge")
    func stagesSmallerThanANodeOverASlowNetwork() throws {
        let graph = try ModelCatalog.model(id: "gpt3-350m")!.build()
        let cluster = try Cluster.preset(named: "p3.16xlarge:2")
        #expect(cluster.pipelineNeighbour(after: 0, devices: 4) == 8 && cluster.pipelineNeighbour(after: 8, devices: 8) == 0)
        #expect(try Cluster.preset(named: "p3.16xlarge:1").pipelineNeighbour(after: 0, devices: 4) == 4)
        // A rack of 18 trays is one NVLink domain: the next stage stays in it; with two racks it is in the other.
        #expect(try Cluster.preset(named: "gb200-nvl72").pipelineNeighbour(after: 0, devices: 8) == 8)
        #expect(try Cluster.preset(named: "gb200-nvl72:2").pipelineNeighbour(after: 0, devices: 8) == 72)
        let variants = StageSearchOracle.Variants(zeroStages: [1, 2], recomputeModes: [.none])
        let searched = try PipelinePlanner(graph: graph, cluster: cluster, clusterName: "p3.16xlarge:2",
                                           includesMegatronGrid: false, variants: variants).plan(microbatches: 16)
        let grid = try PipelinePlanner(graph: graph, cluster: cluster, clusterName: "p3.16xlarge:2", variants: variants).plan(microbatches: 16)
        #expect(searched.prediction.iterationSeconds <= grid.prediction.iterationSeconds * 1.01,
                "\(searched.plan.summary ?? "") \(searched.prediction.iterationSeconds) s against \(grid.prediction.iterationSeconds) s")
    }

    /// gpt-tiny's 4 layers in stages of one device each (`--mesh 1x1`) cannot cover a DGX's 8: the refusal says so at
    /// `--mesh`, where it had blamed memory ("fits in the 85.9 GB ... try more devices"). A rack of 72 in stages of 64
    /// is not refused: the DP covers the whole 64-GPU units a cluster holds.
    @Test("stages that cannot cover the cluster are refused at --mesh, not blamed on memory")
    func stagesCannotCoverTheCluster() throws {
        let graph = try ModelCatalog.model(id: "gpt-tiny")!.build()
        let cluster = try Cluster.preset(named: "dgx-h100")
        let error = #expect(throws: InputError.self) {
            try PipelinePlanner(graph: graph, cluster: cluster, clusterName: "dgx-h100", meshShape: [1, 1]).plan()
        }
        #expect(error?.path.description == "--mesh" && error?.message.contains("at most 4 stages (4 layers) of at most 1 device") == true
                && error?.message.contains("cannot cover the 8 devices") == true, "\(error?.description ?? "")")
        #expect(throws: Never.self) { try PipelinePlanner(graph: graph, cluster: cluster, clusterName: "dgx-h100", meshShape: [1, 2]).plan() }
        // Stages of 64 GPUs on a 72-GPU rack cover its whole units and leave 8 idle, as the DP counts devices.
        let rack = try Cluster.preset(named: "gb200-nvl72")
        #expect(throws: Never.self) { try PipelinePlanner(graph: graph, cluster: rack, clusterName: "gb200-nvl72", meshShape: [8, 8]).plan() }
    }

    @Test("the same input gives a byte-identical plan document, however the threads interleave")
    func deterministic() throws {
        let graph = try ModelCatalog.model(id: "gpt-tiny")!.build()
        let cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        let planner = PipelinePlanner(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1", includesMegatronGrid: false)
        let documents = try (0..<2).map { _ in
            let found = try planner.plan(microbatches: 2)
            return found.plan.jsonText(prediction: found.prediction)
        }
        #expect(Set(documents).count == 1)
    }

    /// A grid configuration that fits only with every block rerun is tried rerunning the fewest blocks of each chunk
    /// that the two estimates, read linearly, say fit, and one more: 24 blocks a chunk at 100 GB kept and 40 GB all
    /// rerun, on 80 GiB (85.9 GB), need 24 x 14.1 / 60 = 5.6, so 6 and 7.
    @Test("--recompute auto tries rerunning only a chunk's first blocks where every block must not")
    func partialRecomputation() throws {
        let graph = try ModelCatalog.model(id: "gpt3-1.3b")!.build()
        let cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        var planner = PipelinePlanner(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1")
        let full = MegatronConfiguration(tensorParallel: 8, pipelineParallel: 1, options: TrainingOptions(recompute: .full))
        func estimate(_ gigabytes: Double) -> MegatronGrid.Estimate { .init(iterationSeconds: 1, peakMemoryBytes: gigabytes * 1e9) }
        let counts = planner.partialRecomputations(of: full, everyBlock: estimate(40), lightest: estimate(100), blocks: 24)
        #expect(counts.map(\.options.recomputedBlocks) == [6, 7] && counts.allSatisfy { $0.options.recompute == .full })
        // Nothing to try where the layout fits without recomputation, where every block rerun does not fit either,
        // or where the search may not rerun whole blocks.
        #expect(planner.partialRecomputations(of: full, everyBlock: estimate(40), lightest: estimate(80), blocks: 24).isEmpty)
        #expect(planner.partialRecomputations(of: full, everyBlock: estimate(90), lightest: estimate(100), blocks: 24).isEmpty)
        // Nor where even no rerun (at least 3/4 of the time with every block rerun) would not beat the fastest that fits.
        #expect(planner.partialRecomputations(of: full, everyBlock: estimate(40), lightest: estimate(100), blocks: 24, toBeat: 0.75).isEmpty)
        #expect(planner.partialRecomputations(of: full, everyBlock: estimate(40), lightest: estimate(100), blocks: 24, toBeat: 0.76).count == 2)
        planner.variants = StageSearchOracle.Variants(zeroStages: [1], recomputeModes: [.none, .selective])
        #expect(planner.partialRecomputations(of: full, everyBlock: estimate(40), lightest: estimate(100), blocks: 24).isEmpty)
    }

    @Test("a stage recomputes only when it must: GPT-3 760M with its 256 sequences in one microbatch fits one DGX only so")
    func recomputationChosenPerStage() throws {
        let graph = try ModelCatalog.model(id: "gpt3-760m")!.build()
        let cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        // 1F1B only and ZeRO-1 pinned (the point here is recomputation), to keep the test short.
        var planner = PipelinePlanner(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1", includesMegatronGrid: false,
                                      maximumVirtualStages: 1)
        planner.variants = StageSearchOracle.Variants(zeroStages: [1], recomputeModes: [.none])
        #expect(throws: InputError.self) { try planner.plan(microbatches: 1) }
        planner.variants = StageSearchOracle.Variants(zeroStages: [1], recomputeModes: RecomputeMode.allCases)
        let found = try planner.plan(microbatches: 1)
        #expect(found.prediction.fitsInMemory)
        #expect(found.plan.options.recompute == .none)
        #expect(found.plan.stages.allSatisfy { $0.recompute != nil }, "\(found.plan.summary ?? "")")
        // The plan document says so per stage, and reads back the same.
        let document = found.plan.json(prediction: found.prediction)
        let decoded = try TrainingPlan(json: document, graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1")
        #expect(decoded.stages.map(\.recompute) == found.plan.stages.map(\.recompute))
        #expect(PlanEvaluator(cluster: cluster).evaluate(decoded).iterationSeconds == found.prediction.iterationSeconds)
    }

    @Test("two stages of 2x2 on 8 devices: disjoint halves, every op once, valid strategies")
    func twoStagesOfTwoByTwo() throws {
        let graph = try ModelCatalog.model(id: "gpt-tiny")!.build()
        let cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        let planner = PipelinePlanner(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1",
                                      maximumStageCount: 2, meshShape: [2, 2])
        let found = try planner.plan(microbatches: 4)
        #expect(found.plan.pipelineRanks == 2)
        #expect(found.plan.stages.allSatisfy { $0.mesh.shape == [2, 2] })
        #expect(Set(found.plan.stages[0].mesh.devices).isDisjoint(with: found.plan.stages[1].mesh.devices))
        #expect(PlanValidator.violation(in: found.plan) == nil)
        #expect(found.prediction.iterationSeconds > 0)
    }

    @Test("Megatron plans from score satisfy the plan invariants")
    func megatronPlansAreValid() throws {
        let graph = try ModelCatalog.model(id: "gpt-tiny")!.build()
        let cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        for (tp, pp) in [(8, 1), (4, 2), (2, 2), (1, 2)] {
            let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1",
                                                 configuration: MegatronConfiguration(tensorParallel: tp, pipelineParallel: pp, dataParallel: 8 / (tp * pp)))
            #expect(PlanValidator.violation(in: plan) == nil, "tp=\(tp) pp=\(pp)")
        }
    }

    @Test("a two-stage plan document says what each stage sends: the residual stream forward, its gradient and the tied embedding's back")
    func pipelineSendBytes() throws {
        let graph = try ModelCatalog.model(id: "gpt-tiny")!.build()
        let cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1",
                                             configuration: MegatronConfiguration(tensorParallel: 2, pipelineParallel: 2, dataParallel: 2))
        let document = plan.json(prediction: PlanEvaluator(cluster: cluster).evaluate(plan))
        let stages = try JSONReader(document, at: .root).array("stages")
        let sends = try stages.indices.map { index in
            try JSONReader(stages[index], at: JSONPath.root.appending("stages").appending(index: index)).reader("pipeline_send_bytes")
        }
        // The residual stream between the blocks, [8, 32, 64] bf16 = 32,768 bytes, goes forward and its gradient
        // back; the embedding table [256, 64] bf16, tied to the logits in the last stage, sends its gradient back.
        #expect(try sends[0].number("activations") == 32_768)
        #expect(try sends[0].number("gradients") == 0)
        #expect(try sends[1].number("activations") == 0)
        #expect(try sends[1].number("gradients") == 32_768)
        #expect(try sends[1].number("tied_parameter_gradients") == 32_768)
    }

    @Test("the validator catches an op left out and devices shared by two ranks")
    func validatorCatchesBrokenPlans() throws {
        let graph = try ModelCatalog.model(id: "gpt-tiny")!.build()
        let cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        var plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1",
                                             configuration: MegatronConfiguration(tensorParallel: 2, pipelineParallel: 2, dataParallel: 2))
        var shortened = plan
        let last = shortened.stages[1]
        shortened.stages[1] = StageLayout(operations: last.operations.dropLast(), mesh: last.mesh,
                                          strategies: Array(last.strategies.dropLast()))
        #expect(PlanValidator.violation(in: shortened)?.contains("in no stage") == true)
        plan.stages[1] = StageLayout(operations: last.operations, mesh: plan.stages[0].mesh, strategies: last.strategies)
        #expect(PlanValidator.violation(in: plan)?.contains("share devices") == true)
    }
}

@Suite("Pipeline planner known answers on GPT-3 175B's layers")
struct PipelinePlannerKnownAnswerTests {
    @Test("GPT-3 175B's layers on two DGX nodes: tensor parallelism stays inside each node, the pipeline crosses them")
    func tensorParallelInsideNodesPipelineAcross() throws {
        // 16 of GPT-3 175B's 96 layers (d_model 12288, 96 heads): 29.6B parameters, 474 GB of training
        // state, more than one node's 8 x 80 GB holds, so the model must span both nodes of the cluster.
        let configuration = TransformerConfiguration.gpt(layers: 16, hidden: 12288, heads: 96, vocabulary: 50257,
                                                         sequenceLength: 2048, globalBatch: 32)
        let graph = try TransformerBuilder(name: "gpt3-175b-16-layers", configuration: configuration).build()
        let cluster = try Cluster.preset(named: "dgx-a100-80g:2")
        // The DP alone (without Megatron's configurations, which would include the layout compared below).
        // 1F1B without ZeRO or recomputation, as the Megatron layout compared below runs.
        let found = try PipelinePlanner(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:2", includesMegatronGrid: false,
                                        variants: StageSearchOracle.Variants(zeroStages: [0], recomputeModes: [.none]),
                                        maximumVirtualStages: 1).plan(microbatches: 32)
        #expect(PlanValidator.violation(in: found.plan) == nil)
        #expect(found.plan.stages.count >= 2, "\(found.plan.summary ?? "")")
        for stage in found.plan.stages {
            let nodes = Set(stage.mesh.devices.map { cluster.node(ofDevice: $0) })
            #expect(nodes.count == 1, "stage \(stage.mesh.devices) spans nodes \(nodes.sorted())")
        }
        // And it is no slower than Megatron's layout for the same devices: tp=8 in each node, pp=2 across.
        let megatron = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:2",
                                                 configuration: MegatronConfiguration(tensorParallel: 8, pipelineParallel: 2, dataParallel: 1))
        #expect(found.prediction.iterationSeconds <= PlanEvaluator(cluster: cluster).evaluate(megatron).iterationSeconds)
    }
}

@Suite("Pipeline planner: interleaving, unequal stages and the time limit")
struct PipelinePlannerSearchSpaceTests {
    @Test("a 64K vocabulary makes the head weigh about ten blocks: the DP gives the last rank fewer layers and beats every Megatron configuration by 3% or more")
    func unequalStagesBeatTheGrid() throws {
        // Head: 2 x 65536 x 512 = 67 MFLOP a token; a block (attention 4 x 512^2, SwiGLU 3 x 512 x 1408) 6.4.
        let configuration = TransformerConfiguration.llama(layers: 16, hidden: 512, heads: 8, keyValueHeads: 8, feedForwardHidden: 1408,
                                                           vocabulary: 65536, sequenceLength: 1024, globalBatch: 64)
        let graph = try TransformerBuilder(name: "wide-vocabulary", configuration: configuration).build()
        let cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        // Every stage on two devices: a pipeline of four ranks, where the grid's lightest last rank holds 3 blocks
        // and the head.
        let planner = PipelinePlanner(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1", meshShape: [1, 2],
                                      maximumVirtualStages: 2)
        let found = try planner.plan(microbatches: 8)
        let provenance = try #require(found.plan.provenance)
        #expect(provenance.foundBy == .stageDynamicProgram)
        let dp = try #require(provenance.stageDynamicProgramSeconds), grid = try #require(provenance.megatronGridSeconds)
        #expect(grid >= 1.03 * dp, "DP \(dp) s, grid \(grid) s")
        #expect(found.plan.pipelineRanks == 4)
        #expect(found.plan.summary?.contains("layers=") == true, "\(found.plan.summary ?? "")")
        #expect(PlanValidator.violation(in: found.plan) == nil)
    }

    @Test("a search past its time limit stops as soon as it has a plan (the grid's, priced first, or the first stage DP's), answers with it and says so")
    func timeLimit() throws {
        let graph = try ModelCatalog.model(id: "llama-tiny")!.build()
        let cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        // A limit every step overruns: the search stops as soon as it has a plan. Under a limit the grid goes
        // first, and its plan is the answer before any DP.
        let withGrid = try PipelinePlanner(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1", timeLimit: 1e-9).plan()
        #expect(withGrid.stoppedEarly)
        #expect(withGrid.attempts.isEmpty)
        #expect(withGrid.grid?.chosen == true)
        #expect(withGrid.prediction.fitsInMemory)
        #expect(PlanValidator.violation(in: withGrid.plan) == nil)
        // Stages of half a node, one ZeRO and recomputation setting: the first DP's catalogs in a few seconds.
        let planner = PipelinePlanner(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1", meshShape: [1, 4],
                                      includesMegatronGrid: false,
                                      variants: StageSearchOracle.Variants(zeroStages: [1], recomputeModes: [.none]),
                                      maximumVirtualStages: 2, timeLimit: 1e-9)
        let found = try planner.plan()
        #expect(found.stoppedEarly)
        #expect(found.attempts.map(\.programs) == [1])
        #expect(found.grid == nil)
        #expect(found.plan.provenance?.stoppedEarly == true)
        #expect(found.prediction.fitsInMemory)
        #expect(PlanValidator.violation(in: found.plan) == nil)
        #expect(found.plan.jsonText(prediction: found.prediction).contains("\"stopped_early\": true"))
        // Without the limit the same search goes on.
        var unlimited = planner
        unlimited.timeLimit = nil
        #expect(try unlimited.plan(microbatches: 2).attempts[0].programs > 1)
    }

    @Test("a search that needs far longer than its 3 s limit answers within a second of it with a fitting plan, and says it stopped early")
    func timeLimitHolds() throws {
        // GPT-3 125M on one DGX A100 searches for about 16 s in a debug build (the grid about 2, the stage DP's
        // first catalogs several, each question waiting on them), rewrites included, as `shardplan plan` runs it.
        let graph = try ModelCatalog.model(id: "gpt3-125m")!.build()
        let cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        let limit = 3.0
        let started = Date()
        let found = try PipelinePlanner(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1", timeLimit: limit)
            .plan(rewriting: RewriteSearch(rules: RewriteSelection.safe.rules))
        let elapsed = Date().timeIntervalSince(started)
        #expect(found.stoppedEarly)
        #expect(found.plan.provenance?.stoppedEarly == true)
        #expect(found.prediction.fitsInMemory)
        #expect(PlanValidator.violation(in: found.plan) == nil)
        // The grid stops estimating once one configuration fits, a catalog build between its problems' edges and
        // solves: even beside the rest of the suite the search ends within a second of its limit.
        #expect(elapsed <= limit + 1, "\(elapsed) s for a limit of \(limit) s (grid \(found.grid?.seconds ?? 0) s)")
    }

    @Test("an interleaved plan from the DP is valid, and its document reads back to the same prediction")
    func interleavedPlanRoundTrip() throws {
        let graph = try ModelCatalog.model(id: "llama-tiny")!.build()
        let cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        let layerCount = LayerClustering(GraphAnalysis(graph), smallLayerFraction: 0).layers.count
        let planner = PipelinePlanner(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1", includesMegatronGrid: false)
        let evaluator = PlanEvaluator(cluster: cluster)
        // The interleaved program of two ranks with two chunks each, solved directly.
        let model = StageCostModel(graph: graph, kernels: evaluator.kernels, options: TrainingOptions(), microbatches: 4)
        let clustering = LayerClustering(GraphAnalysis(graph), smallLayerFraction: 0)
        let share = try #require(SubmeshShape.equalShare(of: 2, nodes: 1, devicesPerNode: 8))
        let oracle = StageSearchOracle(model: model, cluster: cluster, clustering: clustering, analysis: GraphAnalysis(graph),
                                       search: IntraOperatorSearch(), submeshes: [share])
        let program = StageDynamicProgram(layerCount: layerCount, nodes: 1, devicesPerNode: 8, microbatches: 4,
                                          schedule: .interleaved, virtualStages: 2, submeshes: [share], stageCount: 2)
        let partition = try #require(program.solve(oracle, structureKeys: clustering.structureKeys))
        let plan = try planner.trainingPlan(partition, clustering: clustering, oracle: oracle, microbatches: 4)
        #expect(plan.schedule == .interleaved && plan.virtualStages == 2 && plan.stages.count == 4)
        #expect(PlanValidator.violation(in: plan) == nil)
        let prediction = evaluator.evaluate(plan)
        let decoded = try TrainingPlan(json: plan.json(prediction: prediction), graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1")
        #expect(evaluator.evaluate(decoded).iterationSeconds == prediction.iterationSeconds)
        // The DP's estimate is the evaluator's pipeline within its approximations of point-to-point transfers.
        #expect(abs(partition.iterationSeconds - prediction.iterationSeconds) <= 0.05 * prediction.iterationSeconds,
                "DP \(partition.iterationSeconds) s, evaluator \(prediction.iterationSeconds) s")
    }
}
