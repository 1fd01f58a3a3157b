import Testing
@testable import ShardPlan

/// Full recomputation of the first N blocks of each stage (`TrainingOptions.recomputedBlocks`, Megatron-LM's
/// `--recompute-method block --recompute-num-layers N`): those blocks keep only their input and rerun, the stage's
/// other blocks keep what their backward pass reads, as without recomputation.
@Suite("Full recomputation of a stage's first blocks")
struct BlockRecomputationTests {
    /// A tiny Llama of `layers` identical blocks (hidden 64, 32 tokens, 8 sequences) on one A100, or on two
    /// pipeline stages of two A100s.
    func stageCosts(layers: Int, recompute: RecomputeMode, blocks: Int? = nil, stages: Int = 1) throws -> [StageCost] {
        let configuration = TransformerConfiguration.llama(layers: layers, hidden: 64, heads: 4, keyValueHeads: 2, feedForwardHidden: 176,
                                                            vocabulary: 256, sequenceLength: 32, globalBatch: 8)
        let graph = try TransformerBuilder(name: "tiny-\(layers)", configuration: configuration).build()
        let name = stages == 1 ? "single-a100-80g" : "dgx-a100-80g:1"
        let cluster = try Cluster.preset(named: name)
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: name, configuration:
            MegatronConfiguration(tensorParallel: 1, pipelineParallel: stages, dataParallel: 1,
                                  options: TrainingOptions(recompute: recompute, recomputedBlocks: blocks)))
        return PlanEvaluator(cluster: cluster).evaluate(plan).stageCosts
    }

    /// Six blocks, two of them rerun: the rerun is two blocks' forward pass (a third of the six blocks' rerun under
    /// full recomputation of every block), and the activations are those kept without recomputation less, for each
    /// of the two blocks, what a block keeps beyond its input. A block of this Llama keeps its input alone under full
    /// recomputation: 32 tokens x 64 x 2 bytes = 4,096 bytes a sequence (`FullRecomputationTests`).
    @Test("two of six blocks rerun: a third of the rerun, and two blocks' activations less their inputs")
    func twoOfSixBlocks() throws {
        let every = try stageCosts(layers: 6, recompute: .full)[0]
        let none = try stageCosts(layers: 6, recompute: .none)[0]
        let two = try stageCosts(layers: 6, recompute: .full, blocks: 2)[0]
        #expect(abs(two.recomputeSeconds - every.recomputeSeconds / 3) < 1e-12 * every.recomputeSeconds)
        #expect(abs(two.backwardSeconds - (none.backwardSeconds + two.recomputeSeconds)) < 1e-9 * none.backwardSeconds)
        let fiveBlocks = try stageCosts(layers: 5, recompute: .none)[0]
        let blockKeeps = none.activationBytesPerMicrobatch - fiveBlocks.activationBytesPerMicrobatch
        #expect(two.activationBytesPerMicrobatch == none.activationBytesPerMicrobatch - 2 * (blockKeeps - 4_096),
                "\(two.activationBytesPerMicrobatch) against \(none.activationBytesPerMicrobatch) - 2 x (\(blockKeeps) - 4096)")
        // Rerunning a block needs its working set, as full recomputation of every block does.
        #expect(two.recomputationWorkingBytes == every.recomputationWorkingBytes)
    }

    @Test("as many blocks as the stage holds, or more, is full recomputation of every block")
    func atLeastTheStagesBlocks() throws {
        let every = try stageCosts(layers: 4, recompute: .full)[0]
        for blocks in [4, 5, 100] {
            let cost = try stageCosts(layers: 4, recompute: .full, blocks: blocks)[0]
            #expect(cost.recomputeSeconds == every.recomputeSeconds && cost.activationBytesPerMicrobatch == every.activationBytesPerMicrobatch)
        }
    }

    /// The count is per stage: on two pipeline stages of three blocks each, one block a stage reruns, the first
    /// of each (Megatron counts the layers of each pipeline stage), so each stage reruns a third of its blocks.
    @Test("the count is of each stage's blocks, from its first")
    func perStage() throws {
        let every = try stageCosts(layers: 6, recompute: .full, stages: 2)
        let one = try stageCosts(layers: 6, recompute: .full, blocks: 1, stages: 2)
        #expect(one.count == 2)
        for (partial, full) in zip(one, every) {
            #expect(abs(partial.recomputeSeconds - full.recomputeSeconds / 3) < 1e-9 * full.recomputeSeconds,
                    "\(partial.recomputeSeconds) against a third of \(full.recomputeSeconds)")
        }
    }

    @Test("other modes ignore the count")
    func otherModes() throws {
        for mode in [RecomputeMode.none, .selective, .selectiveOperators] {
            let plain = try stageCosts(layers: 3, recompute: mode)[0]
            let counted = try stageCosts(layers: 3, recompute: mode, blocks: 1)[0]
            #expect(plain.recomputeSeconds == counted.recomputeSeconds && plain.activationBytesPerMicrobatch == counted.activationBytesPerMicrobatch)
        }
    }

    @Test("reports name the count")
    func names() {
        #expect(TrainingOptions(recompute: .full, recomputedBlocks: 4).recomputeName(.full) == "full(4 blocks)")
        #expect(TrainingOptions(recompute: .full, recomputedBlocks: 1).recomputeName(.full) == "full(1 block)")
        #expect(TrainingOptions(recompute: .full).recomputeName(.full) == "full")
        #expect(TrainingOptions(recompute: .full, recomputedBlocks: 4).recomputeName(.selective) == "selective")
    }

    /// A plan document writes the count beside `recompute` and replays it; a count below one or above the command
    /// line's bound (2^20), a string, or a count beside a mode other than full is refused at `options.recompute_blocks`.
    @Test("a plan writes options.recompute_blocks and replays it; a bad count is refused at options.recompute_blocks")
    func planDocument() throws {
        let configuration = TransformerConfiguration.llama(layers: 4, hidden: 64, heads: 4, keyValueHeads: 2, feedForwardHidden: 176,
                                                            vocabulary: 256, sequenceLength: 32, globalBatch: 8)
        let graph = try TransformerBuilder(name: "tiny-4", configuration: configuration).build()
        let cluster = try Cluster.preset(named: "single-a100-80g")
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "single-a100-80g", configuration:
            MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1, options: TrainingOptions(recompute: .full, recomputedBlocks: 3)))
        let prediction = PlanEvaluator(cluster: cluster).evaluate(plan)
        let text = plan.jsonText(prediction: prediction)
        #expect(text.contains("\"recompute_blocks\": 3"))
        let decoded = try TrainingOptionsFixtures.decode(text, graph: graph, clusterName: "single-a100-80g")
        #expect(decoded.options.recomputedBlocks == 3)
        #expect(PlanEvaluator(cluster: cluster).evaluate(decoded).iterationSeconds == prediction.iterationSeconds)
        for (edit, replacement, message) in [("\"recompute_blocks\": 3", "\"recompute_blocks\": 0", "between 1 and 1048576"),
                                             ("\"recompute_blocks\": 3", "\"recompute_blocks\": 9007199254740991", "between 1 and 1048576"),
                                             ("\"recompute_blocks\": 3", "\"recompute_blocks\": \"3\"", "integer"),
                                             ("\"recompute\": \"full\"", "\"recompute\": \"selective\"", "not \"full\"")] {
            let edited = text.replacingOccurrences(of: edit, with: replacement)
            #expect(edited != text)
            let error = #expect(throws: InputError.self) { _ = try TrainingOptionsFixtures.decode(edited, graph: graph, clusterName: "single-a100-80g") }
            #expect(error?.path == JSONPath([.key("options"), .key("recompute_blocks")]), "\(error?.description ?? "")")
            #expect(error?.description.contains(message) == true, "\(error?.description ?? "")")
        }
    }

    /// A graph without transformer blocks (mlp-2, no attention) reruns its whole forward pass under full
    /// recomputation, so a count of blocks means nothing there: it is refused, in a plan document at
    /// `options.recompute_blocks` (before, it was accepted and the plan labelled `full(2 blocks)`).
    @Test("a graph without transformer blocks refuses a count of blocks, in a plan document at options.recompute_blocks")
    func graphWithoutBlocks() throws {
        let mlp = try ModelCatalog.model(id: "mlp-2")!.build()
        let llama = try TransformerBuilder(name: "tiny-2", configuration: .llama(layers: 2, hidden: 64, heads: 4, keyValueHeads: 2,
                                                                                  feedForwardHidden: 176, vocabulary: 256,
                                                                                  sequenceLength: 32, globalBatch: 8)).build()
        #expect(StageCostModel.transformerBlockCount(in: mlp) == 0 && StageCostModel.transformerBlockCount(in: llama) == 2)
        let counted = TrainingOptions(recompute: .full, recomputedBlocks: 2)
        #expect(counted.recomputedBlocksProblem(in: llama) == nil && TrainingOptions(recompute: .full).recomputedBlocksProblem(in: mlp) == nil)
        #expect(counted.recomputedBlocksProblem(in: mlp)?.contains("has none") == true)
        let cluster = try Cluster.preset(named: "single-a100-80g")
        let plan = try TrainingPlan.megatron(graph: mlp, cluster: cluster, clusterName: "single-a100-80g", configuration:
            MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1, microBatchSize: 1024, options: counted))
        let text = plan.jsonText(prediction: PlanEvaluator(cluster: cluster).evaluate(plan))
        #expect(text.contains("\"recompute_blocks\": 2"))
        let error = #expect(throws: InputError.self) { _ = try TrainingOptionsFixtures.decode(text, graph: mlp, clusterName: "single-a100-80g") }
        #expect(error?.path == JSONPath([.key("options"), .key("recompute_blocks")]), "\(error?.description ?? "")")
    }

    /// A count above the graph's blocks is more than any stage can hold: it is refused (`score --recompute-blocks 5`
    /// of 2-block moe-tiny was labelled `full(5 blocks)` beside Megatron-LM's uniform method), in a plan document at
    /// `options.recompute_blocks`; the graph's own count is accepted.
    @Test("a count above the graph's transformer blocks is refused, in a plan document at options.recompute_blocks")
    func countAboveTheGraphsBlocks() throws {
        let graph = try TransformerBuilder(name: "tiny-2", configuration: .llama(layers: 2, hidden: 64, heads: 4, keyValueHeads: 2,
                                                                                  feedForwardHidden: 176, vocabulary: 256,
                                                                                  sequenceLength: 32, globalBatch: 8)).build()
        #expect(TrainingOptions(recompute: .full, recomputedBlocks: 2).recomputedBlocksProblem(in: graph) == nil)
        let five = TrainingOptions(recompute: .full, recomputedBlocks: 5)
        #expect(five.recomputedBlocksProblem(in: graph)
                == "counts the first blocks of each stage that rerun, and \"tiny-2\" has 2 transformer blocks, fewer than 5: "
                + "give at most 2, or leave the count out to rerun every block")
        let cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1",
                                             configuration: MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1, options: five))
        let text = plan.jsonText(prediction: PlanEvaluator(cluster: cluster).evaluate(plan))
        let error = #expect(throws: InputError.self) { _ = try TrainingOptionsFixtures.decode(text, graph: graph, clusterName: "dgx-a100-80g:1") }
        #expect(error?.path == JSONPath([.key("options"), .key("recompute_blocks")]), "\(error?.description ?? "")")
    }

    /// torchtitan's "selective layer" checkpointing (every second block of Llama 3 8B: 16 of 32) replays as 16 blocks
    /// rerun: half the rerun of every block. A count beside a recomputation that is not full, or below one, is
    /// refused at rows[i].recompute_blocks.
    @Test("a calibration row's recompute_blocks: torchtitan's every second block reruns half; a bad count is refused at rows[i].recompute_blocks")
    func calibrationRow() throws {
        let (rows, index, row) = try PublishedRowFixtures.row("torchtitan-llama3-8b-selective-layer-64xA100")
        let replayed = PublishedRowFixtures.replayed
        var every = row
        every["recompute_blocks"] = nil
        let (half, full) = (try replayed(row), try replayed(every))
        #expect(half.plan.options.recomputedBlocks == 16 && full.plan.options.recomputedBlocks == nil)
        let (halfRerun, fullRerun) = (half.prediction.stageCosts[0].recomputeSeconds, full.prediction.stageCosts[0].recomputeSeconds)
        #expect(abs(halfRerun - fullRerun / 2) < 0.01 * fullRerun, "\(halfRerun) against half of \(fullRerun)")
        for (member, value) in [("recompute_blocks", JSONValue.int(0)), ("recompute_blocks", .int(1 << 40)), ("recompute", .string("selective op"))] {
            var edited = row
            edited[member] = value
            let error = PublishedRowFixtures.refusal(of: edited, after: rows[index])
            #expect(error?.path.description == "rows[1].recompute_blocks", "\(error?.description ?? "")")
        }
    }
}
