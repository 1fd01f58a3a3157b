import Testing
@testable import ShardPlan

/// Megatron-Core's overlap of the experts' all-to-alls with another microbatch's compute
/// (`--overlap-moe-expert-parallel-comm`, `ExpertParallelOverlap`).
@Suite("Expert parallelism's overlapped all-to-alls")
struct ExpertParallelOverlapTests {
    /// Lee et al.'s slowdown of compute beside a collective: 0.189 / (1.102 x 1.189 - 1) = 0.6091 s a second.
    static let slowdown = 0.189 / (1.102 * 1.189 - 1)

    /// Forward all-to-alls of 3 ms beside 10 ms of the other microbatch's backward compute hide whole and slow it by
    /// 3 x 0.6091 = 1.827 ms; backward ones of 5 ms beside 2 ms of forward compute show 3 ms, and slow the 2 ms by
    /// at most 40%: 0.8 ms, not 2 x 0.6091 = 1.218 ms. Of 4 microbatches 3 passes of each kind have a partner: the
    /// forward ones cost 3/4 x 1.827 + 1/4 x 3 = 2.121 ms, the backward ones 3/4 x 3.8 + 1/4 x 5 = 4.1 ms; one
    /// microbatch has no partner and hides nothing.
    @Test("by hand: 3 ms beside 10 ms cost 1.827 ms paired, 5 ms beside 2 ms 3.8 ms; 3 of 4 microbatches paired; one alone hides nothing")
    func byHand() {
        let paired = 3e-3 * Self.slowdown
        #expect(abs(paired - 1.8274e-3) < 1e-7)
        let overlap = ExpertParallelOverlap(forwardAllToAllSeconds: 3e-3, backwardAllToAllSeconds: 5e-3,
                                            forwardComputeSeconds: 2e-3, backwardComputeSeconds: 10e-3,
                                            pairedShare: ExpertParallelOverlap.pairedShare(microbatches: 4))
        #expect(overlap.pairedShare == 0.75)
        #expect(abs(overlap.forwardShownSeconds - (0.75 * paired + 0.25 * 3e-3)) < 1e-15)
        #expect(abs(overlap.backwardShownSeconds - 4.1e-3) < 1e-15)
        let alone = ExpertParallelOverlap(forwardAllToAllSeconds: 3e-3, backwardAllToAllSeconds: 5e-3,
                                          forwardComputeSeconds: 2e-3, backwardComputeSeconds: 10e-3, pairedShare: 0)
        #expect(alone.forwardShownSeconds == 3e-3 && alone.backwardShownSeconds == 5e-3)
        #expect(abs(ExpertParallelOverlap.searchShare(microbatches: 4) - (0.25 + 0.75 * Self.slowdown)) < 1e-15)
        #expect(ExpertParallelOverlap.searchShare(microbatches: 1) == 1)
    }

    /// Why Megatron-Core would not run the overlap: no expert parallelism, full recomputation, GPipe, or pipelining
    /// without chunks.
    @Test("the overlap's conditions: expert parallelism, no full recomputation, a 1F1B schedule, and chunks beside pipelining")
    func conditions() {
        func problem(_ splitsExperts: Bool = true, full: Bool = false, _ schedule: PipelineSchedule = .interleaved,
                     ranks: Int = 2, chunks: Int = 2) -> String? {
            ExpertParallelOverlap.problem(splitsExperts: splitsExperts, fullRecomputation: full, schedule: schedule, pipelineRanks: ranks,
                                          virtualStages: chunks)
        }
        #expect(problem() == nil)
        #expect(problem(true, .oneForwardOneBackward, ranks: 1, chunks: 1) == nil)
        #expect(problem(false) != nil)
        #expect(problem(true, full: true) != nil)
        #expect(problem(true, .gpipe, ranks: 1, chunks: 1) != nil)
        #expect(problem(true, .oneForwardOneBackward, ranks: 2, chunks: 1) != nil)
    }

    /// Only the steady state pairs passes. Without pipelining the first forward runs alone: 3 of 4 paired. Four ranks of
    /// 2 chunks and 4 microbatches (8 chunk forwards a rank) warm up with 2 (p - r - 1) + (v - 1) p + 1 forwards:
    /// rank 0 with 11, capped at 8, so nothing pairs; rank 3 with 5, so 3 of 8 pair.
    @Test("paired passes by hand: 3/4 without pipelining; none on the first of 4 interleaved ranks, 3/8 on the last")
    func pairedShareByRank() {
        #expect(ExpertParallelOverlap.pairedShare(schedule: .oneForwardOneBackward, stage: 0, stages: 1, microbatches: 4, virtualStages: 1) == 0.75)
        #expect(ExpertParallelOverlap.pairedShare(schedule: .interleaved, stage: 0, stages: 4, microbatches: 4, virtualStages: 2) == 0)
        #expect(ExpertParallelOverlap.pairedShare(schedule: .interleaved, stage: 3, stages: 4, microbatches: 4, virtualStages: 2) == 0.375)
        #expect(ExpertParallelOverlap.pairedShare(schedule: .interleaved, stage: 3, stages: 4, microbatches: 64, virtualStages: 2) == 123.0 / 128)
    }

