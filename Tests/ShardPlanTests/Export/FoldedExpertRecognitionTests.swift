import Testing
@testable import ShardPlan

/// A Megatron grid configuration with the experts folded over the tensor-parallel ranks (expert tensor parallelism 1)
/// beside a pipeline whose first rank holds only dense blocks, as DeepSeek-V3's grid winner on 256 DGX H800 was
/// (tp = 2, pp = 16, ep = 32, etp = 1, first = 3 dense layers): read back exactly, so that `plan --emit` writes the
/// configuration the grid priced rather than a nearest layout without tensor parallelism.
@Suite("Experts folded over tensor parallelism, read back beside dense pipeline ranks")
struct FoldedExpertRecognitionTests {
    /// DeepSeek-V3's shape in miniature: latent attention, 2 dense blocks then 3 of 8 routed experts and 1 shared, top-2.
    static func graph() throws -> Graph {
        var configuration = TransformerConfiguration.llama(layers: 5, hidden: 64, heads: 4, keyValueHeads: 4, feedForwardHidden: 128,
                                                           vocabulary: 256, sequenceLength: 32, globalBatch: 16)
        configuration.headDimension = 16
        configuration.latentAttention = .init(queryRank: 32, keyValueRank: 16, positionlessDimension: 16, rotaryDimension: 8)
        configuration.mixtureOfExperts = .init(experts: 8, topK: 2, layerInterval: 1, firstDenseLayers: 2,
                                               dispatch: .permutation(capacityFactor: nil), expertFeedForwardHidden: 32,
                                               sharedExperts: 1, scoring: .sigmoid)
        return try TransformerBuilder(name: "deepseek-mini", configuration: configuration).build()
    }

    @Test("tp = 2, pp = 2 (first rank 2 dense blocks), ep = 4 over dp = 2 and tp = 2 with etp = 1: recognised exactly, exported as it is")
    func denseFirstRankBesideFoldedExperts() throws {
        let graph = try Self.graph()
        let cluster = try Cluster.preset(named: "dgx-h100")
        let configuration = MegatronConfiguration(tensorParallel: 2, pipelineParallel: 2, sequenceParallel: true, expertParallel: 4,
                                                  expertTensorParallel: 1, options: TrainingOptions(gradientPrecision: .bf16),
                                                  firstStageLayers: 2, lastStageLayers: 3)
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-h100", configuration: configuration)
        let recognition = try LayoutRecognition(plan)
        #expect(recognition.isExact, "\(recognition.differences)")
        #expect(recognition.layout.tensorParallel == 2 && recognition.layout.expertParallel == 4
                && recognition.layout.expertTensorParallel == 1 && recognition.layout.dataParallel == 2)
        let export = try FrameworkExport(recognition: recognition, of: plan, prediction: PlanEvaluator(cluster: cluster).evaluate(plan),
                                         framework: .megatron)
        #expect(export.differences.isEmpty, "\(export.differences)")
        #expect(export.text.contains("--tensor-model-parallel-size 2"))
    }

    /// The same configuration as the grid's fastest, on devices of just its peak memory: `plan --emit`'s choice writes
    /// it as it is (before, recognised with tp = 1, its settings needed more than the devices had and were written with
    /// a warning, exit code 0). On devices a byte smaller nothing fits: `plan --emit` (`requiresFit`) has no settings,
    /// an error at --emit, while `score --emit` writes the plan it is given with its warning.
    @Test("plan --emit writes the grid's configuration that fits, and refuses with an error where none does")
    func emitWritesOnlyWhatFits() throws {
        let graph = try Self.graph()
        let configuration = MegatronConfiguration(tensorParallel: 2, pipelineParallel: 2, sequenceParallel: true, expertParallel: 4,
                                                  expertTensorParallel: 1, options: TrainingOptions(gradientPrecision: .bf16),
                                                  firstStageLayers: 2, lastStageLayers: 3)
        func priced(memory: Double?) throws -> (TrainingPlan, PlanPrediction) {
            var cluster = try Cluster.preset(named: "dgx-h100")
            if let memory { cluster.device.memoryBytes = memory }
            let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-h100", configuration: configuration)
            return (plan, PlanEvaluator(cluster: cluster).evaluate(plan))
        }
        let peak = try priced(memory: nil).1.peakMemoryBytesPerDevice
        let (plan, prediction) = try priced(memory: peak)
        #expect(prediction.fitsInMemory)
        let chosen = try FrameworkExport.choosing(plan, prediction: prediction, alternatives: [.grid(plan, prediction: prediction)],
                                                  requiresFit: true, framework: .megatron)
        #expect(chosen.export.prediction.fitsInMemory && chosen.export.layout.tensorParallel == 2)
        #expect(!chosen.export.text.contains("Warning: does not fit"))

        let (tight, tightPrediction) = try priced(memory: peak - 1)
        #expect(!tightPrediction.fitsInMemory)
        #expect(throws: InputError.self) {
            try FrameworkExport.choosing(tight, prediction: tightPrediction, alternatives: [.grid(tight, prediction: tightPrediction)],
                                         moreAlternatives: { [] }, requiresFit: true, framework: .megatron)
        }
        let written = try FrameworkExport.choosing(tight, prediction: tightPrediction, alternatives: [], framework: .megatron)
        #expect(written.export.text.contains("# Warning: does not fit"))
    }

    /// A grid answer of `plan` without --emit lays out ShardPlan's defaults: selective-op recomputation and 16-bit
    /// reductions into an fp32 gradient buffer, neither of which Megatron-LM runs (its buffer is the type it reduces
    /// in). The provenance says so rather than "found by the Megatron grid" alone; under Megatron-LM's own options it
    /// has nothing to add.
    @Test("a grid answer with options Megatron-LM does not run says which")
    func gridProvenanceNamesDepartures() throws {
        let graph = try Self.graph()
        let cluster = try Cluster.preset(named: "dgx-h100")
        func plan(_ options: TrainingOptions) throws -> TrainingPlan {
            try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-h100", configuration: MegatronConfiguration(
                tensorParallel: 2, pipelineParallel: 1, sequenceParallel: true, expertParallel: 4, options: options))
        }
        let plain = try plan(TrainingOptions(recompute: .selectiveOperators))
        #expect(SearchProvenance.megatronDepartures(of: plain) == ["selective-op recomputation", "16-bit gradient reductions into an fp32 buffer"])
        var provenance = SearchProvenance(foundBy: .megatronGrid, stageDynamicProgramSeconds: nil, megatronGridSeconds: 1, searchSeconds: 1,
                                          stoppedEarly: false)
        provenance.departures = SearchProvenance.megatronDepartures(of: plain)
        #expect(provenance.description.hasPrefix("found by the Megatron grid (Megatron-LM's layout, but with selective-op recomputation and 16-bit gradient reductions into an fp32 buffer, which Megatron-LM does not run; --emit megatron searches with its options)"))
        #expect(SearchProvenance.megatronDepartures(of: try plan(TrainingOptions(recompute: .selective, gradientPrecision: .bf16))).isEmpty)
    }
}
