import Testing
@testable import ShardPlan

/// ZeRO-3 / FSDP: per-layer gathers and reduce-scatters on a communication stream beside the compute.
@Suite("ZeRO-3 schedule")
struct ShardedParameterScheduleTests {
    @Test("compute-bound: only the first gather and the last reduce-scatter wait")
    func computeBound() {
        // Three layers of 10 s forward and 20 s backward; gathers and reduce-scatters of 5 s; the last layer stays
        // gathered into its backward pass. Forward: gather 0-5, layers at 5-15, 15-25, 25-35 (the next gathers at
        // 5-10 and 15-20 hide). Backward from 35: layer 2 at 35-55 (gathering layer 1 at 35-40), its reduce-scatter
        // 55-60; layer 1 at 55-75 (gather 60-65, reduce-scatter 75-80); layer 0 at 75-95, reduce-scatter 95-100.
        let run = ShardedParameterSchedule.Run(forwardSeconds: 10, backwardSeconds: 20, forwardGatherSeconds: 5,
                                                backwardGatherSeconds: 5, reduceScatterSeconds: 5)
        var last = run
        last.backwardGatherSeconds = 0
        let schedule = ShardedParameterSchedule(runs: [run, run, last])
        #expect(schedule.forwardSeconds == 35 && schedule.exposedForwardSeconds == 5)
        #expect(schedule.backwardSeconds == 65 && schedule.exposedBackwardSeconds == 5)
    }

    @Test("communication-bound: what a layer's collectives take beyond its compute is exposed")
    func communicationBound() {
        // Two layers of 2 s forward, 4 s backward; gathers and reduce-scatters of 10 s. Forward: gather 0-10, layer 0
        // at 10-12, layer 1's gather 10-20, layer 1 at 20-22: 22 s, 18 exposed. Backward from 22: layer 1 at 22-26
        // (gathering layer 0 at 22-32), its reduce-scatter 32-42; layer 0 at 32-36, reduce-scatter 42-52: 30 s, 22
        // exposed.
        let first = ShardedParameterSchedule.Run(forwardSeconds: 2, backwardSeconds: 4, forwardGatherSeconds: 10,
                                                  backwardGatherSeconds: 10, reduceScatterSeconds: 10)
        let last = ShardedParameterSchedule.Run(forwardSeconds: 2, backwardSeconds: 4, forwardGatherSeconds: 10,
                                                 backwardGatherSeconds: 0, reduceScatterSeconds: 10)
        let schedule = ShardedParameterSchedule(runs: [first, last])
        #expect(schedule.forwardSeconds == 22 && schedule.exposedForwardSeconds == 18)
        #expect(schedule.backwardSeconds == 30 && schedule.exposedBackwardSeconds == 22)
    }

    @Test("collectives slow the compute beside them by the contention fraction")
    func contention() {
        // The compute-bound case with compute 20% slower while a collective runs. Forward: gather 0-5; layer 0 from 5
        // beside layer 1's gather (5-10): 10 + 0.2 x 5 = 11 s, to 16; layer 1 from 16 beside layer 2's gather
        // (16-21): to 27; layer 2 alone, 27-37: 37 s, 7 exposed (the first gather and 2 s of slowdown). Backward
        // from 37: layer 2 beside layer 1's gather (37-42): 21 s, to 58, its reduce-scatter 58-63; layer 1 from 58
        // beside that reduce-scatter and layer 0's gather (63-68): 20 + 0.2 x 10 = 22 s, to 80, reduce-scatter
        // 80-85; layer 0 from 80 beside it: 21 s, to 101, reduce-scatter 101-106: 69 s, 9 exposed.
        let run = ShardedParameterSchedule.Run(forwardSeconds: 10, backwardSeconds: 20, forwardGatherSeconds: 5,
                                                backwardGatherSeconds: 5, reduceScatterSeconds: 5)
        var last = run
        last.backwardGatherSeconds = 0
        let schedule = ShardedParameterSchedule(runs: [run, run, last], computeSlowdown: 0.2)
        #expect(abs(schedule.forwardSeconds - 37) < 1e-9 && abs(schedule.exposedForwardSeconds - 7) < 1e-9)
        #expect(abs(schedule.backwardSeconds - 69) < 1e-9 && abs(schedule.exposedBackwardSeconds - 9) < 1e-9)
        #expect(abs(schedule.slowdownSeconds - 6) < 1e-9)
        // Without contention the same runs hide all but the first gather and the last reduce-scatter.
        #expect(ShardedParameterSchedule(runs: [run, run, last]).slowdownSeconds == 0)
    }

