import Foundation
import Testing
@testable import ShardPlan

@Suite("Pinned parallel degrees (plan --tp/--pp/--dp/--cp/--ep)")
struct ParallelPinsTests {
    /// The grid with pins is the unpinned grid's configurations that keep them, in the same order: a brute force over
    /// every configuration of gpt-tiny on one DGX A100 (8 devices; context parallelism 1 only at 32 tokens).
    @Test("the pinned grid is the unpinned grid filtered by the pins", arguments: [
        ParallelPins(tensorParallel: 2),
        ParallelPins(pipelineParallel: 2),
        ParallelPins(dataParallel: 4),
        ParallelPins(tensorParallel: 2, pipelineParallel: 2, dataParallel: 2),
        ParallelPins(tensorParallel: 4, contextParallel: 1),
        ParallelPins(tensorParallel: 8),
    ])
    func gridFiltered(pins: ParallelPins) throws {
        let graph = try ModelCatalog.model(id: "gpt-tiny")!.build()
        let cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        let analysis = GraphAnalysis(graph)
        let grid = MegatronGrid()
        let all = grid.configurations(for: graph, on: cluster, options: TrainingOptions(), analysis: analysis)
        let pinned = grid.configurations(for: graph, on: cluster, options: TrainingOptions(), analysis: analysis, pins: pins)
        #expect(pinned == all.filter { pins.admits($0, dataParallel: $0.dataParallel!) })
        // tp = 8 does not split gpt-tiny's 4 heads: nothing is left; the others keep some.
        #expect(pinned.isEmpty == (pins.tensorParallel == 8))
    }

    /// gpt-tiny on one DGX A100 with tp = pp = dp = 2, tp = pp = 2 (the DP's stages on views `[n / 2, 2]`) and
    /// tp = 4, pp = 2 pinned, 2 microbatches (one microbatch size): the answer keeps every pin, and is as fast as the
    /// fastest of the unpinned grid's configurations with those degrees, each priced exactly (a brute force), or
    /// faster where the stage DP found a plan that keeps them.
    @Test("the pinned answer keeps the pins and matches the best pinned configuration of the grid, brute force", arguments: [
        ParallelPins(tensorParallel: 2, pipelineParallel: 2, dataParallel: 2),
        ParallelPins(tensorParallel: 2, pipelineParallel: 2),
        ParallelPins(tensorParallel: 4, pipelineParallel: 2),
    ])
    func pinnedAnswerAgainstBruteForce(pins: ParallelPins) throws {
        let graph = try ModelCatalog.model(id: "gpt-tiny")!.build()
        let cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        let variants = StageSearchOracle.Variants(zeroStages: [1], recomputeModes: [.none])
        let grid = MegatronGrid(microBatchSizes: [1, 2, 4], maximumVirtualStages: 1, maximumEndLightening: 0)
        let found = try PipelinePlanner(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1", megatronGrid: grid,
                                        variants: variants, pins: pins).plan(microbatches: 2)
        #expect(pins.breach(of: found.plan) == nil, "\(found.plan.summary ?? "")")
        #expect(found.plan.pipelineRanks == 2)
        #expect(found.plan.provenance?.pinned == pins)
        // The saved plan records the pins under `search`, which `score --plan` skips: it reads back to the same price.
        let document = try JSONParser.parse(found.plan.jsonText(prediction: found.prediction))
        guard case .object(let top) = document, case .object(let search)? = top["search"] else { Issue.record("no search member"); return }
        #expect(search["pinned"] == .object(JSONObject(pins.degrees.map { ($0.name, .int($0.degree)) })))
        if pins.dataParallel != nil { #expect(search["pinned"] == ["tp": 2, "pp": 2, "dp": 2]) }
        let (decoded, misspellings) = try MemberReads.collecting { () throws(InputError) in
            try TrainingPlan(json: document, graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1")
        }
        #expect(misspellings.isEmpty)
        #expect(PlanEvaluator(cluster: cluster).evaluate(decoded).iterationSeconds == found.prediction.iterationSeconds)
        let evaluator = PlanEvaluator(cluster: cluster)
        let candidates = grid.configurations(for: graph, on: cluster, options: TrainingOptions(), analysis: GraphAnalysis(graph),
                                             microbatches: 2, variants: variants)
            .filter { pins.admits($0, dataParallel: $0.dataParallel!) }
        #expect(!candidates.isEmpty)
        let times = try candidates.map { configuration in
            let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1", configuration: configuration)
            let prediction = evaluator.evaluate(plan)
            return prediction.fitsInMemory ? prediction.iterationSeconds : .infinity
        }
        let best = try #require(times.min())
        #expect(found.prediction.iterationSeconds <= best * (1 + 1e-9), "\(found.prediction.iterationSeconds) s against \(best) s")
        if found.plan.provenance?.foundBy == .megatronGrid {
            #expect(abs(found.prediction.iterationSeconds - best) <= best * 1e-9)
            #expect(found.plan.summary?.hasPrefix("tp=\(pins.tensorParallel!) pp=2 ") == true, "\(found.plan.summary ?? "")")
        }
    }

    /// `plan --emit` with a pinned tp: the searched plan (gpt-tiny on one DGX A100 as tp=4 dp=2, standing in for a
    /// DP plan whose framework settings read as another degree) breaks --tp 2, so its settings are passed over for
    /// the alternative tp=2 pp=2 dp=2, whichever is faster; with no alternative that keeps the pin, the error names it.
    @Test("--emit passes over settings that break a pin for an alternative that keeps it, and names the pins where none does",
          arguments: [TrainingFramework.megatron, .torchtitan])
    func emittedSettingsKeepPins(framework: TrainingFramework) throws {
        let graph = try ModelCatalog.model(id: "gpt-tiny")!.build()
        let cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        let evaluator = PlanEvaluator(cluster: cluster)
        func megatron(tensorParallel: Int, pipelineParallel: Int) throws -> (plan: TrainingPlan, prediction: PlanPrediction) {
            let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1",
                                                 configuration: MegatronConfiguration(tensorParallel: tensorParallel, pipelineParallel: pipelineParallel))
            return (plan, evaluator.evaluate(plan))
        }
        let searched = try megatron(tensorParallel: 4, pipelineParallel: 1)
        let kept = try megatron(tensorParallel: 2, pipelineParallel: 2)
        let pins = ParallelPins(tensorParallel: 2)
        #expect(pins.breach(of: searched.plan) != nil && pins.breach(of: kept.plan) == nil)
        let chosen = try FrameworkExport.choosing(searched.plan, prediction: searched.prediction,
                                                  alternatives: [.grid(kept.plan, prediction: kept.prediction)],
                                                  requiresFit: true, framework: framework, pins: pins)
        #expect(pins.breach(of: chosen.export.settingsPlan) == nil, "\(chosen.export.layout.configuration)")
        #expect(chosen.plan.pipelineRanks == 2 && chosen.export.layout.configuration.tensorParallel == 2)
        let error = #expect(throws: InputError.self) {
            try FrameworkExport.choosing(searched.plan, prediction: searched.prediction, alternatives: [], moreAlternatives: { [] },
                                         requiresFit: true, framework: framework, pins: pins)
        }
        #expect(error?.message.hasPrefix("no \(framework.displayName) settings keeping --tp 2 fit and run") == true, "\(error?.description ?? "")")
        #expect(error?.message.contains("only as a layout that breaks --tp 2") == true, "\(error?.description ?? "")")
    }

