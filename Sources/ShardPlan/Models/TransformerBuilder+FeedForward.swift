extension TransformerBuilder {
    /// The dense MLP: `down(gelu(up(x)))`, or `down(silu(gate(x)) * up(x))` for SwiGLU.
    func feedForward(_ prefix: String, _ x: ValueID, in graph: inout GraphBuilder) throws(InputError) -> ValueID {
        let c = configuration
        let (up, down) = ([c.hidden, c.feedForwardHidden], [c.feedForwardHidden, c.hidden])
        let activated: ValueID
        switch c.feedForward {
        case .gelu:
            let inner = try project("\(prefix).up", "bsd,df->bsf", x, weight: up, bias: [c.feedForwardHidden], in: &graph)
            activated = try graph.unary("\(prefix).gelu", .gelu, inner)
        case .swiGLU:
            let gate = try project("\(prefix).gate", "bsd,df->bsf", x, weight: up, bias: [c.feedForwardHidden], in: &graph)
            let inner = try project("\(prefix).up", "bsd,df->bsf", x, weight: up, bias: [c.feedForwardHidden], in: &graph)
            let silu = try graph.unary("\(prefix).silu", .silu, gate)
            activated = try graph.binary("\(prefix).gated", .mul, silu, inner)
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
        let up = try graph.parameter("\(prefix).experts.up.w", [moe.experts, c.hidden, c.feedForwardHidden], c.dtype)
        let inner = try graph.einsum("\(prefix).experts.up", "ebcd,edf->ebcf", dispatched, up)
        let activated = try graph.unary("\(prefix).experts.gelu", .gelu, inner)
        let down = try graph.parameter("\(prefix).experts.down.w", [moe.experts, c.feedForwardHidden, c.hidden], c.dtype)
        let expertOutputs = try graph.einsum("\(prefix).experts.down", "ebcf,efd->ebcd", activated, down)
        return try graph.einsum("\(prefix).combined", "bsec,ebcd->bsd", combine, expertOutputs)
    }
}
