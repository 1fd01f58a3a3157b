import Testing
@testable import ShardPlan

/// A LoRA fine-tune's adapters in Megatron-Bridge's settings (`BridgeLowRankAdapters`): the PEFT class whose adapters
/// the graph holds, its target modules, rank and alpha; Examples/frameworks/check_megatron_bridge.py runs them
/// through Megatron-Bridge's own configuration.
@Suite("LoRA adapters in Megatron-Bridge's settings")
struct BridgeLowRankAdapterTests {
    static func graph(_ id: String, rank: Int) throws -> Graph {
        try #require(ModelCatalog.model(id: id)).build(sequenceLength: nil, globalBatch: nil, loraRank: rank)
    }

    @Test("q, k and v adapted apart are CanonicalLoRA; a fused qkv is LoRA; a mixture of experts takes neither")
    func peftClasses() throws {
        let llama = try #require(BridgeLowRankAdapters(graph: try Self.graph("llama-tiny", rank: 4)))
        #expect(llama.python == "CanonicalLoRA(target_modules=['linear_q', 'linear_k', 'linear_v', 'linear_proj', "
                + "'linear_fc1_up', 'linear_fc1_gate', 'linear_fc2'], dim=4, alpha=8)")
        let gpt = try #require(BridgeLowRankAdapters(graph: try Self.graph("gpt-tiny", rank: 8)))
        #expect(gpt.className == "LoRA" && gpt.targetModules == ["linear_qkv", "linear_proj", "linear_fc1", "linear_fc2"])
        #expect(gpt.rank == 8 && gpt.alpha == 8)
        #expect(BridgeLowRankAdapters(graph: try Self.graph("moe-tiny", rank: 4)) == nil)
        #expect(BridgeLowRankAdapters(graph: try ModelCatalog.model(id: "llama-tiny")!.build()) == nil)
    }

    /// `graph` with the trainable flag of each parameter whose name contains `name` set to `trainable`.
    static func setting(_ graph: Graph, trainable: Bool, where name: String) throws -> Graph {
        guard case .object(var top) = graph.json, case .array(let parameters)? = top["parameters"] else { throw InputError(.invalidValue, at: .root, "no parameters") }
        top["parameters"] = .array(parameters.map { entry in
            guard case .object(var object) = entry, case .string(let parameter)? = object["name"], parameter.contains(name) else { return entry }
            object["trainable"] = .bool(trainable)
            return .object(object)
        })
        return try Graph(json: .object(top))
    }

    /// Megatron-Bridge's classes train every adapter and freeze every other weight: a graph that trains a base weight
    /// or freezes an adapter is not theirs, and its settings say to freeze in code and build the adapters instead.
    @Test("adapters whose trainable flags are not the PEFT classes' take no class; the note names the adapters and their rank")
    func trainableFlagsMustMatch() throws {
        let lora = try Self.graph("llama-tiny", rank: 4)
        #expect(BridgeLowRankAdapters(graph: lora) != nil)
        let frozenAdapter = try Self.setting(lora, trainable: false, where: ".attn.k.lora_")
        let trainedBase = try Self.setting(lora, trainable: true, where: "h0.attn.q.w")
        #expect(BridgeLowRankAdapters(graph: frozenAdapter) == nil)
        #expect(BridgeLowRankAdapters(graph: trainedBase) == nil)
        let note = try #require(FrameworkExport.frozenParameterNote(lora, framework: .torchtitan))
        let adapters = lora.parameters.filter { LowRankAdapter(parameterName: lora[$0].name) != nil }
        #expect(note.hasPrefix("The graph is a LoRA fine-tune: it trains \(adapters.count) adapter tensors (A and B) of rank 4 "))
        #expect(note.contains("PEFT's LoraConfig with r=4") && note.contains("freeze them in the model's code"))
    }

    @Test("the settings set cfg.peft and start from the fine-tuning recipe")
    func settingsText() throws {
        let graph = try Self.graph("llama-tiny", rank: 4)
        let cluster = try Cluster.preset(named: "dgx-h100")
        let (layout, _) = try ParallelLayout.megatron(MegatronConfiguration(tensorParallel: 2, pipelineParallel: 1), graph: graph,
                                                      cluster: cluster, clusterName: "dgx-h100")
        let text = MegatronBridgeConfig(layout).text(header: [])
        #expect(text.contains("from megatron.bridge.peft.canonical_lora import CanonicalLoRA\n"))
        #expect(text.contains("\n    cfg.peft = CanonicalLoRA("))
        #expect(text.contains("finetune(cfg, forward_step)") && !text.contains("pretrain(apply_plan"))
    }
}
