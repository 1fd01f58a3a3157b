import Testing
@testable import ShardPlan

/// An fp32 residual stream (`TransformerConfiguration.residualDType`) on every family the builder makes: the graph
/// builds, round-trips through JSON, keeps its parameter count, and prices under tensor, pipeline, context and
/// expert parallelism with fp32 weights.
@Suite("fp32 residual stream across families")
struct ResidualDTypeTests {
    static func families() -> [(String, TransformerConfiguration)] {
        let gpt = TransformerConfiguration.gpt(layers: 4, hidden: 64, heads: 4, vocabulary: 512, sequenceLength: 128, globalBatch: 16)
        let llama = TransformerConfiguration.llama(layers: 4, hidden: 64, heads: 4, keyValueHeads: 2, feedForwardHidden: 176,
                                                   vocabulary: 512, sequenceLength: 128, globalBatch: 16)
        let bert = TransformerConfiguration.bert(layers: 4, hidden: 64, heads: 4, vocabulary: 512, sequenceLength: 128, globalBatch: 16)
        var explicit = gpt
        explicit.attentionImplementation = .explicit
        var moe = llama
        moe.mixtureOfExperts = .init(experts: 8, topK: 2, layerInterval: 1, dispatch: .permutation(capacityFactor: nil),
                                     expertFeedForwardHidden: 32, auxiliaryLossWeight: 0.01)
        var gshard = gpt
        gshard.mixtureOfExperts = .init(experts: 8, capacity: 16, layerInterval: 2)
        var latent = llama
        latent.heads = 4
        latent.keyValueHeads = 4
        latent.headDimension = 16
        latent.latentAttention = .init(queryRank: 32, keyValueRank: 16, positionlessDimension: 16, rotaryDimension: 8)
        return [("gpt", gpt), ("llama", llama), ("bert", bert), ("explicit", explicit), ("moe", moe), ("gshard", gshard),
                ("latent", latent)]
    }

    @Test("every family builds with an fp32 residual stream, round-trips and keeps its parameters")
    func builds() throws {
        for (name, base) in Self.families() {
            var configuration = base
            configuration.residualDType = .f32
            let graph = try TransformerBuilder(name: name, configuration: configuration).build()
            let reference = try TransformerBuilder(name: name, configuration: base).build()
            #expect(graph.parameters.map { graph[$0].type.elementCount } == reference.parameters.map { reference[$0].type.elementCount }, "\(name)")
            #expect(try Graph(jsonBytes: Array(graph.jsonText.utf8)) == graph, "\(name)")
            // Every residual add is fp32, every contraction reads 16-bit operands.
            for operation in graph.operations where operation.name.hasSuffix(".residual") {
                #expect(graph[operation.result].type.dtype == .f32, "\(name) \(operation.name)")
            }
            for operation in graph.operations where operation.op.isContraction {
                for input in operation.inputs {
                    #expect(graph[input].type.dtype == .bf16, "\(name) \(operation.name) reads \(graph[input].name)")
                }
            }
        }
    }

    @Test("every family prices with an fp32 residual stream and fp32 weights under tp, pp, cp and ep")
    func prices() throws {
        let cluster = try Cluster.preset(named: "dgx-h100")
        for (name, base) in Self.families() {
            var configuration = base
            configuration.residualDType = .f32
            let graph = try TransformerBuilder(name: name, configuration: configuration).build()
            let reference = try TransformerBuilder(name: name, configuration: base).build()
            var layouts: [MegatronConfiguration] = [
                MegatronConfiguration(tensorParallel: 2, pipelineParallel: 2, dataParallel: 2, microBatchSize: 2, sequenceParallel: true,
                                      options: TrainingOptions(recompute: .selective, zeroStage: 1, optimizerState: .fp32Weights)),
                MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1, dataParallel: 8, microBatchSize: 1,
                                      options: TrainingOptions(recompute: .full, zeroStage: 3, optimizerState: .fp32Weights)),
            ]
            if base.causal && base.latentAttention == nil {
                layouts.append(MegatronConfiguration(tensorParallel: 2, pipelineParallel: 1, dataParallel: 2, microBatchSize: 1,
                                                     contextParallel: 2,
                                                     options: TrainingOptions(zeroStage: 1, optimizerState: .fp32Weights)))
            }
            if base.mixtureOfExperts != nil {
                layouts.append(MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1, dataParallel: 8, microBatchSize: 1,
                                                     expertParallel: 4,
                                                     options: TrainingOptions(zeroStage: 1, optimizerState: .fp32Weights)))
            }
            for layout in layouts {
                let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-h100", configuration: layout)
                let prediction = PlanEvaluator(cluster: cluster).evaluate(plan)
                let bf16Plan = try TrainingPlan.megatron(graph: reference, cluster: cluster, clusterName: "dgx-h100", configuration: layout)
                let bf16 = PlanEvaluator(cluster: cluster).evaluate(bf16Plan)
                #expect(prediction.iterationSeconds.isFinite && prediction.iterationSeconds > 0, "\(name) \(layout)")
                #expect(prediction.iterationSeconds >= bf16.iterationSeconds, "\(name) \(layout)")
                #expect(prediction.peakMemoryBytesPerDevice >= bf16.peakMemoryBytesPerDevice, "\(name) \(layout)")
            }
        }
    }
}