    /// A pinned tp leaves each submesh the views that lay it out on their inner axis: for gpt-tiny's submeshes of one
    /// DGX A100 (1, 2, 4 and 8 GPUs), tp = 2 keeps [1, 2], [2, 2] and [4, 2]; tp = 1 the one-row views [1, n].
    @Test("a pinned tp restricts the stage DP's views to those with tp on the inner axis")
    func pinnedTensorParallelViews() throws {
        let graph = try ModelCatalog.model(id: "gpt-tiny")!.build()
        let cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        let analysis = GraphAnalysis(graph)
        let clustering = LayerClustering(analysis)
        let submeshes = SubmeshShape.planningCandidates(nodes: 1, devicesPerNode: 8)
        func views(_ pins: ParallelPins) -> [[Int]] {
            let model = StageCostModel(graph: graph, kernels: KernelModel(device: cluster.device), options: TrainingOptions(), microbatches: 1)
            let oracle = StageSearchOracle(model: model, cluster: cluster, clustering: clustering, analysis: analysis, search: IntraOperatorSearch(),
                                           submeshes: submeshes, meshShape: nil, variants: .automatic, catalogs: .init(), pins: pins)
            return submeshes.flatMap { oracle.views[$0] ?? [] }.sorted { $0.lexicographicallyPrecedes($1) }
        }
        #expect(views(ParallelPins(tensorParallel: 2)) == [[1, 2], [2, 2], [4, 2]])
        #expect(views(ParallelPins(tensorParallel: 1)) == [[1, 1], [1, 2], [1, 4], [1, 8]])
        #expect(views(ParallelPins()).count > 6)
    }

    /// The stage DP alone with the depth pinned: gpt-tiny's 4 layers on 8 devices in exactly 2 and exactly 4 ranks.
    @Test("--pp fixes the stage DP's depth", arguments: [2, 4])
    func pinnedDepth(depth: Int) throws {
        let graph = try ModelCatalog.model(id: "gpt-tiny")!.build()
        let cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        let found = try PipelinePlanner(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1", includesMegatronGrid: false,
                                        variants: StageSearchOracle.Variants(zeroStages: [0], recomputeModes: [.none]),
                                        pins: ParallelPins(pipelineParallel: depth)).plan(microbatches: 4)
        #expect(found.plan.pipelineRanks == depth)
        #expect(found.plan.provenance?.foundBy == .stageDynamicProgram)
        #expect(PlanValidator.violation(in: found.plan) == nil)
    }