    /// Two runs of 10 s forward compute, each gathered for 10 s before its forward pass (no backward pass, no
    /// reduce-scatter). The second run's gather (10-20) has contention share 0.5 and runs beside the first run's
    /// compute, which starts at 10: with 0.6 s lost a second at full share, the first run loses 0.6 x 0.5 x 10 = 3 s,
    /// to 23. With share 1 it would lose 6 s, but at most 0.4 of its 10: 4 s, to 24.
    @Test("a collective's contention share scales what the compute beside it loses, up to the limit")
    func contentionShareAndLimit() {
        func forwardEnd(share: Double) -> Double {
            let first = ShardedParameterSchedule.Run(forwardSeconds: 10, backwardSeconds: 0, forwardGatherSeconds: 10)
            let second = ShardedParameterSchedule.Run(forwardSeconds: 10, backwardSeconds: 0, forwardGatherSeconds: 10,
                                                      forwardGatherContention: share)
            return ShardedParameterSchedule(runs: [first, second], computeSlowdown: 0.6, slowdownLimit: 0.4).forwardSeconds
        }
        // First gather 0-10, first run 10-23, second gather done at 20, second run 23-33.
        #expect(abs(forwardEnd(share: 0.5) - 33) < 1e-9)
        #expect(abs(forwardEnd(share: 1) - 34) < 1e-9)
        #expect(abs(forwardEnd(share: 0) - 30) < 1e-9)
    }

    /// Lee et al. 2025's two averages: compute 18.9% slower overlapped than alone, one after the other 10.2% slower
    /// than overlapped. The communication took 1.102 x 1.189 - 1 = 0.310278 of the compute's time alone, so a second
    /// of it costs 0.189 / 0.310278 = 0.6091 s of compute; no run loses more than the largest slowdown, 40%.
    @Test("the contention constants follow from Lee et al.'s averages and maximum")
    func contentionConstants() {
        #expect(abs(TrainingOptions.overlappedComputeSlowdown - 0.6091) < 0.0001)
        #expect(TrainingOptions.overlappedComputeSlowdownLimit == 0.40)
    }

    /// A DGX A100's NVLink all-gather bus bandwidth is 232.5 GB/s (Docs/clusters.md). A ring all-gather of 1e9 bytes
    /// over 2 devices puts (2 - 1) / 2 x 1e9 bytes through each device's link: in 0.02 s that is 25 GB/s of bus
    /// bandwidth, a 25 / 232.5 = 0.1075 share; in 0.001 s, 500 GB/s, capped at 1. An all-reduce moves twice the
    /// bytes. Across two nodes with one device each the group is measured against the same NVLink figure.
    @Test("contention share: the bus bandwidth a collective reaches over the NVLink domain's, at most 1")
    func contentionShareOfACollective() throws {
        let cluster = try Cluster.preset(named: "dgx-a100-80g:2")
        let inNode = cluster.collectiveGroup(devices: [0, 1])
        #expect(abs(inNode.contention(of: .allGather, bytes: 1e9, seconds: 0.02) - 25 / 232.5) < 1e-9)
        #expect(abs(inNode.contention(of: .allReduce, bytes: 1e9, seconds: 0.04) - 25 / 232.5) < 1e-9)
        #expect(inNode.contention(of: .reduceScatter, bytes: 1e9, seconds: 0.001) == 1)
        let acrossNodes = cluster.collectiveGroup(devices: [0, 8])
        #expect(acrossNodes.domainAllGatherBusBandwidth == inNode.allGatherBusBandwidth)
        // The network ring of two nodes, one device each, priced by the cluster's own model of a 1 GB all-gather.
        let seconds = acrossNodes.allGatherSeconds(bytes: 1e9)
        let share = acrossNodes.contention(of: .allGather, bytes: 1e9, seconds: seconds)
        #expect(share > 0.05 && share < 0.12, "\(share)")
        #expect(CollectiveGroup.singleDevice.contention(of: .allGather, bytes: 1e9, seconds: 1) == 0)
    }

