import Testing
@testable import ShardPlan

/// ZeRO-3 shard groups (`TrainingOptions.zeroShardGroup`, FSDP's HYBRID_SHARD): which axes shard, what each device
/// holds, and what the groups send.
@Suite("Hybrid sharding")
struct HybridShardingTests {
    @Test("the group is the innermost batch axes that make it; the replicas the outer ones; every other partial axis shards")
    func innermostBatchAxesMakeTheGroup() {
        let shape = [4, 2, 8, 2]
        func split(_ axes: [Int], batch: [Int], _ group: Int) -> (shard: [Int], replicas: [Int])? {
            HybridSharding.split(dataParallelAxes: axes, batchAxes: batch, meshShape: shape, group: group)
        }
        #expect(split([0, 2], batch: [0, 2], 8)! == ([2], [0]))
        #expect(split([2, 0], batch: [2, 0], 32)! == ([0, 2], []))
        #expect(split([0, 1, 2], batch: [0, 1, 2], 16)! == ([1, 2], [0]))
        #expect(split([0, 2], batch: [0, 2], 1)! == ([], [0, 2]))
        // A context or tensor axis the gradient is also partial over (a split sequence) is sharded, not counted in
        // the group: torchtitan's FSDP spans dp_shard x cp.
        #expect(split([0, 1, 3], batch: [0, 1], 2)! == ([1, 3], [0]))
        #expect(split([0, 1, 3], batch: [0, 1], 8)! == ([0, 1, 3], []))
        #expect(split([0, 1, 3], batch: [0, 1], 1)! == ([3], [0, 1]))
        // Oracle: the groups the batch axes can make are the products of their innermost runs, and nothing else.
        for group in 1 ... 80 {
            let made = [1, 8, 32].contains(group)
            #expect((split([0, 2, 3], batch: [0, 2], group) != nil) == made, "\(group)")
        }
    }

