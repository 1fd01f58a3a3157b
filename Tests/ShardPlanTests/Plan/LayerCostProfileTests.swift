import Testing
@testable import ShardPlan

@Suite("Layer cost profiles: any range of layers priced from single layers and adjacent pairs")
struct LayerCostProfileTests {
    /// A model and cluster, Megatron's layout with sequence parallelism on a [2, 4] view.
    static func setting(_ model: String, microbatches: Int = 2) throws -> (StageCostModel, LayerClustering, DeviceMesh, [[OpStrategy]], Cluster) {
        let graph = try ModelCatalog.model(id: model)!.build()
        let cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        let clustering = LayerClustering(GraphAnalysis(graph), smallLayerFraction: 0)
        let mesh = try DeviceMesh(devices: Array(0 ..< 8), shape: [2, 4], in: cluster)
        let strategies = MegatronLayout(sequenceParallel: true).strategies(for: graph, meshShape: [2, 4])
        let model = StageCostModel(graph: graph, kernels: KernelModel(device: cluster.device), options: TrainingOptions(), microbatches: microbatches)
        return (model, clustering, mesh, clustering.layers.map { Array(strategies[$0.operations]) }, cluster)
    }

    static func close(_ a: Double, _ b: Double) -> Bool { abs(a - b) <= 1e-9 * max(abs(a), abs(b), 1e-12) }

    @Test("every range of layers that does not hold both ends of a tied embedding costs what the model prices for it",
          arguments: [("gpt-tiny", RecomputeMode?.none, 0), ("llama-tiny", nil, 1), ("gpt-tiny", .full, 3), ("llama-tiny", .selective, 2)])
    func composedEqualsExact(model name: String, recompute: RecomputeMode?, zeroStage: Int) throws {
        let (model, clustering, mesh, plain, cluster) = try Self.setting(name)
        let layouts = plain.map { $0.map { OpStrategy(indexOfAxis: $0.indexOfAxis, zeroStage: zeroStage) } }
        let profile = LayerCostProfile(model: model, clustering: clustering, mesh: mesh, layouts: layouts, recompute: recompute,
                                       cluster: cluster, neighbour: 0)
        let count = clustering.layers.count
        if zeroStage == 3 {
            // ZeRO-3 over the view's data-parallel axis gathers two layers' weights at once.
            #expect(profile.summary(layers: 1 ..< 3).gatheredWeightBytes > profile.summary(layers: 1 ..< 2).gatheredWeightBytes)
        }
        for first in 0 ..< count {
            for last in first ..< count where !(first == 0 && last == count - 1) {
                let composed = profile.summary(layers: first ..< last + 1)
                let exact = StageCostSummary(model.cost(of: StageLayout(
                    operations: clustering.operations(of: first ..< last + 1), mesh: mesh,
                    strategies: Array(layouts[first ... last].joined()), recompute: recompute)))
                for (label, a, b) in [("forward", composed.forwardSeconds, exact.forwardSeconds),
                                      ("backward", composed.backwardSeconds, exact.backwardSeconds),
                                      ("synchronization", composed.synchronizationSeconds, exact.synchronizationSeconds),
                                      ("optimizer", composed.optimizerSeconds, exact.optimizerSeconds),
                                      ("model state", composed.modelStateBytes, exact.modelStateBytes),
                                      ("activations", composed.activationBytesPerMicrobatch, exact.activationBytesPerMicrobatch),
                                      ("working set", composed.backwardWorkingBytes, exact.backwardWorkingBytes),
                                      ("gathered weights", composed.gatheredWeightBytes, exact.gatheredWeightBytes),
                                      ("unsharded gradients", composed.unshardedGradientBytes, exact.unshardedGradientBytes)] {
                    #expect(Self.close(a, b), "\(name) layers \(first)...\(last) \(label): composed \(a), exact \(b)")
                }
            }
        }
    }
}
