import Foundation
import Testing
@testable import ShardPlan

@Suite("Cancelled searches: what a time limit cuts off is given up, never kept, and the rest answers as before")
struct SearchCancellationTests {
    /// A cancellation that says yes after its first `after` questions, and stays so, as a time limit does.
    final class Countdown: @unchecked Sendable {
        private let lock = NSLock()
        private var asked = 0
        let after: Int

        init(after: Int) { self.after = after }

        func isCancelled() -> Bool {
            lock.withLock {
                asked += 1
                return asked > after
            }
        }

        var questions: Int { lock.withLock { asked } }
    }

    static func llamaTiny() throws -> (graph: Graph, cluster: Cluster, clustering: LayerClustering, analysis: GraphAnalysis) {
        let graph = try ModelCatalog.model(id: "llama-tiny")!.build()
        let analysis = GraphAnalysis(graph)
        return (graph, try Cluster.preset(named: "dgx-a100-80g:1"), LayerClustering(analysis, smallLayerFraction: 0), analysis)
    }

    @Test("a value whose computation throws is not kept: the next thread that asks computes it")
    func sharedTableKeepsNothingAbandoned() throws {
        let table = SharedTable<Int, String>()
        #expect(throws: CancellationError.self) {
            try table.value(for: 1) { () throws(CancellationError) -> String in throw CancellationError() }
        }
        #expect(table[1] == nil)
        #expect(table.value(for: 1) { "made" } == "made")
        #expect(table.value(for: 1) { "made again" } == "made")
    }

    @Test("a stage problem's build stops at the checkpoint that throws; one never stopped is the problem the plain build makes")
    func problemBuildAbandoned() throws {
        let (graph, cluster, clustering, analysis) = try Self.llamaTiny()
        let model = StageCostModel(graph: graph, kernels: PlanEvaluator(cluster: cluster).kernels, options: TrainingOptions(), microbatches: 4)
        let mesh = try DeviceMesh(devices: [0, 1], shape: [1, 2], axisNames: ["x", "y"], in: cluster)
        let operations = clustering.operations(of: 0 ..< 2)
        let countdown = Countdown(after: 3)
        #expect(throws: CancellationError.self) {
            try StageShardingProblem(operations: operations, mesh: mesh, model: model, inFlight: 1, memoryBudget: nil,
                                     layers: analysis.layers) { () throws(CancellationError) in
                if countdown.isCancelled() { throw CancellationError() }
            }
        }
        // Three checkpoints passed, the fourth stopped it.
        #expect(countdown.questions == 4)
        var checkpoints = 0
        let checked = StageShardingProblem(operations: operations, mesh: mesh, model: model, inFlight: 1, memoryBudget: nil,
                                           layers: analysis.layers) { checkpoints += 1 }
        let plain = StageShardingProblem(operations: operations, mesh: mesh, model: model, inFlight: 1, memoryBudget: nil,
                                         layers: analysis.layers)
        #expect(checked.problem == plain.problem)
        // One checkpoint per class priced and per edge matrix.
        #expect(checkpoints == checked.candidates.count + plain.problem.edges.count)
    }

    @Test("a question cancelled while its catalog is built, or its profiles, answers nil and keeps nothing half-made; asked again, it answers as a fresh oracle does")
    func abandonedCatalogNotKept() throws {
        let graph = try ModelCatalog.model(id: "gpt-tiny")!.build()
        let analysis = GraphAnalysis(graph)
        let cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        let clustering = LayerClustering(analysis, smallLayerFraction: 0)
        let model = StageCostModel(graph: graph, kernels: PlanEvaluator(cluster: cluster).kernels, options: TrainingOptions(), microbatches: 4)
        // Two devices: one view, [1, 2], whose catalog builds in about a second in a debug build.
        let submesh = SubmeshShape(nodes: 1, devicesPerNode: 2)
        func oracle() -> StageSearchOracle {
            StageSearchOracle(model: model, cluster: cluster, clustering: clustering, analysis: analysis, search: IntraOperatorSearch(),
                              submeshes: [submesh])
        }
        let position = PipelinePosition(schedule: .oneForwardOneBackward, stagesFromEnd: 1, stageCount: 1, virtualStages: 1, microbatches: 4)
        let layers = 0 ..< clustering.layers.count
        func shelved(_ oracle: StageSearchOracle) -> Bool {
            oracle.catalogs.table[[submesh.nodes, submesh.devicesPerNode, 1, 2]] != nil
        }
        // A question never cancelled: how many checks it makes, and after how many its catalog is on the shelf.
        let probed = oracle()
        var checks = 0, built: Int?
        let fresh = try #require(probed.stageCost(layers: layers, submesh: submesh, microbatches: 4, position: position) {
            if built == nil && shelved(probed) { built = checks }
            checks += 1
            return false
        })
        let catalogChecks = try #require(built)
        #expect(catalogChecks > 10 && checks > catalogChecks + 1, "\(catalogChecks) checks build the catalog, \(checks) answer")
        // Cancelled at once, halfway through the catalog's problems and solves, and while profiles are made.
        for cut in [0, catalogChecks / 2, (catalogChecks + checks) / 2] {
            let cancelled = oracle()
            let countdown = Countdown(after: cut)
            #expect(cancelled.stageCost(layers: layers, submesh: submesh, microbatches: 4, position: position,
                                        isCancelled: countdown.isCancelled) == nil)
            #expect(countdown.questions == cut + 1, "the question gave up at the first cancelled check")
            #expect(shelved(cancelled) == (cut >= catalogChecks), "cut after \(cut) checks")
            #expect(cancelled.stageCost(layers: layers, submesh: submesh, microbatches: 4, position: position) == fresh)
        }
    }

    @Test("the cache keeps no answer given once the search is cancelled, and answers the same question afresh later")
    func cacheKeepsNoCancelledAnswer() throws {
        let cache = CachedStageCostOracle(CachedStageCostOracleTests.KeyedOracle(), structureKeys: CachedStageCostOracleTests.keys)
        let shape = SubmeshShape(nodes: 1, devicesPerNode: 4)
        let position = PipelinePosition(schedule: .oneForwardOneBackward, stagesFromEnd: 2, stageCount: 2, virtualStages: 1, microbatches: 8)
        _ = cache.stageCost(layers: 1 ..< 3, submesh: shape, microbatches: 8, position: position) { true }
        _ = cache.stageCost(layers: 1 ..< 3, submesh: shape, microbatches: 8, position: position) { true }
        #expect(cache.statistics == (questions: 2, solves: 2))
        _ = cache.stageCost(layers: 1 ..< 3, submesh: shape, microbatches: 8, position: position) { false }
        _ = cache.stageCost(layers: 2 ..< 4, submesh: shape, microbatches: 8, position: position)
        #expect(cache.statistics == (questions: 4, solves: 3))
    }

    @Test("a cancelled grid estimate stops once a configuration fits and leaves the rest out; what it estimated is the full run's")
    func gridEstimatesCut() throws {
        let (graph, cluster, _, analysis) = try Self.llamaTiny()
        let configurations = MegatronGrid().configurations(for: graph, on: cluster, options: TrainingOptions(), analysis: analysis)
        let layerwise = LayerClustering(analysis, smallLayerFraction: 0)
        let kernels = PlanEvaluator(cluster: cluster).kernels
        let full = MegatronGrid.estimates(configurations, graph: graph, cluster: cluster, analysis: analysis, clustering: layerwise, kernels: kernels)
        #expect(full.complete)
        let cut = MegatronGrid.estimates(configurations, graph: graph, cluster: cluster, analysis: analysis, clustering: layerwise,
                                         kernels: kernels) { true }
        #expect(!cut.complete)
        let estimated = cut.estimates.indices.filter { cut.estimates[$0] != nil }
        // Once one fits, each thread finishes only the configuration it began: a handful, not the grid.
        #expect(estimated.count < configurations.count / 2, "\(estimated.count) of \(configurations.count)")
        #expect(estimated.contains { cut.estimates[$0]!.peakMemoryBytes <= cluster.device.memoryBytes })
        for index in estimated {
            #expect(cut.estimates[index]?.iterationSeconds == full.estimates[index]?.iterationSeconds)
            #expect(cut.estimates[index]?.peakMemoryBytes == full.estimates[index]?.peakMemoryBytes)
        }
        // Told that a configuration fits already, a cancelled estimate begins none.
        let none = MegatronGrid.estimates(configurations, graph: graph, cluster: cluster, analysis: analysis, clustering: layerwise,
                                          kernels: kernels, fitFound: true) { true }
        #expect(!none.complete && none.estimates.allSatisfy { $0 == nil })
    }

    @Test("a rewrite search cancelled from the start prices nothing and says it stopped; never cancelled, it answers as before")
    func rewriteSearchCancelled() throws {
        let graph = try RewriteSearchTests.llama()
        let cluster = try RewriteSearchTests.singleDevice()
        let base = try SingleStagePlanner(graph: graph, cluster: cluster, clusterName: "a100", recomputeModes: [.none]).plan(microbatches: 2)
        let search = RewriteSearch(rules: RewriteSelection.safe.rules)
        let cancelled = search.improve(base.plan, prediction: base.prediction) { true }
        #expect(cancelled.candidatesPriced == 0 && cancelled.stoppedEarly && cancelled.improvement == nil)
        let free = search.improve(base.plan, prediction: base.prediction) { false }
        let plain = search.improve(base.plan, prediction: base.prediction)
        #expect(!free.stoppedEarly && free.candidatesPriced == plain.candidatesPriced && free.candidatesPriced > 0)
        let documents = [free, plain].compactMap { $0.improvement.map { $0.plan.jsonText(prediction: $0.prediction) } }
        #expect(documents.count == 2 && documents[0] == documents[1])
    }

    @Test("a single-stage search past its time limit answers with its first plan and says so; without a limit it tries every mesh shape")
    func singleStageTimeLimit() throws {
        let (graph, cluster, _, _) = try Self.llamaTiny()
        let shapes = [[1, 8], [2, 4], [8, 1]]
        let full = try SingleStagePlanner(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1", meshShapes: shapes, recomputeModes: [.none])
            .search(microbatches: 2)
        #expect(!full.stoppedEarly && Set(full.attempts.map(\.meshShape)) == Set(shapes))
        // A limit that has passed before the first solve ends: the first mesh shape's plan is the answer.
        let limited = try SingleStagePlanner(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1", meshShapes: shapes,
                                             timeLimit: 1e-9, recomputeModes: [.none]).search(microbatches: 2)
        #expect(limited.stoppedEarly && limited.attempts.map(\.meshShape) == [[1, 8]])
        #expect(limited.prediction.fitsInMemory && limited.plan.stages[0].mesh.shape == [1, 8])
        let rewritten = try SingleStagePlanner(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1", meshShapes: shapes,
                                               timeLimit: 1e-9, recomputeModes: [.none]).plan(rewriting: RewriteSearch(rules: RewriteSelection.safe.rules), microbatches: 2)
        #expect(rewritten.stoppedEarly && rewritten.rewrites.candidatesPriced == 0)
    }
}