    /// gpt-tiny as pure data parallelism over one DGX A100 with ZeRO-3 shard groups of `group` (nil: one group).
    static func tinyGPT(group: Int?, zeroStage: Int = 3) throws -> (plan: TrainingPlan, prediction: PlanPrediction) {
        let graph = try #require(ModelCatalog.model(id: "gpt-tiny")).build()
        let cluster = try Cluster.preset(named: "dgx-a100-80g")
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g", configuration: MegatronConfiguration(
            tensorParallel: 1, pipelineParallel: 1, dataParallel: 8, options: TrainingOptions(zeroStage: zeroStage, zeroShardGroup: group)))
        return (plan, PlanEvaluator(cluster: cluster).evaluate(plan))
    }

    /// gpt-tiny's parameters (PlanMemoryCostTests): embeddings 36,864 bytes in bf16, each layer 99,968, the final
    /// norm 256. Groups of 4 on a `[2, 4, 1]` mesh: the gathers and reduce-scatters run inside the group (axis 1),
    /// and each reduce-scatter's quarter is all-reduced between the 2 groups (axis 0).
    @Test("gpt-tiny in 2 groups of 4: state sharded 4 ways, the same gathers and reduce-scatters inside each group, a quarter all-reduced across")
    func twoGroupsOfFour() throws {
        let (plan, prediction) = try Self.tinyGPT(group: 4)
        #expect(plan.stages[0].mesh.shape == [2, 4, 1])
        let cost = prediction.stageCosts[0]
        let gathered: Double = 2 * 36864 + 4 * 99968 + 256, reduced: Double = 36864 + 2 * 99968 + 256
        #expect(abs((cost.communicationBytes[.allGather] ?? 0) - gathered) <= 1e-6)
        #expect(abs((cost.communicationBytes[.reduceScatter] ?? 0) - reduced) <= 1e-6)
        // Beyond the loss's scalar, which every plan all-reduces over the data-parallel axes.
        let whole = try Self.tinyGPT(group: nil).prediction
        let scalar = whole.stageCosts[0].communicationBytes[.allReduce] ?? 0
        #expect(scalar <= 8)
        #expect(abs((cost.communicationBytes[.allReduce] ?? 0) - scalar - reduced / 4) <= 1e-6)
        #expect(abs((cost.communicationBytesByAxes[[1]]?[.allGather] ?? 0) - gathered) <= 1e-6)
        #expect(abs((cost.communicationBytesByAxes[[0]]?[.allReduce] ?? 0) - reduced / 4) <= 1e-6)
        #expect(cost.gradientSynchronizationBytes.isEmpty)
        // Weights: a quarter of every parameter's 2 bytes, plus two gathered layers.
        let parameters = Double(PlanMemoryCostTests.expectedParameters)
        #expect(abs(prediction.ranks[0].weightBytes - (2 * parameters / 4 + 2 * 99968)) <= 1e-6)
        // Twice the optimizer state of one group of 8.
        #expect(abs(prediction.ranks[0].optimizerStateBytes - 2 * whole.ranks[0].optimizerStateBytes) <= 1e-6)
        // The reduce-scatter's stream also carries the all-reduce, so the groups take longer than one group: a
        // layer's reduce is its reduce-scatter over the group of 4 and the all-reduce of its 24,992-byte quarter over
        // the 2 groups.
        #expect(prediction.iterationSeconds > whole.iterationSeconds)
        let mesh = plan.stages[0].mesh
        let unit = StageCostModel.ShardedUnit(layer: "h0", axes: [1], replicaAxes: [0], gatherBytes: 99968, reduceBytes: 99968)
        #expect(unit.shardBytes(on: mesh) == 24992)
        let expected = mesh.seconds(for: Collective(.reduceScatter, axes: [1], bytes: 99968))
            + mesh.seconds(for: Collective(.allReduce, axes: [0], bytes: 24992))
        #expect(abs(unit.reduce(on: mesh).seconds - expected) <= 1e-15)
        var whole8 = unit
        whole8.replicaAxes = []
        #expect(whole8.reduce(on: mesh).seconds == mesh.seconds(for: Collective(.reduceScatter, axes: [1], bytes: 99968)))
    }

    @Test("one group of every data-parallel device is ZeRO-3; groups of one device are plain data parallelism")
    func extremeGroups() throws {
        let whole = try Self.tinyGPT(group: 8).prediction, zero3 = try Self.tinyGPT(group: nil).prediction
        #expect(whole.iterationSeconds == zero3.iterationSeconds && whole.peakMemoryBytesPerDevice == zero3.peakMemoryBytesPerDevice)
        let single = try Self.tinyGPT(group: 1).prediction, replicated = try Self.tinyGPT(group: nil, zeroStage: 0).prediction
        #expect(abs(single.iterationSeconds - replicated.iterationSeconds) <= 1e-12)
        #expect(single.peakMemoryBytesPerDevice == replicated.peakMemoryBytesPerDevice)
    }

    /// gpt-tiny on one DGX A100 with tensor and sequence parallelism or context parallelism (tp or cp 2, dp 4)
    /// under ZeRO-3 with shard groups of `group`.
    static func splitSequence(tensor: Int, context: Int, group: Int?) throws -> PlanPrediction {
        let graph = try #require(ModelCatalog.model(id: "gpt-tiny")).build()
        let cluster = try Cluster.preset(named: "dgx-a100-80g")
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g", configuration: MegatronConfiguration(
            tensorParallel: tensor, pipelineParallel: 1, dataParallel: 4, sequenceParallel: tensor > 1, contextParallel: context,
            options: TrainingOptions(zeroStage: 3, zeroShardGroup: group)))
        return PlanEvaluator(cluster: cluster).evaluate(plan)
    }

    @Test("with a split sequence (tp 2 and sequence parallelism, or cp 2) groups count data-parallel ranks: one group of all is ZeRO-3, 2 groups of 2 hold more")
    func splitSequences() throws {
        for (tensor, context) in [(2, 1), (1, 2)] {
            let whole = try Self.splitSequence(tensor: tensor, context: context, group: 4)
            let zero3 = try Self.splitSequence(tensor: tensor, context: context, group: nil)
            #expect(whole.iterationSeconds == zero3.iterationSeconds && whole.peakMemoryBytesPerDevice == zero3.peakMemoryBytesPerDevice)
            let halves = try Self.splitSequence(tensor: tensor, context: context, group: 2)
            // Adam state sharded over 2 data-parallel ranks (times the sequence axis) instead of 4.
            #expect(abs(halves.ranks[0].optimizerStateBytes - 2 * zero3.ranks[0].optimizerStateBytes) <= 1e-6)
            #expect((halves.stageCosts[0].communicationBytesByAxes[[0]]?[.allReduce] ?? 0) > 0)
        }
    }

    @Test("a shard group needs ZeRO-3, must divide the data-parallel ranks and cannot share them with experts")
    func refusedGroups() throws {
        for (group, zero, expected) in [(4, 2, "the ZeRO stage is 2, not 3"), (3, 3, "a shard group of 3 does not divide the 8 data-parallel ranks")] {
            let error = #expect(throws: InputError.self) { try Self.tinyGPT(group: group, zeroStage: zero) }
            #expect(error?.path.description == "options.zero_shard_group" && error?.message.contains(expected) == true, "\(error?.message ?? "")")
        }
        let graph = try #require(ModelCatalog.model(id: "gpt-tiny")).build()
        let cluster = try Cluster.preset(named: "dgx-a100-80g")
        let moe = try #require(ModelCatalog.model(id: "moe-tiny")).build()
        let experts = #expect(throws: InputError.self) {
            try TrainingPlan.megatron(graph: moe, cluster: cluster, clusterName: "dgx-a100-80g", configuration: MegatronConfiguration(
                tensorParallel: 1, pipelineParallel: 1, dataParallel: 8, expertParallel: 2,
                options: TrainingOptions(zeroStage: 3, zeroShardGroup: 4)))
        }
        #expect(experts?.message.contains("does not lay out hybrid sharding's groups beside expert parallelism") == true)
        let planner = PipelinePlanner(graph: graph, cluster: try Cluster.preset(named: "dgx-a100-80g"), clusterName: "dgx-a100-80g",
                                      options: TrainingOptions(zeroStage: 3, zeroShardGroup: 4))
        let error = #expect(throws: InputError.self) { try planner.plan() }
        #expect(error?.message.contains("score a layout with ZeRO-3 shard groups") == true)
    }

    @Test("a plan document keeps its shard group, and one its stages cannot make is refused at options.zero_shard_group")
    func planDocument() throws {
        let (plan, prediction) = try Self.tinyGPT(group: 4)
        let document = plan.json(prediction: prediction)
        guard case .object(let top) = document, case .object(let options)? = top["options"] else { Issue.record("no options"); return }
        #expect(options["zero_shard_group"] == .int(4))
        let read = try TrainingPlan(json: document, graph: plan.graph, cluster: plan.cluster, clusterName: plan.clusterName)
        #expect(read.options.zeroShardGroup == 4)
        #expect(PlanEvaluator(cluster: plan.cluster).evaluate(read).iterationSeconds == prediction.iterationSeconds)
        for (group, zero, message) in [(3, 3, "make no group of 3 devices"), (4, 1, "the ZeRO stage is 1, not 3"),
                                       (0, 3, "at least 1 device")] {
            var edited = options, changed = top
            edited["zero_shard_group"] = .int(group)
            edited["zero_stage"] = .int(zero)
            changed["options"] = .object(edited)
            let error = #expect(throws: InputError.self) {
                try TrainingPlan(json: .object(changed), graph: plan.graph, cluster: plan.cluster, clusterName: plan.clusterName)
            }
            #expect(error?.path.description == "options.zero_shard_group" && error?.message.contains(message) == true,
                    "\(error?.message ?? "")")
        }
    }

    /// A saved plan without data parallelism (tp 4, pp 2 on 8 devices) has no data-parallel devices to shard over: a
    /// group of more than one is refused at its option, as `--zero-shard-group` refuses it against `--dp 1`; before,
    /// it was priced and every `--emit` then failed on its own nearest layout (found by fuzzing saved plans).
    @Test("a saved plan without data parallelism refuses a shard group above 1 at options.zero_shard_group")
    func groupWithoutDataParallelism() throws {
        let graph = try #require(ModelCatalog.model(id: "gpt-tiny")).build()
        let cluster = try Cluster.preset(named: "dgx-a100-80g")
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g", configuration: MegatronConfiguration(
            tensorParallel: 4, pipelineParallel: 2, dataParallel: 1, options: TrainingOptions(zeroStage: 3)))
        guard case .object(var top) = plan.json(prediction: PlanEvaluator(cluster: cluster).evaluate(plan)),
              case .object(var options)? = top["options"] else { Issue.record("no options"); return }
        for group in [1, 8] {
            options["zero_shard_group"] = .int(group)
            top["options"] = .object(options)
            let decode = { try TrainingPlan(json: .object(top), graph: graph, cluster: cluster, clusterName: "dgx-a100-80g") }
            if group == 1 {
                #expect(try decode().options.zeroShardGroup == 1)
            } else {
                let error = #expect(throws: InputError.self) { try decode() }
                #expect(error?.path.description == "options.zero_shard_group"
                        && error?.message.contains("no stage reduces a parameter's gradients over data-parallel devices") == true,
                        "\(error?.message ?? "")")
            }
        }
    }
}

