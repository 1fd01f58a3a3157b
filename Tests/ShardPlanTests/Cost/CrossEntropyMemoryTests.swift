import Testing
@testable import ShardPlan

/// An output layer and its loss: `h [1024, 256] -> logits = h w [1024, 4096] -> cross_entropy(logits, labels)`,
/// bf16, one microbatch, so the logits are 4,194,304 elements (8 MiB in bf16).
private func outputLayer() throws -> Graph {
    var builder = GraphBuilder(name: "output-layer")
    let h = try builder.input("h", [1024, 256], .bf16)
    let labels = try builder.input("labels", [1024], .i32)
    let w = try builder.parameter("w", [256, 4096])
    let logits = try builder.einsum("logits", "td,dv->tv", h, w)
    builder.output(try builder.add("loss", .crossEntropy, [logits, labels]))
    return try builder.build()
}

@Suite("What the loss holds in memory")
struct CrossEntropyMemoryTests {
    @Test("per logit: Megatron's losses 4 kept + 2, eager PyTorch over fp32 4 + 8, flash-attn's 2 + 2, torch.compile 2 + 2, llm.c's classifier 2 + 0")
    func perKind() {
        #expect(CrossEntropyMemory(fusion: .fused, fusedKernel: false, logitBytes: 2) == .init(savedBytesPerElement: 4, workingBytesPerElement: 2))
        #expect(CrossEntropyMemory(fusion: .fused, fusedKernel: false, logitBytes: 4) == .init(savedBytesPerElement: 4, workingBytesPerElement: 0))
        #expect(CrossEntropyMemory(fusion: .fused, fusedKernel: true, logitBytes: 2) == .init(savedBytesPerElement: 4, workingBytesPerElement: 2))
        #expect(CrossEntropyMemory(fusion: .eager, fusedKernel: false, logitBytes: 2) == .init(savedBytesPerElement: 4, workingBytesPerElement: 8))
        #expect(CrossEntropyMemory(fusion: .eager, fusedKernel: true, logitBytes: 2) == .init(savedBytesPerElement: 2, workingBytesPerElement: 2))
        #expect(CrossEntropyMemory(fusion: .compiled, fusedKernel: false, logitBytes: 2) == .init(savedBytesPerElement: 2, workingBytesPerElement: 2))
        #expect(CrossEntropyMemory(fusion: .compiled, fusedKernel: true, logitBytes: 2) == .init(savedBytesPerElement: 2, workingBytesPerElement: 0))
        // A fused kernel that writes the gradient over the logits (flash-attn's inplace_backward) keeps only them.
        for fusion in KernelFusionLevel.allCases {
            #expect(CrossEntropyMemory(fusion: fusion, fusedKernel: true, logitBytes: 2, inPlace: true)
                    == .init(savedBytesPerElement: 2, workingBytesPerElement: 0))
        }
        var options = TrainingOptions(fusedCrossEntropy: true)
        options.writesLossGradientInPlace = true
        #expect(options.lossInPlaceConflict == nil && CrossEntropyMemory(options: options, logitBytes: 2) == .init(savedBytesPerElement: 2, workingBytesPerElement: 0))
        options.fusedCrossEntropy = false
        #expect(options.lossInPlaceConflict != nil)
    }

    /// The stage keeps h for the weight's gradient (1024 x 256 x 2 = 524,288 bytes), the loss's share of the
    /// 4,194,304 logits, the labels and the per-row log-sum-exp (1024 x 4 bytes each); the loss's gradient
    /// buffers are the working set of the backward pass.
    @Test("a stage's activations and backward working set follow the loss's kernels")
    func stage() throws {
        let graph = try outputLayer()
        let cluster = try Cluster.preset(named: "single-h100")
        let stage = try StageLayout.unsharded(graph, on: cluster)
        func cost(_ fusion: KernelFusionLevel, fused: Bool = false, eagerLoss: Bool = false) -> (kept: Double, working: Double) {
            let options = TrainingOptions(kernelFusion: fusion, fusedCrossEntropy: fused, eagerLoss: eagerLoss)
            let cost = StageCostModel(graph: graph, kernels: KernelModel(device: cluster.device), options: options, microbatches: 1)
                .cost(of: stage)
            return (cost.activationBytesPerMicrobatch, cost.backwardWorkingBytes)
        }
        let (h, logits, statistics) = (524_288.0, 4_194_304.0, 2 * 4_096.0)
        #expect(cost(.fused) == (h + 4 * logits + statistics, 2 * logits))
        #expect(cost(.fused, fused: true) == (h + 4 * logits + statistics, 2 * logits))
        #expect(cost(.eager) == (h + 4 * logits + statistics, 8 * logits))
        #expect(cost(.eager, fused: true) == (h + 2 * logits + statistics, 2 * logits))
        #expect(cost(.compiled) == (h + 2 * logits + statistics, 2 * logits))
        #expect(cost(.compiled, fused: true) == (h + 2 * logits + statistics, 0))
        // A compiled step whose loss runs eagerly holds what eager PyTorch's loss holds.
        #expect(cost(.compiled, eagerLoss: true) == (h + 4 * logits + statistics, 8 * logits))
    }

    /// The loss of a compiled step is one fused kernel each way (2 bytes a logit forward, 4 backward); left to eager
    /// PyTorch, forward the upcast (2 + 4 bytes a logit), log-softmax (4 + 4) and the NLL's gather, backward the NLL's
    /// zeroed gradient (4) and scatter, log-softmax's backward (4 + 4 + 4) and the cast back (4 + 2), each at the
    /// compiled step's 4 us a launch. Every other op is priced as compiled either way.
    @Test("a compiled step's eager loss: 3 kernels and 14 bytes a logit forward, 4 and 22 backward, at 4 us a launch")
    func eagerLossInACompiledStep() throws {
        let graph = try outputLayer()
        let cluster = try Cluster.preset(named: "single-h100")
        let loss = try #require(graph.operations.firstIndex { $0.name == "loss" })
        let product = try #require(graph.operations.firstIndex { $0.name == "logits" })
        func costs(eagerLoss: Bool) -> (loss: OperatorCost, product: OperatorCost, kernels: KernelModel) {
            let options = TrainingOptions(kernelFusion: .compiled, eagerLoss: eagerLoss)
            let model = StageCostModel(graph: graph, kernels: KernelModel(device: cluster.device), options: options, microbatches: 1)
                .operatorModel(meshShape: [1])
            let unsharded = { (index: Int) in model.cost(index, OpStrategy(indexOfAxis: [nil])) }
            return (unsharded(loss), unsharded(product), model.kernels)
        }
        let (compiled, eager) = (costs(eagerLoss: false), costs(eagerLoss: true))
        let kernels = eager.kernels
        #expect(kernels.launchSeconds == 4e-6 && compiled.kernels.launchSeconds == 4e-6)
        let logits = 4_194_304.0
        let bandwidth = kernels.memoryBandwidth * kernels.memoryEfficiency
        #expect(abs(compiled.loss.forwardSeconds - (4e-6 + 2 * logits / bandwidth)) < 1e-12)
        #expect(abs(compiled.loss.backwardSeconds - (4e-6 + 4 * logits / bandwidth)) < 1e-12)
        #expect(abs(eager.loss.forwardSeconds - (3 * 4e-6 + 14 * logits / bandwidth)) < 1e-12)
        #expect(abs(eager.loss.backwardSeconds - (4 * 4e-6 + 22 * logits / bandwidth)) < 1e-12)
        #expect(eager.product.forwardSeconds == compiled.product.forwardSeconds)
    }

    @Test("a plan with an eager loss writes options.eager_loss, and score --plan replays it; one without a compiled step is refused")
    func eagerLossPlanDocument() throws {
        let graph = try #require(ModelCatalog.model(id: "gpt-tiny")).build()
        let cluster = try Cluster.preset(named: "single-h100")
        let evaluator = PlanEvaluator(cluster: cluster)
        func document(eagerLoss: Bool) throws -> (text: String, prediction: PlanPrediction) {
            let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "single-h100", configuration:
                MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1,
                                      options: TrainingOptions(kernelFusion: .compiled, eagerLoss: eagerLoss)))
            let prediction = evaluator.evaluate(plan)
            return (plan.jsonText(prediction: prediction), prediction)
        }
        let (eager, prediction) = try document(eagerLoss: true)
        #expect(eager.contains("\"eager_loss\": true"))
        #expect(try !document(eagerLoss: false).text.contains("eager_loss"))
        let decoded = try TrainingOptionsFixtures.decode(eager, graph: graph, clusterName: "single-h100")
        #expect(decoded.options.eagerLoss && decoded.options.lossFusion == .eager)
        let replayed = evaluator.evaluate(decoded)
        #expect(replayed.iterationSeconds == prediction.iterationSeconds)
        #expect(replayed.peakMemoryBytesPerDevice == prediction.peakMemoryBytesPerDevice)
        let fused = eager.replacingOccurrences(of: "\"kernel_fusion\": \"compiled\"", with: "\"kernel_fusion\": \"eager\"")
        #expect(fused != eager)
        let error = #expect(throws: InputError.self) { _ = try TrainingOptionsFixtures.decode(fused, graph: graph, clusterName: "single-h100") }
        #expect(error?.path == JSONPath([.key("options"), .key("eager_loss")]))
    }

    /// `cross_entropy` on the 16-bit logits themselves (`--no-loss-upcast`, KempnerForge's loss): the loop's logits
    /// and log-softmax's 16-bit output kept (2 + 2 bytes a logit), the NLL's and log-softmax's 16-bit gradients
    /// (2 + 2) allocated backward; its kernels move log-softmax's read and write (2 + 2) and the NLL's gather forward,
    /// the NLL's zeroed gradient (2) and scatter and log-softmax's backward (2 + 2 + 2) backward, at eager PyTorch's
    /// 10 us a launch.
    @Test("a loss on the 16-bit logits: 4 kept + 4 working bytes a logit, 2 kernels and 4 bytes forward, 3 and 8 backward")
    func lossWithoutUpcast() throws {
        #expect(CrossEntropyMemory(fusion: .eager, fusedKernel: false, logitBytes: 2, upcast: false)
                == .init(savedBytesPerElement: 4, workingBytesPerElement: 4))
        // Only an eager, unfused loss has the choice.
        #expect(CrossEntropyMemory(fusion: .compiled, fusedKernel: false, logitBytes: 2, upcast: false)
                == CrossEntropyMemory(fusion: .compiled, fusedKernel: false, logitBytes: 2))
        let graph = try outputLayer()
        let cluster = try Cluster.preset(named: "single-h100")
        let stage = try StageLayout.unsharded(graph, on: cluster)
        var options = TrainingOptions(kernelFusion: .eager)
        options.upcastsLoss = false
        let model = StageCostModel(graph: graph, kernels: KernelModel(device: cluster.device), options: options, microbatches: 1)
        let cost = model.cost(of: stage)
        let (h, logits, statistics) = (524_288.0, 4_194_304.0, 2 * 4_096.0)
        #expect(cost.activationBytesPerMicrobatch == h + 4 * logits + statistics && cost.backwardWorkingBytes == 4 * logits)
        let loss = try #require(graph.operations.firstIndex { $0.name == "loss" })
        let priced = model.operatorModel(meshShape: [1]).cost(loss, OpStrategy(indexOfAxis: [nil]))
        let kernels = model.kernels
        #expect(kernels.launchSeconds == 10e-6)
        let bandwidth = kernels.memoryBandwidth * kernels.memoryEfficiency
        #expect(abs(priced.forwardSeconds - (2 * 10e-6 + 4 * logits / bandwidth)) < 1e-12)
        #expect(abs(priced.backwardSeconds - (3 * 10e-6 + 8 * logits / bandwidth)) < 1e-12)
        // The options say when the choice is not the loss's to make.
        #expect(options.lossUpcastConflict == nil)
        options.fusedCrossEntropy = true
        #expect(options.lossUpcastConflict?.contains("fused cross-entropy") == true)
        options.fusedCrossEntropy = false
        options.kernelFusion = .compiled
        #expect(options.lossUpcastConflict?.contains("compiled graph") == true)
        options.eagerLoss = true
        #expect(options.lossUpcastConflict == nil)
    }

    @Test("a plan without the loss upcast writes options.loss_upcast false and replays it; one with a compiled loss is refused there")
    func lossUpcastPlanDocument() throws {
        let graph = try #require(ModelCatalog.model(id: "gpt-tiny")).build()
        let cluster = try Cluster.preset(named: "single-h100")
        var options = TrainingOptions(kernelFusion: .eager)
        options.upcastsLoss = false
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "single-h100",
                                             configuration: MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1, options: options))
        let evaluator = PlanEvaluator(cluster: cluster)
        let prediction = evaluator.evaluate(plan)
        let text = plan.jsonText(prediction: prediction)
        #expect(text.contains("\"loss_upcast\": false"))
        let decoded = try TrainingOptionsFixtures.decode(text, graph: graph, clusterName: "single-h100")
        #expect(!decoded.options.upcastsLoss)
        #expect(evaluator.evaluate(decoded).peakMemoryBytesPerDevice == prediction.peakMemoryBytesPerDevice)
        let compiled = text.replacingOccurrences(of: "\"kernel_fusion\": \"eager\"", with: "\"kernel_fusion\": \"compiled\"")
        #expect(compiled != text)
        let error = #expect(throws: InputError.self) { _ = try TrainingOptionsFixtures.decode(compiled, graph: graph, clusterName: "single-h100") }
        #expect(error?.path == JSONPath([.key("options"), .key("loss_upcast")]))
    }

    @Test("a plan whose fused loss writes in place says options.loss_gradient_in_place and replays it; one without a fused loss is refused there")
    func lossInPlacePlanDocument() throws {
        let graph = try #require(ModelCatalog.model(id: "gpt-tiny")).build()
        let cluster = try Cluster.preset(named: "single-h100")
        var options = TrainingOptions(fusedCrossEntropy: true)
        options.writesLossGradientInPlace = true
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "single-h100",
                                             configuration: MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1, options: options))
        let evaluator = PlanEvaluator(cluster: cluster)
        let prediction = evaluator.evaluate(plan)
        // gpt-tiny's 8 sequences in microbatches of one, 32 tokens over 256 logits (8,192 a microbatch): Megatron's fused
        // loss keeps 4 bytes of each and allocates 2 more; in place it keeps their 2 and allocates nothing.
        let fused = evaluator.evaluate(try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "single-h100",
            configuration: MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1, options: TrainingOptions(fusedCrossEntropy: true))))
        #expect(plan.microbatches == 8)
        #expect(fused.stageCosts[0].lossBufferBytes == 2 * 8_192 && prediction.stageCosts[0].lossBufferBytes == 0)
        #expect(fused.stageCosts[0].lossLayerKeptBytes - prediction.stageCosts[0].lossLayerKeptBytes == 2 * 8_192)
        #expect(fused.iterationSeconds == prediction.iterationSeconds)
        let text = plan.jsonText(prediction: prediction)
        #expect(text.contains("\"loss_gradient_in_place\": true"))
        let decoded = try TrainingOptionsFixtures.decode(text, graph: graph, clusterName: "single-h100")
        #expect(decoded.options.writesLossGradientInPlace)
        #expect(evaluator.evaluate(decoded).peakMemoryBytesPerDevice == prediction.peakMemoryBytesPerDevice)
        let unfused = text.replacingOccurrences(of: "\"fused_cross_entropy\": true", with: "\"fused_cross_entropy\": false")
        #expect(unfused != text)
        let error = #expect(throws: InputError.self) { _ = try TrainingOptionsFixtures.decode(unfused, graph: graph, clusterName: "single-h100") }
        #expect(error?.path == JSONPath([.key("options"), .key("loss_gradient_in_place")]))
        // Megatron-Core's fused loss does not write in place: its settings say so.
        let export = try FrameworkExport(plan: plan, prediction: prediction, framework: .megatron)
        #expect(export.differences.contains { $0.contains("keeps its fp32 softmax") }, "\(export.differences)")
    }
}