    @Test("no sharded parameters: nothing is exposed")
    func nothingToGather() {
        let schedule = ShardedParameterSchedule(runs: [.init(forwardSeconds: 3, backwardSeconds: 6)])
        #expect(schedule.forwardSeconds == 3 && schedule.backwardSeconds == 6)
        #expect(schedule.exposedForwardSeconds == 0 && schedule.exposedBackwardSeconds == 0)
    }

    /// gpt-tiny as pure data parallelism over one DGX A100 with `options`, priced by the evaluator.
    static func tinyGPTOverEightDevices(_ options: TrainingOptions) throws -> PlanPrediction {
        let graph = try #require(ModelCatalog.model(id: "gpt-tiny")).build()
        let cluster = try Cluster.preset(named: "dgx-a100-80g")
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g", configuration: MegatronConfiguration(
            tensorParallel: 1, pipelineParallel: 1, dataParallel: 8, options: options))
        return PlanEvaluator(cluster: cluster).evaluate(plan)
    }

    /// gpt-tiny (PlanMemoryCostTests): embeddings 16384 + 2048 parameters, each layer 49984, the final norm 128;
    /// in bf16: 36864, 99968 and 256 bytes.
    @Test("gpt-tiny under ZeRO-3 over 8 devices: each layer gathered twice, reduce-scattered once, two layers held at once")
    func tinyGPTUnderZeroThree() throws {
        let prediction = try Self.tinyGPTOverEightDevices(TrainingOptions(zeroStage: 3))
        let cost = prediction.stageCosts[0]
        // The head's norm is the last layer: gathered for the forward pass only.
        let gathered: Double = 2 * 36864 + 4 * 99968 + 256, reduced: Double = 36864 + 2 * 99968 + 256
        #expect(abs((cost.communicationBytes[.allGather] ?? 0) - gathered) <= 1e-6)
        #expect(abs((cost.communicationBytes[.reduceScatter] ?? 0) - reduced) <= 1e-6)
        // The data-parallel reduction is the reduce-scatters: no all-reduce of gradients per iteration.
        #expect(cost.gradientSynchronizationBytes.isEmpty)
        let layer: Double = 99968
        #expect(abs(cost.gatheredWeightBytes - 2 * layer) <= 1e-6 && abs(cost.unshardedGradientBytes - layer) <= 1e-6)
        let parameters = Double(PlanMemoryCostTests.expectedParameters)
        #expect(abs(prediction.ranks[0].weightBytes - (2 * parameters / 8 + 2 * layer)) <= 1e-6)
    }

    /// FSDP with `reduce_dtype=float32` (torchtitan, Composer's DEFAULT) reduce-scatters 4 bytes a parameter: the
    /// gathers stay 16-bit, the reduce-scatters and the unsharded gradient double.
    @Test("gradients reduced in fp32: gpt-tiny's reduce-scatters move twice the bytes, its gathers the same")
    func tinyGPTReducingInFP32() throws {
        func stageCost(fp32: Bool) throws -> StageCost {
            try Self.tinyGPTOverEightDevices(TrainingOptions(zeroStage: 3, reduceGradientsInFP32: fp32)).stageCosts[0]
        }
        let cost = try stageCost(fp32: true)
        let gathered: Double = 2 * 36864 + 4 * 99968 + 256, reduced: Double = 2 * (36864 + 2 * 99968 + 256)
        #expect(abs((cost.communicationBytes[.allGather] ?? 0) - gathered) <= 1e-6)
        #expect(abs((cost.communicationBytes[.reduceScatter] ?? 0) - reduced) <= 1e-6)
        #expect(abs(cost.unshardedGradientBytes - 2 * 99968) <= 1e-6)
        let sixteenBit = try stageCost(fp32: false)
        #expect(abs((sixteenBit.communicationBytes[.reduceScatter] ?? 0) - reduced / 2) <= 1e-6)
        #expect(sixteenBit.communicationBytes[.allGather] == cost.communicationBytes[.allGather])
    }

    /// gpt-tiny without ZeRO over 8 devices: the gradient all-reduce of every parameter, in 16 bits or in fp32.
    @Test("gradients reduced in fp32 without ZeRO: the data-parallel all-reduce moves 4 bytes a parameter")
    func allReduceInFP32() throws {
        func bytes(fp32: Bool) throws -> Double {
            try Self.tinyGPTOverEightDevices(TrainingOptions(reduceGradientsInFP32: fp32)).stageCosts[0].gradientSynchronizationBytes[.allReduce] ?? 0
        }
        // Every parameter once, the 256 x 64 embedding table once for each of its two readers (the lookup and the
        // tied output layer; PlanMemoryCostTests).
        let elements = Double(PlanMemoryCostTests.expectedParameters + 256 * 64)
        #expect(abs(try bytes(fp32: false) - 2 * elements) <= 1e-6)
        #expect(abs(try bytes(fp32: true) - 4 * elements) <= 1e-6)
    }

    /// FSDP1 views its parameters as splits of one gathered flat buffer, so autograd concatenates their gradients
    /// into the flat gradient the reduce-scatter reads (pytorch/pytorch#117323), on the compute stream: gpt-tiny's
    /// embedding, two layers and final norm under ZeRO-3 over one DGX A100, against ZeRO-2, which gathers nothing.
    @Test("FSDP1's gradient concat: one memory-bound kernel per gathered layer in the backward pass, reading and writing its 16-bit gradients")
    func tinyGPTGradientConcat() throws {
        let zero3 = try Self.tinyGPTOverEightDevices(TrainingOptions(zeroStage: 3)).stageCosts[0]
        let zero2 = try Self.tinyGPTOverEightDevices(TrainingOptions(zeroStage: 2)).stageCosts[0]
        // 10 us launch + 2b / (2,039 GB/s x 0.85) per layer of b gathered bytes on an A100-SXM4-80GB.
        func copy(_ bytes: Double) -> Double { 10e-6 + 2 * bytes / (2039e9 * 0.85) }
        let concat = copy(36864) + 2 * copy(99968) + copy(256)
        #expect(abs(zero3.forwardComputeSeconds - zero2.forwardComputeSeconds) <= 1e-12)
        #expect(abs((zero3.backwardComputeSeconds - zero2.backwardComputeSeconds) - concat) <= 1e-12)
    }

    /// FSDP2 copies each gathered layer out into its parameters on the compute stream (`--fsdp2`). gpt-tiny under
    /// ZeRO-3 over one DGX A100 gathers the embedding (36,864 bytes) and both layers (99,968 each) before their
    /// forward and backward passes, and the final norm (256) only before its forward pass (it is not resharded).
    @Test("FSDP2's copy-out: one memory-bound kernel per gathered layer, reading and writing its 16-bit weights")
    func tinyGPTCopyOut() throws {
        func stageCost(fsdp2: Bool) throws -> StageCost {
            try Self.tinyGPTOverEightDevices(TrainingOptions(zeroStage: 3, copiesOutGatheredParameters: fsdp2)).stageCosts[0]
        }
        let flat = try stageCost(fsdp2: false), copied = try stageCost(fsdp2: true)
        // A copy of b gathered bytes: 10 us launch + 2b / (2,039 GB/s x 0.85) on an A100-SXM4-80GB.
        func copy(_ bytes: Double) -> Double { 10e-6 + 2 * bytes / (2039e9 * 0.85) }
        let forward = copy(36864) + 2 * copy(99968) + copy(256), backward = copy(36864) + 2 * copy(99968)
        #expect(abs(forward - 40.2736e-6) <= 1e-9)
        #expect(abs((copied.forwardComputeSeconds - flat.forwardComputeSeconds) - forward) <= 1e-12)
        // The flat parameters' stack concatenates every gathered layer's gradients once in the backward pass (the
        // same bytes as a forward copy-out, `tinyGPTGradientConcat`); FSDP2 instead copies out again before the
        // backward pass of each layer it regathers.
        #expect(abs((copied.backwardComputeSeconds - flat.backwardComputeSeconds) - (backward - forward)) <= 1e-12)
        #expect(abs(((copied.computeSeconds[.memoryBound] ?? 0) - (flat.computeSeconds[.memoryBound] ?? 0)) - backward) <= 1e-12)
        #expect(copied.communicationBytes == flat.communicationBytes)
        // Without ZeRO-3 nothing is gathered, so nothing is copied out.
        let copiedOut = try Self.tinyGPTOverEightDevices(TrainingOptions(zeroStage: 1, copiesOutGatheredParameters: true))
        let unsharded = try Self.tinyGPTOverEightDevices(TrainingOptions(zeroStage: 1))
        #expect(copiedOut.iterationSeconds == unsharded.iterationSeconds)
    }
}
