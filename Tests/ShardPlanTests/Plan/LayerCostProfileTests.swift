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
                let exact = StageCostSummary(model.cost(of: StageLayout(
                    operations: clustering.operations(of: first ..< last + 1), mesh: mesh,
                    strategies: Array(layouts[first ... last].joined()), recompute: recompute)))
                Self.expectClose(profile.summary(layers: first ..< last + 1), exact, "\(name) layers \(first)...\(last)")
            }
        }
    }

    /// Expects every figure of `composed` to be `exact`'s.
    static func expectClose(_ composed: StageCostSummary, _ exact: StageCostSummary, _ label: String) {
        for (figure, a, b) in [("forward", composed.forwardSeconds, exact.forwardSeconds),
                               ("backward", composed.backwardSeconds, exact.backwardSeconds),
                               ("synchronization", composed.synchronizationSeconds, exact.synchronizationSeconds),
                               ("optimizer", composed.optimizerSeconds, exact.optimizerSeconds),
                               ("model state", composed.modelStateBytes, exact.modelStateBytes),
                               ("activations", composed.activationBytesPerMicrobatch, exact.activationBytesPerMicrobatch),
                               ("working set", composed.transientMemory.backwardWorkingBytes, exact.transientMemory.backwardWorkingBytes),
                               ("transient", composed.transientMemory.bytes, exact.transientMemory.bytes),
                               ("gathered weights", composed.gatheredWeightBytes, exact.gatheredWeightBytes),
                               ("unsharded gradients", composed.unshardedGradientBytes, exact.unshardedGradientBytes)] {
            #expect(close(a, b), "\(label) \(figure): composed \(a), exact \(b)")
        }
    }

    /// A Llama of six identical blocks (hidden 64, 32 tokens, 8 sequences), Megatron's layout with sequence
    /// parallelism on a [2, 4] view of a DGX A100, and a model that reruns `blocks` blocks of each stage.
    static func llamaSix(blocks: Int?) throws -> (StageCostModel, GraphAnalysis, DeviceMesh, [OpStrategy], Cluster) {
        let configuration = TransformerConfiguration.llama(layers: 6, hidden: 64, heads: 4, keyValueHeads: 2, feedForwardHidden: 176,
                                                            vocabulary: 256, sequenceLength: 32, globalBatch: 8)
        let graph = try TransformerBuilder(name: "llama-six", configuration: configuration).build()
        let cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        let mesh = try DeviceMesh(devices: Array(0 ..< 8), shape: [2, 4], in: cluster)
        let model = StageCostModel(graph: graph, kernels: KernelModel(device: cluster.device),
                                   options: TrainingOptions(recompute: .full, recomputedBlocks: blocks), microbatches: 2)
        return (model, GraphAnalysis(graph), mesh, MegatronLayout(sequenceParallel: true).strategies(for: graph, meshShape: [2, 4]), cluster)
    }

    /// Under full recomputation of each stage's first blocks, a stage's figures lie between those of every block
    /// rerun and of none, by the share of its blocks rerun (`BlockRecomputationShare`): exact for a model of
    /// identical blocks, checked against the model's own price of every range of a six-block Llama.
    @Test("a stage's first blocks rerun: every range costs what the model prices for it", arguments: [1, 2, 4])
    func firstBlocksComposedEqualsExact(blocks: Int) throws {
        let (model, analysis, mesh, strategies, cluster) = try Self.llamaSix(blocks: blocks)
        let clustering = LayerClustering(analysis, smallLayerFraction: 0)
        let layouts = clustering.layers.map { Array(strategies[$0.operations]) }
        let profile = LayerCostProfile(model: model, clustering: clustering, mesh: mesh, layouts: layouts, recompute: nil,
                                       cluster: cluster, neighbour: 0)
        let count = clustering.layers.count
        #expect(count == 8, "the embedding, six blocks and the head")
        for first in 0 ..< count {
            for last in first ..< count {
                let exact = StageCostSummary(model.cost(of: StageLayout(
                    operations: clustering.operations(of: first ..< last + 1), mesh: mesh,
                    strategies: Array(layouts[first ... last].joined()))))
                Self.expectClose(profile.summary(layers: first ..< last + 1), exact, "\(blocks) blocks, layers \(first)...\(last)")
            }
        }
    }

    /// Where clustered layers hold two blocks each, the split can fall inside one: the stage's figures are taken
    /// between those of every block rerun and of none, by the share rerun, within a few percent of the exact price
    /// (the first block's rerun costs less than the others': it reads the embedding's output as it arrives).
    @Test("layers of two blocks: a split inside a layer prices the share rerun", arguments: [1, 2, 3])
    func firstBlocksOfCoarseLayers(blocks: Int) throws {
        let (model, analysis, mesh, strategies, cluster) = try Self.llamaSix(blocks: blocks)
        #expect(analysis.layers.count == 8)
        let clustering = LayerClustering(groups: [0 ..< 1, 1 ..< 3, 3 ..< 5, 5 ..< 7, 7 ..< 8], of: analysis)
        let layouts = clustering.layers.map { Array(strategies[$0.operations]) }
        let profile = LayerCostProfile(model: model, clustering: clustering, mesh: mesh, layouts: layouts, recompute: nil,
                                       cluster: cluster, neighbour: 0)
        for (first, last) in [(1, 3), (0, 4), (2, 3)] {
            let operations = clustering.operations(of: first ..< last + 1)
            let strategies = Array(layouts[first ... last].joined())
            let composed = profile.summary(layers: first ..< last + 1)
            func price(_ count: Int?) -> StageCost {
                var options = model.options
                options.recomputedBlocks = count
                return model.with(options: options).cost(of: StageLayout(operations: operations, mesh: mesh, strategies: strategies))
            }
            let (exact, every, none) = (price(blocks), price(nil), price(0))
            for (label, a, b, low, high) in [
                ("backward", composed.backwardSeconds, exact.backwardSeconds, none.backwardSeconds, every.backwardSeconds),
                ("activations", composed.activationBytesPerMicrobatch, exact.activationBytesPerMicrobatch,
                 every.activationBytesPerMicrobatch, none.activationBytesPerMicrobatch)] {
                #expect(low * (1 - 1e-9) <= a && a <= high * (1 + 1e-9), "\(blocks) blocks, layers \(first)...\(last) \(label): \(a) outside \(low)...\(high)")
                #expect(abs(a / b - 1) < 0.06, "\(blocks) blocks, layers \(first)...\(last) \(label): composed \(a), exact \(b)")
            }
        }
    }
}
