import Testing
@testable import ShardPlan

/// GPT-3 175B (96 layers, hidden 12288, 2048 tokens, global batch 1536) on 8 DGX A100 80GB nodes.
@Suite("Plan evaluation of GPT-3 175B")
struct PlanEvaluatorCostTests {
    static let clusterName = "dgx-a100-80g:8"
    static let gpt3 = Result { () throws(InputError) -> Graph in try ModelCatalog.model(id: "gpt3-175b")!.build() }

    func prediction(_ configuration: MegatronConfiguration) throws -> PlanPrediction {
        let cluster = try Cluster.preset(named: Self.clusterName)
        let plan = try TrainingPlan.megatron(graph: try Self.gpt3.get(), cluster: cluster, clusterName: Self.clusterName,
                                             configuration: configuration)
        return PlanEvaluator(cluster: cluster).evaluate(plan)
    }

    @Test("pure data parallelism (dp = 64) does not fit: bf16 weights alone are 350 GB per device")
    func dataParallelDoesNotFit() throws {
        let prediction = try prediction(MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1))
        #expect(!prediction.fitsInMemory)
        // 18 bytes per parameter of model state: about 3.15 TB, far beyond 80 GiB.
        #expect(prediction.peakMemoryBytesPerDevice > 10 * prediction.deviceMemoryBytes)
    }

    @Test("tp = 8, pp = 8 with microbatches of one sample and full recomputation fits in 80 GiB")
    func megatronLayoutFits() throws {
        // Narayanan et al. 2021 train this configuration with activation recomputation.
        let prediction = try prediction(MegatronConfiguration(
            tensorParallel: 8, pipelineParallel: 8, microBatchSize: 1, options: TrainingOptions(recompute: .full)))
        #expect(prediction.fitsInMemory)
        #expect(prediction.ranks.count == 8)
        #expect(prediction.ranks.map(\.microbatchesInFlight) == [8, 7, 6, 5, 4, 3, 2, 1])
        let total = prediction.timeBreakdown.reduce(0) { $0 + $1.seconds }
        #expect(abs(total - prediction.iterationSeconds) <= 1e-9 * prediction.iterationSeconds)
    }

    @Test("a middle pipeline rank holds 12 layers' weights, split 8 ways except norms and row-parallel biases")
    func middleRankWeights() throws {
        let prediction = try prediction(MegatronConfiguration(tensorParallel: 8, pipelineParallel: 8, microBatchSize: 1))
        // h = 12288. Per layer and device: 12h^2 / 8 = 226492416 weights, QKV and first feed-forward biases
        // (3h + 4h) / 8 = 10752, the projection and second feed-forward biases 2h = 24576 and two layer norms
        // 4h = 49152: 226576896 parameters, times 12 layers = 2718922752.
        let parameters = 2_718_922_752.0
        let rank = prediction.ranks[1]
        #expect(rank.weightBytes == 2 * parameters)
        #expect(rank.gradientBytes == 4 * parameters)
        #expect(rank.optimizerStateBytes == 12 * parameters)
    }
}
