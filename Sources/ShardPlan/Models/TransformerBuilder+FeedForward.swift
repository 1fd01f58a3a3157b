extension TransformerBuilder {
    /// The dense MLP: `down(gelu(up(x)))`, or `down(silu(gate(x)) * up(x))` for SwiGLU, `width` wide
    /// (default the model's `feedForwardHidden`).
    func feedForward(_ prefix: String, _ x: ValueID, width: Int? = nil, in graph: inout GraphBuilder) throws(InputError) -> ValueID {
        let c = configuration
        let inner = width ?? c.feedForwardHidden
        let (up, down) = ([c.hidden, inner], [inner, c.hidden])
        let activated: ValueID
        switch c.feedForward {
        case .gelu:
            let hidden = try project("\(prefix).up", "bsd,df->bsf", x, weight: up, bias: [inner], in: &graph)
            activated = try graph.unary("\(prefix).gelu", .gelu, hidden)
        case .swiGLU:
            let gate = try project("\(prefix).gate", "bsd,df->bsf", x, weight: up, bias: [inner], in: &graph)
            let hidden = try project("\(prefix).up", "bsd,df->bsf", x, weight: up, bias: [inner], in: &graph)
            let silu = try graph.unary("\(prefix).silu", .silu, gate)
            activated = try graph.binary("\(prefix).gated", .mul, silu, hidden)
        }
        return try project("\(prefix).down", "bsf,fd->bsd", activated, weight: down, bias: [c.hidden], in: &graph)
    }

    /// GShard's mixture-of-experts MLP (Lepikhin et al. 2020, Algorithm 2), with each sequence as one group
    /// (GShard's G): gate `bsd,de->bse`, softmax, dispatch `bsec,bsd->ebcd` into `capacity` slots per expert
    /// and sequence, expert MLPs `ebcd,edf->ebcf` and `ebcf,efd->ebcd`, combine `bsec,ebcd->bsd`.
    ///
    /// Top-k selection and slot assignment only decide which entries of the `[batch, seq, experts,
    /// capacity]` combine weights are non-zero, which no shape depends on; a broadcast of the gate
    /// probabilities stands for them. The dispatch mask is the same tensor without gradient, as GShard casts
    /// its combine weights to a mask. Keeping the group index makes the mask grow with the batch, not with
    /// its square.
    func mixtureOfExperts(_ prefix: String, _ x: ValueID, experts moe: TransformerConfiguration.MixtureOfExperts,
                          in graph: inout GraphBuilder) throws(InputError) -> ValueID {
        let c = configuration
        let router = try graph.parameter("\(prefix).router.w", [c.hidden, moe.experts], c.dtype)
        let logits = try graph.einsum("\(prefix).router", "bsd,de->bse", x, router)
        let probabilities = try graph.add("\(prefix).router.probs", .softmax(axis: 2), [logits])
        let combine = try graph.add("\(prefix).combine",
                                    .broadcast(shape: [c.globalBatch, c.sequenceLength, moe.experts, moe.capacity],
                                               dimensions: [0, 1, 2]), [probabilities])
        let dispatch = try graph.unary("\(prefix).dispatch", .stopGradient, combine)
        let dispatched = try graph.einsum("\(prefix).dispatched", "bsec,bsd->ebcd", dispatch, x)
        let width = moe.expertFeedForwardHidden ?? c.feedForwardHidden
        let up = try graph.parameter("\(prefix).experts.up.w", [moe.experts, c.hidden, width], c.dtype)
        let inner = try graph.einsum("\(prefix).experts.up", "ebcd,edf->ebcf", dispatched, up)
        let activated = try graph.unary("\(prefix).experts.gelu", .gelu, inner)
        let down = try graph.parameter("\(prefix).experts.down.w", [moe.experts, width, c.hidden], c.dtype)
        let expertOutputs = try graph.einsum("\(prefix).experts.down", "ebcf,efd->ebcd", activated, down)
        return try graph.einsum("\(prefix).combined", "bsec,ebcd->bsd", combine, expertOutputs)
    }

    /// Routed experts with token permutation (Megatron-Core's all-to-all dispatcher, DeepSeek-V3, Qwen3-MoE):
    /// router `bsd,de->bse` and its scores (softmax, or sigmoid for DeepSeek-V3); the top k scores of each token
    /// `[b, s, k]`; each token copied k times and laid out by expert, `[b, C, e, d]` with `C = s k / e` slots per
    /// expert and sequence, then permuted expert-major `[e, b, C, d]` (Megatron's permute kernel, a copy); each
    /// expert's MLP as grouped GEMMs `ebcd,edf->ebcf` (SwiGLU or GELU as the model's MLP), its down projection
    /// writing back in token-major order `[b, C, e, d]`; then the k outputs of each token weighted by their
    /// scores and summed (Megatron's unpermute). Under expert parallelism the permuted buffers change hands by
    /// all-to-alls, since an expert-split tensor cannot reach the token-major layout any other way (the expert
    /// dimension is the trailing one of its reshape group).
    ///
    /// Which k experts and which slots a token takes is data-dependent and changes no shape: the first k scores
    /// stand for the top k (a slice keeps their gradient flowing to the router), a reshape of the copies for the
    /// permutation. With a capacity factor, zero slots pad each expert's buffer (a concatenation) and are cut
    /// off again after the experts. Returns the output and, when the model has one, the router's
    /// load-balancing loss of each sequence `[batch]` (Switch Transformer, Fedus et al. 2021, eq. 4:
    /// `E x sum_e f_e P_e` over one sequence's tokens, with the fraction `f_e` of tokens routed to e standing as
    /// the score mean without gradient).
    func routedExperts(_ prefix: String, _ x: ValueID, experts moe: TransformerConfiguration.MixtureOfExperts,
                       in graph: inout GraphBuilder) throws(InputError) -> (output: ValueID, auxiliaryLoss: ValueID?) {
        let c = configuration
        let (batch, sequence, hidden, experts, k) = (c.globalBatch, c.sequenceLength, c.hidden, moe.experts, moe.topK)
        let width = moe.expertFeedForwardHidden ?? c.feedForwardHidden
        let (dropless, slots) = moe.slots(sequenceLength: sequence)
        let router = try graph.parameter("\(prefix).router.w", [hidden, experts], c.dtype)
        let logits = try graph.einsum("\(prefix).router", "bsd,de->bse", x, router)
        let scores = switch moe.scoring {
        case .softmax: try graph.add("\(prefix).router.probs", .softmax(axis: 2), [logits])
        case .sigmoid: try graph.unary("\(prefix).router.scores", .sigmoid, logits)
        }
        let gates = try graph.add("\(prefix).router.top_k", .slice(axis: 2, start: 0, end: k, groups: moe.groups), [scores])
        let copies = try graph.add("\(prefix).dispatch.copies", .broadcast(shape: [batch, sequence, k, hidden], dimensions: [0, 1, 3]), [x])
        var routed = try graph.reshape("\(prefix).dispatch.slots", copies, [batch, dropless, experts, hidden])
        if slots > dropless {
            let padding = try graph.add("\(prefix).dispatch.padding", .constant(shape: [batch, slots - dropless, experts, hidden], dtype: c.dtype, value: 0), [])
            routed = try graph.add("\(prefix).dispatch.padded", .concat(axis: 1), [routed, padding])
        }
        let permuted = try graph.add("\(prefix).dispatch.permute", .transpose(permutation: [2, 0, 1, 3]), [routed])
        let up = try graph.parameter("\(prefix).experts.up.w", [experts, hidden, width], c.dtype)
        let activated: ValueID
        switch c.feedForward {
        case .gelu:
            let inner = try graph.einsum("\(prefix).experts.up", "ebcd,edf->ebcf", permuted, up)
            activated = try graph.unary("\(prefix).experts.gelu", .gelu, inner)
        case .swiGLU:
            let gateWeight = try graph.parameter("\(prefix).experts.gate.w", [experts, hidden, width], c.dtype)
            let gate = try graph.einsum("\(prefix).experts.gate", "ebcd,edf->ebcf", permuted, gateWeight)
            let inner = try graph.einsum("\(prefix).experts.up", "ebcd,edf->ebcf", permuted, up)
            let silu = try graph.unary("\(prefix).experts.silu", .silu, gate)
            activated = try graph.binary("\(prefix).experts.gated", .mul, silu, inner)
        }
        let down = try graph.parameter("\(prefix).experts.down.w", [experts, width, hidden], c.dtype)
        var outputs = try graph.einsum("\(prefix).experts.down", "ebcf,efd->bced", activated, down)
        if slots > dropless {
            outputs = try graph.add("\(prefix).combine.unpadded", .slice(axis: 1, start: 0, end: dropless), [outputs])
        }
        let returned = try graph.reshape("\(prefix).combine.copies", outputs, [batch, sequence, k, hidden])
        let weights = try graph.add("\(prefix).combine.gates", .broadcast(shape: [batch, sequence, k, hidden], dimensions: [0, 1, 2]), [gates])
        let weighted = try graph.binary("\(prefix).combine.weighted", .mul, returned, weights)
        var output = try graph.add("\(prefix).combine", .reduce(.sum, axes: [2], keepDimensions: false), [weighted])
        if moe.sharedExperts > 0 {
            let shared = try feedForward("\(prefix).shared", x, width: width * moe.sharedExperts, in: &graph)
            output = try graph.binary("\(prefix).with_shared", .add, output, shared)
        }
        guard let weight = moe.auxiliaryLossWeight else { return (output, nil) }
        // Per sequence, as DeepSeek-V3's sequence-wise balance loss and GShard's groups: each data-parallel rank
        // computes it for its own sequences, and only the sum of all layers' losses is reduced, at the head.
        let meanScores = try graph.add("\(prefix).aux.mean_scores", .reduce(.mean, axes: [1], keepDimensions: false), [scores])
        let fractions = try graph.unary("\(prefix).aux.fractions", .stopGradient, meanScores)
        let products = try graph.binary("\(prefix).aux.products", .mul, meanScores, fractions)
        let balance = try graph.add("\(prefix).aux.sum", .reduce(.sum, axes: [1], keepDimensions: false), [products])
        let scaled = try graph.add("\(prefix).aux.scaled", .scale(factor: weight * Double(experts)), [balance])
        // The losses are summed in fp32 with the cross-entropy's.
        return (output, try graph.add("\(prefix).aux", .cast(.f32), [scaled]))
    }
}
