import Testing
@testable import ShardPlan

/// The header's sentence on how `plan --emit` searched otherwise than `plan` alone (`TrainingFramework.searchNote`).
@Suite("The settings' header says how plan --emit searched for the framework")
struct FrameworkSearchNoteTests {
    /// Every recomputation mode `plan --recompute auto` tries without --emit, and every ZeRO stage.
    static let plainVariants = StageSearchOracle.Variants(zeroStages: [0, 1, 2, 3],
                                                          recomputeModes: [.none, .normAct, .selective, .elementwise, .selectiveOperators, .mlp, .allButQKV, .full])

    /// `plan --emit framework` with every option left to it, as `PlanCommand` sets it up.
    static func note(_ framework: TrainingFramework, model: String, plain: TrainingOptions = TrainingOptions()) throws -> String? {
        let graph = try #require(ModelCatalog.model(id: model)).build()
        let options = framework.searchedOptions(plain, gradientBufferGiven: false, optimizerStateGiven: false, fusionGiven: false, exchangeGiven: false)
        var variants = StageSearchOracle.Variants(zeroStages: [0, 1, 2, 3].filter(framework.runsZeroStage),
                                                  recomputeModes: framework.automaticRecomputeModes(under: options))
        variants.contextParallelCommunications = framework.runsMegatronCore ? [.ring, .allGather, .allToAll] : [.pytorchRing, .pytorchRingAllToAll]
        variants.triesExpertParallelOverlap = framework.runsMegatronCore
        return framework.searchNote(options: options, plain: plain, variants: variants.searched(in: graph),
                                    plainVariants: plainVariants.searched(in: graph), graph: graph)
    }

    @Test("Megatron-LM for a mixture of experts: its bf16 gradient buffer, its recomputation modes and the experts' overlap")
    func megatronExperts() throws {
        #expect(try Self.note(.megatron, model: "moe-tiny") == "Searched for Megatron-LM: priced as with --grad-precision bf16; "
                + "recomputation none, norm-act, selective or full only (the modes it runs as priced); its Megatron grid also trying the "
                + "experts' all-to-alls overlapped. `shardplan plan` without --emit searches ShardPlan's defaults, so its plan and time "
                + "can differ from the ones here.")
    }

    @Test("NeMo for a dense model at 8,192 tokens: ZeRO 0 or 1, and each context-parallel exchange in the grid, no experts' overlap")
    func nemoDense() throws {
        #expect(try Self.note(.nemo, model: "llama3-8b") == "Searched for NeMo 2.0: priced as with --grad-precision bf16; ZeRO 0 or 1 only "
                + "(the stages it runs as priced); recomputation none, selective or full only (the modes it runs as priced); its Megatron grid "
                + "also trying each context-parallel exchange it runs. `shardplan plan` without --emit searches ShardPlan's defaults, so its "
                + "plan and time can differ from the ones here.")
    }

    @Test("torchtitan: its fp32 weights and reductions, overlap, FSDP2, eager kernels and PyTorch's ring")
    func torchTitan() throws {
        #expect(try Self.note(.torchtitan, model: "gpt-tiny") == "Searched for torchtitan: priced as with --optimizer-state fp32-weights "
                + "--grad-reduce-in-fp32 --overlap-grad-reduce --fsdp2 --fusion eager --cp-comm-type pytorch-ring; ZeRO 0, 2 or 3 only (the "
                + "stages it runs as priced); recomputation none, selective-op or full only (the modes it runs as priced). `shardplan plan` "
                + "without --emit searches ShardPlan's defaults, so its plan and time can differ from the ones here.")
    }

    @Test("no sentence where the search is plan's own")
    func none() throws {
        let graph = try #require(ModelCatalog.model(id: "moe-tiny")).build()
        let options = TrainingOptions(gradientPrecision: .bf16)
        #expect(TrainingFramework.megatron.searchNote(options: options, plain: options, variants: Self.plainVariants,
                                                      plainVariants: Self.plainVariants, graph: graph) == nil)
    }
}