    /// moe-tiny with ep = 4 in 2 microbatches of one sequence a replica (`ExpertParallelTests`): 2 dispatch and
    /// combine all-to-alls of 8,192 bytes a layer forward and 2 backward, 2 layers, each `one`. With the overlap the
    /// exact model charges them as `ExpertParallelOverlap` says beside the stage's own compute, half the passes paired,
    /// the rest unchanged; the search charges each at `searchShare`.
    @Test("the exact model hides the forward all-to-alls behind the backward compute and the backward ones behind the forward; the search charges its share")
    func stageCost() throws {
        let (plan, graph, cluster) = try ExpertParallelTests.plan(microBatchSize: 1)
        #expect(plan.microbatches == 2)
        let stage = plan.stages[0]
        var overlapped = plan.options
        overlapped.overlapExpertParallelCommunication = true
        let models = [plan.options, overlapped].map {
            StageCostModel(graph: graph, kernels: KernelModel(device: cluster.device), options: $0, microbatches: plan.microbatches)
        }
        let (plain, overlap) = (models[0].cost(of: stage), models[1].cost(of: stage))
        let one = stage.mesh.seconds(for: Collective(.allToAll, axes: [1], bytes: 8_192))
        #expect(abs(plain.communicationSeconds[.allToAll]! - 8 * one) < 1e-15)
        let expected = ExpertParallelOverlap(forwardAllToAllSeconds: 4 * one, backwardAllToAllSeconds: 4 * one,
                                             forwardComputeSeconds: plain.forwardComputeSeconds,
                                             backwardComputeSeconds: plain.backwardComputeSeconds, pairedShare: 0.5)
        let shown = expected.forwardShownSeconds + expected.backwardShownSeconds
        #expect(shown < 8 * one)
        #expect(abs(overlap.communicationSeconds[.allToAll]! - shown) < 1e-15)
        #expect(abs(plain.forwardCommunicationSeconds - overlap.forwardCommunicationSeconds - (4 * one - expected.forwardShownSeconds)) < 1e-15)
        #expect(overlap.communicationSeconds[.allReduce] == plain.communicationSeconds[.allReduce])
        #expect(overlap.forwardComputeSeconds == plain.forwardComputeSeconds)
        // The search's price of the same layout, per iteration: 2 microbatches of 8 all-to-alls each.
        let objectives = models.map { ExpertParallelTests.searchObjective(of: stage, $0) }
        #expect(abs(objectives[0] - objectives[1] - 2 * 8 * one * (1 - ExpertParallelOverlap.searchShare(microbatches: 2))) < 1e-12)
    }

    /// The combined schedule starts one more forward before its first backward: two microbatches alive without
    /// pipelining, and one chunk more on each rank of an interleaved pipeline.
    @Test("one microbatch more in flight: 2 without pipelining, one chunk more under the interleaved schedule")
    func warmUp() {
        let alone = [0, 1].map {
            ChunkOccupancy(schedule: .oneForwardOneBackward, stage: 0, stages: 1, microbatches: 8, virtualStages: 1, extraWarmUp: $0).mostChunksAlive
        }
        #expect(alone == [1, 2])
        for rank in 0 ..< 4 {
            let chunks = [0, 1].map {
                ChunkOccupancy(schedule: .interleaved, stage: rank, stages: 4, microbatches: 16, virtualStages: 2, extraWarmUp: $0).mostChunksAlive
            }
            #expect(chunks[1] == chunks[0] + 1, "rank \(rank)")
        }
        // GPipe runs every forward first anyway.
        #expect(ChunkOccupancy(schedule: .gpipe, stage: 0, stages: 2, microbatches: 4, virtualStages: 1, extraWarmUp: 1).mostChunksAlive == 4)
    }

    /// A plan that overlaps the all-to-alls says so in its JSON and its summary, and reads back as it was written.
    @Test("the plan document carries overlap_expert_parallel_communication, and the summary ep-overlap")
    func planDocument() throws {
        let graph = try #require(ModelCatalog.model(id: "moe-tiny")).build()
        let cluster = try Cluster.preset(named: "dgx-h100")
        var options = TrainingOptions(recompute: .selective)
        options.overlapExpertParallelCommunication = true
        // 8 sequences over 4 replicas in microbatches of 1: 2 microbatches, both in flight.
        let configuration = MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1, dataParallel: 4, microBatchSize: 1,
                                                  expertParallel: 4, options: options)
        #expect(configuration.summary(dataParallel: 4).contains(" ep-overlap"))
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-h100", configuration: configuration)
        let prediction = PlanEvaluator(cluster: cluster).evaluate(plan)
        let text = plan.jsonText(prediction: prediction)
        #expect(text.contains("\"overlap_expert_parallel_communication\""))
        let decoded = try TrainingPlan(json: try JSONParser.parse(text), graph: graph, cluster: cluster, clusterName: "dgx-h100")
        #expect(decoded.options.overlapExpertParallelCommunication)
        #expect(decoded.describe(decoded.stages[0]).contains(" ep-overlap"))
        #expect(prediction.ranks[0].microbatchesInFlight == 2)
        var plain = plan
        plain.options.overlapExpertParallelCommunication = false
        #expect(!plain.jsonText(prediction: prediction).contains("overlap_expert_parallel_communication"))
        // A hand-edited plan that overlaps them beside full recomputation is refused at the option, as score refuses it.
        let fullRecomputation = text.replacingOccurrences(of: "\"selective\"", with: "\"full\"")
        #expect(fullRecomputation != text)
        let refused = #expect(throws: InputError.self) {
            try TrainingPlan(json: try JSONParser.parse(fullRecomputation), graph: graph, cluster: cluster, clusterName: "dgx-h100")
        }
        #expect(refused?.path == JSONPath.root.appending("options").appending("overlap_expert_parallel_communication"), "\(refused?.message ?? "")")
    }
}
