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

    /// gpt-tiny on one DGX A100 with tp = pp = dp = 2 pinned and 2 microbatches (one microbatch size): the answer keeps
    /// every pin, and is as fast as the fastest of the unpinned grid's configurations with those degrees, each
    /// priced exactly (a brute force), or faster where the stage DP found a plan that keeps them.
    @Test("the pinned answer keeps the pins and matches the best pinned configuration of the grid, brute force")
    func pinnedAnswerAgainstBruteForce() throws {
        let graph = try ModelCatalog.model(id: "gpt-tiny")!.build()
        let cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        let pins = ParallelPins(tensorParallel: 2, pipelineParallel: 2, dataParallel: 2)
        let variants = StageSearchOracle.Variants(zeroStages: [1], recomputeModes: [.none])
        let grid = MegatronGrid(microBatchSizes: [1, 2, 4], maximumVirtualStages: 1, maximumEndLightening: 0)
        let found = try PipelinePlanner(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1", megatronGrid: grid,
                                        variants: variants, pins: pins).plan(microbatches: 2)
        #expect(pins.breach(of: found.plan) == nil, "\(found.plan.summary ?? "")")
        #expect(found.plan.pipelineRanks == 2)
        #expect(found.plan.provenance?.pinned == "--tp 2 --pp 2 --dp 2")
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
            #expect(found.plan.summary?.hasPrefix("tp=2 pp=2 dp=2") == true, "\(found.plan.summary ?? "")")
        }
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