    /// Pins no plan can keep are refused, naming the pin: 3 does not divide 8 devices, 8 tensor-parallel ranks do not
    /// split gpt-tiny's 4 heads, 8 pipeline ranks need 8 layers (it has 4), and all four of tp, pp, dp and cp must
    /// multiply to the devices.
    @Test("pins the cluster or the graph cannot lay out are refused at the pin")
    func refusedPins() throws {
        let graph = try ModelCatalog.model(id: "gpt-tiny")!.build()
        let cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        let cases: [(ParallelPins, String, String)] = [
            (ParallelPins(dataParallel: 3), "--dp", "multiply to 3, which does not divide the 8 devices"),
            (ParallelPins(tensorParallel: 8), "--tp", "8 tensor-parallel ranks do not split gpt-tiny's 4 heads whole"),
            (ParallelPins(pipelineParallel: 8), "--pp", "8 pipeline ranks need as many layers, and gpt-tiny has 4"),
            (ParallelPins(tensorParallel: 2, pipelineParallel: 2, dataParallel: 1, contextParallel: 1), "--tp", "multiply to 4, which is not the 8 devices"),
        ]
        for (pins, flag, message) in cases {
            let error = #expect(throws: InputError.self) { try pins.check(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1") }
            #expect(error?.path.description == flag && error?.message.contains(message) == true, "\(error?.description ?? "")")
        }
        #expect(throws: Never.self) {
            try ParallelPins(tensorParallel: 2, pipelineParallel: 2, dataParallel: 2, contextParallel: 1)
                .check(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1")
        }
    }

    /// ep and cp pins no plan keeps, refused before the search with the reason: 3 ranks do not divide moe-tiny's 8
    /// experts, 8 expert-parallel ranks in each of 2 pipeline stages need 16 GPUs (there are 8), and 3
    /// context-parallel ranks (of 24 GPUs) do not cut gpt-tiny's 32 tokens into 6 chunks. Beside tp = 2, ep = 8 is
    /// kept (Megatron-LM's expert tensor parallelism of 1 spreads the experts over the tensor- as well as the
    /// data-parallel ranks), as `PlanPinTests` plans it.
    @Test("ep and cp pins no plan keeps are refused with the reason")
    func unkeptExpertAndContextPins() throws {
        let moe = try ModelCatalog.model(id: "moe-tiny")!.build()
        let gpt = try ModelCatalog.model(id: "gpt-tiny")!.build()
        let cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        let cases: [(ParallelPins, Graph, String, String, String)] = [
            (ParallelPins(expertParallel: 3), moe, "dgx-a100-80g:1", "--ep", "3 expert-parallel ranks do not divide the 8 experts of a layer of moe-tiny"),
            (ParallelPins(pipelineParallel: 2, expertParallel: 8), moe, "dgx-a100-80g:1", "--ep",
             "each of 2 pipeline stages needs 8 devices of its own for 8 expert-parallel ranks, and dgx-a100-80g:1 has 8"),
            (ParallelPins(contextParallel: 3), gpt, "dgx-a100-80g:3", "--cp",
             "3 context-parallel ranks do not cut gpt-tiny's sequence of 32 tokens into 6 equal load-balanced chunks"),
        ]
        for (pins, graph, name, flag, message) in cases {
            let error = #expect(throws: InputError.self) { try pins.check(graph: graph, cluster: try Cluster.preset(named: name), clusterName: name) }
            #expect(error?.path.description == flag && error?.message == message, "\(error?.description ?? "")")
        }
        #expect(throws: Never.self) {
            try ParallelPins(tensorParallel: 2, expertParallel: 8).check(graph: moe, cluster: cluster, clusterName: "dgx-a100-80g:1")
        }
    }

    /// With memory too small for any configuration keeping the pins, the search says no plan keeps them and fits.
    @Test("no pinned plan that fits is an error that names the pins")
    func nothingFits() throws {
        let graph = try ModelCatalog.model(id: "gpt-tiny")!.build()
        var cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        cluster.device.memoryBytes = TrainingOptions.frameworkOverheadBytes + 1
        let error = #expect(throws: InputError.self) {
            try PipelinePlanner(graph: graph, cluster: cluster, clusterName: "small", maximumVirtualStages: 1,
                                pins: ParallelPins(tensorParallel: 2, pipelineParallel: 2)).plan(microbatches: 4)
        }
        #expect(error?.message.hasPrefix("no feasible plan keeping --tp 2 --pp 2") == true, "\(error?.description ?? "")")
    }
}