/// Shard groups written for each framework: torchtitan runs them (HSDP), the others shard over every rank. The
/// plans are torchtitan's stack (eager kernels, fp32 weights and reductions, FSDP2's copy-out), which it runs as they are.
@Suite("Framework settings with ZeRO-3 shard groups")
struct HybridShardingExportTests {
    @Test("gpt-tiny in 2 groups of 4: torchtitan's data_parallel_replicate_degree 2 and shard degree 4; Megatron-LM and NeMo shard over all 8")
    func shardGroups() throws {
        let (recognition, exports) = try ContextAndExpertExportTests.export(model: "gpt-tiny", MegatronConfiguration(
            tensorParallel: 1, pipelineParallel: 1, dataParallel: 8,
            options: TrainingOptions(zeroStage: 3, overlapGradientReduction: true, kernelFusion: .eager,
                                     optimizerState: .fp32Weights, reduceGradientsInFP32: true, copiesOutGatheredParameters: true,
                                     zeroShardGroup: 4)))
        #expect(recognition.isExact, "\(recognition.differences)")
        #expect(recognition.layout.configuration.options.zeroShardGroup == 4 && recognition.layout.dataParallel == 8)
        let titan = try #require(exports[.torchtitan])
        #expect(titan.differences.isEmpty, "\(titan.differences)")
        #expect(titan.text.contains("data_parallel_replicate_degree = 2\ndata_parallel_shard_degree = 4"))
        // With tensor parallelism torchtitan splits the sequence too; the groups stay data-parallel ranks.
        let (_, parallel) = try ContextAndExpertExportTests.export(model: "gpt-tiny", MegatronConfiguration(
            tensorParallel: 2, pipelineParallel: 1, dataParallel: 4, sequenceParallel: true,
            options: TrainingOptions(zeroStage: 3, overlapGradientReduction: true, kernelFusion: .eager,
                                     optimizerState: .fp32Weights, reduceGradientsInFP32: true, copiesOutGatheredParameters: true,
                                     zeroShardGroup: 2)))
        let titan2 = try #require(parallel[.torchtitan])
        #expect(titan2.differences.isEmpty, "\(titan2.differences)")
        #expect(titan2.text.contains("data_parallel_replicate_degree = 2\ndata_parallel_shard_degree = 2"))
        for framework in [TrainingFramework.megatron, .nemo] {
            let export = try #require(exports[framework])
            #expect(export.layout.configuration.options.zeroShardGroup == nil)
            #expect(export.differences.contains { $0.contains("the plan's shard groups of 4 become one group of all of them") })
        }
    }
}
