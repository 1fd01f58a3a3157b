/// A LoRA fine-tune's adapters (`shardplan models ID --lora-rank R`) as Megatron-Bridge's PEFT classes take them:
/// `CanonicalLoRA` where the graph adapts q, k and v (or the gate and up projections) apart, as the catalog's
/// grouped-query models do, `LoRA` where it adapts the fused `linear_qkv` and `linear_fc1`; the rank (`dim`) and
/// `alpha` from the adapters' shapes and scale. Nil for a graph without them, for adapters of layers Megatron-Bridge
/// names otherwise, for a mixture of experts, whose routed experts Megatron-Bridge's classes would adapt too, and
/// where the graph's trainable flags are not the classes' (every adapter trained, every other weight frozen).
struct BridgeLowRankAdapters: Sendable, Equatable {
    /// `CanonicalLoRA` or `LoRA`.
    var className: String
    /// The module that defines it.
    var module: String
    /// Megatron-Core's names of the adapted linear layers (`linear_q`, `linear_proj`, ...), in Megatron-Bridge's order.
    var targetModules: [String]
    var rank: Int
    var alpha: Double

    init?(graph: Graph) {
        guard graph.operations.allSatisfy({ MegatronLayout.expertGEMMIndex($0, graph: graph) == nil }),
              Self.flagsAreThePEFTClasses(graph) else { return nil }
        var layers = Set<String>(), rank: Int?, scale: Double?
        // ShardPlan's own adapters (`h3.attn.q.lora_a`), whose names say the layer they adapt.
        for id in graph.parameters where graph[id].name.hasSuffix(".lora_a") {
            let name = String(graph[id].name.dropLast(".lora_a".count))
            guard let last = name.split(separator: ".").last else { return nil }
            layers.insert(String(last))
            rank = graph[id].type.shape.last
            if let op = graph.operations.first(where: { $0.name == name + ".lora_scale" }), case .scale(let factor) = op.op { scale = factor }
        }
        guard let rank, let scale, !layers.isEmpty else { return nil }
        // ShardPlan's layer names against Megatron-Core's, canonical (q, k and v apart; gate and up apart) first.
        let canonical = ["q": "linear_q", "k": "linear_k", "v": "linear_v", "out": "linear_proj", "up": "linear_fc1_up",
                         "gate": "linear_fc1_gate", "down": "linear_fc2"]
        let fused = ["qkv": "linear_qkv", "out": "linear_proj", "up": "linear_fc1", "down": "linear_fc2"]
        if layers.allSatisfy({ canonical[$0] != nil }) && !layers.isDisjoint(with: ["q", "k", "v", "gate"]) {
            let order = ["linear_q", "linear_k", "linear_v", "linear_proj", "linear_fc1_up", "linear_fc1_gate", "linear_fc2"]
            (className, module) = ("CanonicalLoRA", "megatron.bridge.peft.canonical_lora")
            targetModules = order.filter { Set(layers.compactMap { canonical[$0] }).contains($0) }
        } else if layers.allSatisfy({ fused[$0] != nil }) {
            let order = ["linear_qkv", "linear_proj", "linear_fc1", "linear_fc2"]
            (className, module) = ("LoRA", "megatron.bridge.peft.lora")
            targetModules = order.filter { Set(layers.compactMap { fused[$0] }).contains($0) }
        } else {
            return nil
        }
        self.rank = rank
        alpha = scale * Double(rank)
    }

    /// Whether every adapter is trained and every other weight frozen, as the PEFT classes set them, over the weights
    /// that could carry a gradient (`Graph.weightsCarryingGradients`).
    static func flagsAreThePEFTClasses(_ graph: Graph) -> Bool {
        graph.weightsCarryingGradients.allSatisfy { graph[$0].isFrozen == (LowRankAdapter(parameterName: graph[$0].name) == nil) }
    }

    /// The assignment `apply_plan` makes: `CanonicalLoRA(target_modules=[...], dim=16, alpha=8)`.
    var python: String {
        let alphaText = alpha == alpha.rounded() ? String(Int(alpha)) : String(alpha)
        return "\(className)(target_modules=[" + targetModules.map { "'\($0)'" }.joined(separator: ", ") + "], dim=\(rank), alpha=\(alphaText))"
    }
}
