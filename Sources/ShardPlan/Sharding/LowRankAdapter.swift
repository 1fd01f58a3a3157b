/// The two weights of a LoRA adapter beside a linear layer (Hu et al. 2021): `A` projects the layer's input down to
/// the rank, `B` the rank up to the layer's outputs. Recognised by name: ShardPlan's own (`h3.attn.q.lora_a`,
/// `.lora_b`: `shardplan models ID --lora-rank R`) and PEFT's, as the PyTorch exporter names them
/// (`q_proj.lora_A.default.weight`, `lora_B`).
enum LowRankAdapter {
    case down, up

    /// The rank of a down-projection `A` of `shape` called `name`: ShardPlan's `[inputs, rank]` (`.lora_a`), PEFT's
    /// `[rank, inputs]` (`lora_A`); nil for any other weight.
    static func rank(ofParameter name: String, shape: [Int]) -> Int? {
        guard Self(parameterName: name) == .down else { return nil }
        return name.hasSuffix(".lora_a") ? shape.last : shape.first
    }

    /// The role of the parameter called `name`, or nil for any other weight.
    init?(parameterName name: String) {
        if name.hasSuffix(".lora_a") || name.contains(".lora_A.") || name.hasSuffix(".lora_A") {
            self = .down
        } else if name.hasSuffix(".lora_b") || name.contains(".lora_B.") || name.hasSuffix(".lora_B") {
            self = .up
        } else {
            return nil
        }
    }
}
