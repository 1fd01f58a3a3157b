import Testing
@testable import ShardPlan

/// The planner shares each view's layout catalog between the microbatch counts it tries
/// (`StageLayoutCatalog.Shelf`). A layout solved at one count must not reach a count whose microbatches it would
/// split into fractions of a sample: GPT-3 175B on 16 DGX A100s was planned with 128 microbatches of 12 sequences
/// over 8 data-parallel ranks, which `score --plan` then refused.
@Suite("Layout catalogs shared between microbatch counts")
struct SharedCatalogTests {
    @Test("gpt-tiny on a DGX A100: every layout a count takes from the shared shelf gives each device whole samples")
    func sharedCatalogsKeepWholeSamples() throws {
        let graph = try #require(ModelCatalog.model(id: "gpt-tiny")).build()
        let cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        let analysis = GraphAnalysis(graph)
        let clustering = LayerClustering(analysis, smallLayerFraction: 0)
        let node = try #require(SubmeshShape.equalShare(of: 1, nodes: 1, devicesPerNode: 8))
        let kernels = PlanEvaluator(cluster: cluster).kernels
        let shelf = StageLayoutCatalog.Shelf()
        // Batch 8: one microbatch of 8 splits 8 ways; 4 microbatches of 2 split at most 2 ways.
        var splitAtOne = false
        for count in [1, 4] {
            let model = StageCostModel(graph: graph, kernels: kernels, options: TrainingOptions(), microbatches: count)
            let oracle = StageSearchOracle(model: model, cluster: cluster, clustering: clustering, analysis: analysis,
                                           search: IntraOperatorSearch(), submeshes: [node], meshShape: nil, variants: .all,
                                           catalogs: shelf)
            for shape in try #require(oracle.views[node]) {
                guard let catalog = try oracle.catalog(node, shape) else { continue }
                for layout in catalog.layouts {
                    for (layer, strategies) in layout.enumerated() {
                        for (op, strategy) in zip(clustering.layers[layer].operations, strategies) {
                            let batchIndex = model.roles.batchIndex[op]
                            #expect(strategy.splitsWholeSamples(of: graph.operations[op], batchIndex: batchIndex, microbatches: count,
                                                                meshShape: shape), "count \(count), view \(shape), op \(graph.operations[op].name)")
                            if count == 1, let batchIndex, strategy.splitFactor(of: batchIndex, meshShape: shape) > 2 { splitAtOne = true }
                        }
                    }
                }
            }
        }
        // The first count's catalogs do split the batch more than 2 ways, so a shared catalog would have failed.
        #expect(splitAtOne)
    }

    @Test("PlanValidator refuses a plan whose microbatches split into fractions of a sample")
    func validatorRefusesFractions() throws {
        let graph = try #require(ModelCatalog.model(id: "gpt-tiny")).build()
        let cluster = try Cluster.preset(named: "dgx-a100-80g")
        // Batch 8 over 8 data-parallel ranks: one sequence each with one microbatch, half of one with two.
        var plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g",
                                             configuration: MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1))
        #expect(plan.microbatches == 1 && PlanValidator.violation(in: plan) == nil)
        plan.microbatches = 2
        #expect(PlanValidator.violation(in: plan)?.contains("splits each of the 2 microbatches into fractions of a sample") == true)
    }
}
