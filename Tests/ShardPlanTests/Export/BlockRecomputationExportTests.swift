import Testing
@testable import ShardPlan

/// Full recomputation of the first N blocks of each stage (`TrainingOptions.recomputedBlocks`) in each framework's
/// settings: Megatron-LM's and NeMo's block method over N layers; torchtitan's layer-level selective checkpointing
/// of one block in every K where each stage holds K x N blocks, and full recomputation of every block, named as a
/// change, where the stages hold no such pattern.
@Suite("Framework settings recompute the first blocks of each stage")
struct BlockRecomputationExportTests {
    /// A tiny Llama of `layers` blocks on one DGX A100 (8 GPUs) over `pipelineParallel` ranks of `virtualStages`
    /// chunks, recomputing the first `blocks` blocks of each chunk, as `framework`'s settings.
    static func export(_ framework: TrainingFramework, layers: Int, pipelineParallel: Int, virtualStages: Int = 1,
                       blocks: Int?) throws -> FrameworkExport {
        let graph = try TransformerBuilder(name: "llama-\(layers)", configuration: .llama(
            layers: layers, hidden: 64, heads: 4, keyValueHeads: 2, feedForwardHidden: 176, vocabulary: 256,
            sequenceLength: 32, globalBatch: 8)).build()
        let cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        let configuration = MegatronConfiguration(tensorParallel: 1, pipelineParallel: pipelineParallel, virtualStages: virtualStages,
                                                  schedule: virtualStages > 1 ? .interleaved : nil,
                                                  options: TrainingOptions(recompute: .full, recomputedBlocks: blocks))
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1", configuration: configuration)
        return try FrameworkExport(plan: plan, prediction: PlanEvaluator(cluster: cluster).evaluate(plan), framework: framework)
    }

    /// The lines of `export`'s settings from `[activation_checkpoint]` to the next blank line.
    static func activationCheckpoint(_ export: FrameworkExport) -> [String] {
        let lines = export.text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard let start = lines.firstIndex(of: "[activation_checkpoint]") else { return [] }
        return Array(lines[start...].prefix { !$0.isEmpty })
    }

