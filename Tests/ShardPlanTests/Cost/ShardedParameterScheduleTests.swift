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

    @Test("no sharded parameters: nothing is exposed")
    func nothingToGather() {
        let schedule = ShardedParameterSchedule(runs: [.init(forwardSeconds: 3, backwardSeconds: 6)])
        #expect(schedule.forwardSeconds == 3 && schedule.backwardSeconds == 6)
        #expect(schedule.exposedForwardSeconds == 0 && schedule.exposedBackwardSeconds == 0)
    }

    /// gpt-tiny (PlanMemoryCostTests): embeddings 16384 + 2048 parameters, each layer 49984, the final norm 128;
    /// in bf16: 36864, 99968 and 256 bytes.
    @Test("gpt-tiny under ZeRO-3 over 8 devices: each layer gathered twice, reduce-scattered once, two layers held at once")
    func tinyGPTUnderZeroThree() throws {
        let graph = try #require(ModelCatalog.model(id: "gpt-tiny")).build()
        let cluster = try Cluster.preset(named: "dgx-a100-80g")
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g", configuration: MegatronConfiguration(
            tensorParallel: 1, pipelineParallel: 1, dataParallel: 8, options: TrainingOptions(zeroStage: 3)))
        let prediction = PlanEvaluator(cluster: cluster).evaluate(plan)
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
}