    @Test("Megatron-LM: --recompute-method block --recompute-num-layers N; every block stays the uniform method over one layer")
    func megatron() throws {
        let export = try Self.export(.megatron, layers: 12, pipelineParallel: 2, blocks: 4)
        let arguments = MegatronArguments(export.layout).arguments
        #expect(arguments.filter { $0.hasPrefix("--recompute") }
                == ["--recompute-granularity full", "--recompute-method block", "--recompute-num-layers 4"])
        #expect(!export.differences.contains { $0.contains("block") }, "\(export.differences)")
        #expect(try FrameworkRoundTripTests.readBack(export.text, .megatron).recomputedBlocks == 4)
        let every = try Self.export(.megatron, layers: 12, pipelineParallel: 2, blocks: nil)
        #expect(MegatronArguments(every.layout).arguments.filter { $0.hasPrefix("--recompute") }
                == ["--recompute-granularity full", "--recompute-method uniform", "--recompute-num-layers 1"])
        let read = try FrameworkRoundTripTests.readBack(every.text, .megatron)
        #expect(read.recompute == .full && read.recomputedBlocks == nil)
    }

    @Test("NeMo 2.0: recompute_method='block' and recompute_num_layers=N; every block stays 'uniform' over 1")
    func nemo() throws {
        let export = try Self.export(.nemo, layers: 12, pipelineParallel: 2, blocks: 4)
        let overrides = NeMoRecipeOverrides(export.layout).overrides.filter { $0.key.hasPrefix("model.config.recompute") }
        #expect(overrides.map { "\($0.key)=\($0.value)" } == ["model.config.recompute_granularity='full'",
                                                             "model.config.recompute_method='block'",
                                                             "model.config.recompute_num_layers=4"])
        #expect(export.text.contains("    model.config.recompute_method='block' \\\n    model.config.recompute_num_layers=4 \\\n"))
        #expect(try FrameworkRoundTripTests.readBack(export.text, .nemo).recomputedBlocks == 4)
        let every = try Self.export(.nemo, layers: 12, pipelineParallel: 2, blocks: nil)
        #expect(every.text.contains("    model.config.recompute_method='uniform' \\\n    model.config.recompute_num_layers=1 \\\n"))
        #expect(try FrameworkRoundTripTests.readBack(every.text, .nemo).recomputedBlocks == nil)
    }

    /// 6 blocks a stage of which 3 rerun: one in every 2; 12 blocks without a pipeline of which 4 rerun: one in every 3;
    /// 2 ranks of 2 chunks of 3 blocks of which 1 reruns: one in every 3 of a rank, which counts its chunks' blocks in turn.
    @Test("torchtitan: mode = \"selective\" with selective_ac_option = \"K\" where every stage holds K x N blocks, read back as N",
          arguments: [(12, 2, 1, 3, 2), (12, 1, 1, 4, 3), (12, 2, 2, 1, 3)])
    func torchtitanPattern(layers: Int, pipelineParallel: Int, virtualStages: Int, blocks: Int, interval: Int) throws {
        let export = try Self.export(.torchtitan, layers: layers, pipelineParallel: pipelineParallel, virtualStages: virtualStages, blocks: blocks)
        let perStage = layers / (pipelineParallel * virtualStages)
        #expect(Self.activationCheckpoint(export) == [
            "[activation_checkpoint]",
            "# torchtitan reruns one block in every \(interval) of a rank rather than the first \(blocks) of each stage's \(perStage) blocks: "
                + "the same work and memory for blocks of one shape",
            "mode = \"selective\"", "selective_ac_option = \"\(interval)\""])
        #expect(!export.differences.contains { $0.contains("block") }, "\(export.differences)")
        #expect(export.layout.configuration.options.recomputedBlocks == blocks)
        let read = try FrameworkRoundTripTests.readBack(export.text, .torchtitan, layers: layers)
        #expect(read.recompute == .full && read.recomputedBlocks == blocks)
        #expect(read == ReadBackLayout(export.layout))
    }

    /// 5 of 6 blocks a stage, and 3 of chunks of 6 and 7 blocks, are no pattern of one block in every K: torchtitan
    /// reruns every block, named as a change and priced (more recomputation than the plan's).
    @Test("torchtitan: where the stages hold no such pattern, every block reruns, named as a change",
          arguments: [(12, 5, "5 of 6 blocks a stage"), (13, 3, "3 of 6/7 blocks a stage")])
    func torchtitanNoPattern(layers: Int, blocks: Int, named: String) throws {
        let export = try Self.export(.torchtitan, layers: layers, pipelineParallel: 2, blocks: blocks)
        #expect(export.differences.contains(
            "torchtitan reruns one block in every K of a rank (selective_ac_option = \"K\"), not the first blocks of each stage: "
                + "\(named) is no such pattern, so every block reruns"), "\(export.differences)")
        #expect(export.layout.configuration.options.recomputedBlocks == nil)
        #expect(Self.activationCheckpoint(export) == ["[activation_checkpoint]", "mode = \"full\""])
        #expect(export.prediction.iterationSeconds > export.planPrediction.iterationSeconds)
        let read = try FrameworkRoundTripTests.readBack(export.text, .torchtitan)
        #expect(read.recompute == .full && read.recomputedBlocks == nil)
    }

    /// A count of as many blocks as a stage holds is the block method over them all, as `--recompute-blocks`' help
    /// says; a count above every chunk's blocks reruns every block: Megatron-LM and NeMo are given the uniform method
    /// over one layer, the header says `recompute=full` and the differences name the count (before, the header said
    /// `full(13 blocks)` beside `--recompute-method uniform`, and no difference named it).
    @Test("Megatron-LM and NeMo: as many blocks as a stage holds is the block method; more is the uniform method, named as a difference")
    func megatronAndNeMoEveryBlock() throws {
        let megatron = try Self.export(.megatron, layers: 12, pipelineParallel: 2, blocks: 6)
        #expect(MegatronArguments(megatron.layout).arguments.filter { $0.hasPrefix("--recompute") }
                == ["--recompute-granularity full", "--recompute-method block", "--recompute-num-layers 6"])
        #expect(megatron.text.hasPrefix("# ShardPlan: Megatron-LM settings") && megatron.text.contains("recompute=full(6 blocks)"))
        #expect(!megatron.differences.contains { $0.contains("block") }, "\(megatron.differences)")
        let more = try Self.export(.megatron, layers: 12, pipelineParallel: 2, blocks: 7)
        #expect(MegatronArguments(more.layout).arguments.filter { $0.hasPrefix("--recompute") }
                == ["--recompute-granularity full", "--recompute-method uniform", "--recompute-num-layers 1"])
        let header = more.text.split(separator: "\n")[0]
        #expect(header.contains("recompute=full") && !header.contains("blocks)"), "\(header)")
        #expect(more.differences.contains("the plan's count of 7 recomputed blocks a stage is more than the 6 blocks any stage holds, "
                                          + "so every block reruns, as the plan is priced; the settings recompute every block"),
                "\(more.differences)")
        let nemo = try Self.export(.nemo, layers: 12, pipelineParallel: 2, blocks: 7)
        #expect(nemo.text.contains("    model.config.recompute_method='uniform' \\\n    model.config.recompute_num_layers=1 \\\n"))
        let nemoBlocks = try Self.export(.nemo, layers: 12, pipelineParallel: 2, blocks: 6)
        #expect(nemoBlocks.text.contains("    model.config.recompute_method='block' \\\n    model.config.recompute_num_layers=6 \\\n"))
    }

    @Test("torchtitan: as many blocks as a stage holds is full recomputation of every block, not a change; more is named")
    func torchtitanEveryBlock() throws {
        let same = try Self.export(.torchtitan, layers: 12, pipelineParallel: 2, blocks: 6)
        #expect(Self.activationCheckpoint(same) == ["[activation_checkpoint]", "mode = \"full\""])
        #expect(!same.differences.contains { $0.contains("block") }, "\(same.differences)")
        let more = try Self.export(.torchtitan, layers: 12, pipelineParallel: 2, blocks: 8)
        #expect(Self.activationCheckpoint(more) == ["[activation_checkpoint]", "mode = \"full\""])
        #expect(more.differences.contains { $0.hasPrefix("the plan's count of 8 recomputed blocks a stage is more than the 6 blocks") },
                "\(more.differences)")
    }

    /// `expressible` alone: Megatron-LM and NeMo keep any count; torchtitan keeps one that is a pattern of its
    /// chunks' blocks, and a MaxText policy it runs as full recomputation reruns every block whatever the count.
    @Test("expressible: Megatron-LM and NeMo keep N; torchtitan keeps it only for chunks of K x N blocks")
    func expressible() {
        let configuration = MegatronConfiguration(tensorParallel: 1, pipelineParallel: 2, dataParallel: 4,
                                                  options: TrainingOptions(recompute: .full, recomputedBlocks: 2))
        for framework in [TrainingFramework.megatron, .nemo] {
            let (nearest, changes) = framework.expressible(configuration, chunkLayers: [5, 5])
            #expect(nearest.options.recomputedBlocks == 2 && !changes.contains { $0.contains("block") })
        }
        #expect(TrainingFramework.torchtitan.expressible(configuration, chunkLayers: [6, 6]).configuration.options.recomputedBlocks == 2)
        let (odd, changes) = TrainingFramework.torchtitan.expressible(configuration, chunkLayers: [5, 5])
        #expect(odd.options.recompute == .full && odd.options.recomputedBlocks == nil)
        #expect(changes.contains { $0.hasSuffix("2 of 5 blocks a stage is no such pattern, so every block reruns") })
        // Dense and expert blocks alternating: one in every K reruns other blocks than the first N.
        let (mixed, mixedChanges) = TrainingFramework.torchtitan.expressible(configuration, chunkLayers: [6, 6], blockStructures: 2)
        #expect(mixed.options.recomputedBlocks == nil)
        #expect(mixedChanges.contains { $0.contains("the blocks are of 2 structures, so one in every K is other work than the first 2") })
        var mlp = configuration
        mlp.options.recompute = .mlp
        let full = TrainingFramework.torchtitan.expressible(mlp, chunkLayers: [6, 6]).configuration.options
        #expect(full.recompute == .full && full.recomputedBlocks == nil)
    }

    /// A layout given to `TorchTitanJobConfig` directly, not through `expressible`, is written as every block rerun,
    /// and the file says why.
    @Test("torchtitan's job config of a layout with no pattern: mode = \"full\" after a comment saying why")
    func torchtitanDirectLayout() throws {
        let graph = try TransformerBuilder(name: "llama-12", configuration: .llama(
            layers: 12, hidden: 64, heads: 4, keyValueHeads: 2, feedForwardHidden: 176, vocabulary: 256,
            sequenceLength: 32, globalBatch: 8)).build()
        let (layout, _) = try ParallelLayout.megatron(
            MegatronConfiguration(tensorParallel: 1, pipelineParallel: 2, options: TrainingOptions(recompute: .full, recomputedBlocks: 5)),
            graph: graph, cluster: Cluster.preset(named: "dgx-a100-80g:1"), clusterName: "dgx-a100-80g:1")
        #expect(TorchTitanJobConfig(layout).activationCheckpointLines == [
            "# torchtitan reruns one block in every K of a rank (selective_ac_option = \"K\"), not the first blocks of each stage: "
                + "5 of 6 blocks a stage is no such pattern, so every block reruns",
            "mode = \"full\""])
    }
}
