/// What the loss holds in memory, per element of its logits, as each stack's cross-entropy runs: what its forward
/// pass keeps for the backward pass, and the gradient buffers its backward pass allocates on top while the
/// rest of the microbatch's activations are still alive (the loss's backward runs first). The time of the same
/// kernels is `OperatorCostModel`'s; Docs/cost-model.md, "Memory", gives the sources.
struct CrossEntropyMemory: Equatable {
    /// Bytes per logit kept from the forward pass for the backward pass.
    var savedBytesPerElement: Double
    /// Bytes per logit the backward pass allocates beyond what is saved, at its largest.
    var workingBytesPerElement: Double

    /// The loss of `options`' training stack over logits of `logitBytes` bytes an element.
    init(options: TrainingOptions, logitBytes: Double) {
        self.init(fusion: options.lossFusion, fusedKernel: options.fusedCrossEntropy, logitBytes: logitBytes,
                  upcast: options.upcastsLoss, inPlace: options.writesLossGradientInPlace)
    }

    /// The loss of a stack that fuses kernels as `fusion` says, with or without a fused cross-entropy kernel, over
    /// logits of `logitBytes` bytes an element; `upcast` false: an eager loss on the 16-bit logits themselves;
    /// `inPlace`: a fused kernel that writes the gradient over the logits.
    init(fusion: KernelFusionLevel, fusedKernel: Bool, logitBytes: Double, upcast: Bool = true, inPlace: Bool = false) {
        switch (fusion, fusedKernel) {
        case (_, true) where inPlace:
            // flash-attn's `CrossEntropyLoss(inplace_backward=True)` (its GPT training configs), TransformerEngine's
            // fused loss: the logits are kept, and the backward pass writes their gradient over them.
            self.init(savedBytesPerElement: logitBytes, workingBytesPerElement: 0)
        case (.eager, false) where !upcast:
            // PyTorch's `cross_entropy(logits)` on 16-bit logits the training loop still holds (KempnerForge's):
            // the logits and log-softmax's 16-bit output stay; the backward pass allocates the NLL's gradient of the
            // log-probabilities and log-softmax's gradient of the logits, both 16-bit, while both are needed.
            self.init(savedBytesPerElement: 2 * logitBytes, workingBytesPerElement: 2 * logitBytes)
        case (.compiled, true):
            // llm.c's fused classifier writes the logits' gradient over the logits (`fused_classifier` on
            // `acts.output`): the logits stay, nothing more is allocated.
            self.init(savedBytesPerElement: logitBytes, workingBytesPerElement: 0)
        case (.compiled, false):
            // torch.compile with the loss in the compiled graph: the forward pass keeps the 16-bit logits (the
            // log-softmax is recomputed), and the backward pass's one fused kernel reads them while it writes
            // their 16-bit gradient into a new buffer (gollem's measured peaks, Docs/cost-model.md, "Issue 14,
            // ninth pass").
            self.init(savedBytesPerElement: logitBytes, workingBytesPerElement: logitBytes)
        case (.eager, true):
            // flash-attn's CrossEntropyLoss (llm-foundry): the forward pass keeps the logits and a log-sum-exp per
            // row, the backward pass writes a new 16-bit gradient (`inplace_backward=False`, the default).
            self.init(savedBytesPerElement: logitBytes, workingBytesPerElement: logitBytes)
        case (.eager, false):
            // PyTorch's `cross_entropy(logits.float(), labels)` (torchtitan's loss): log-softmax keeps its fp32
            // output; the backward pass allocates the NLL's gradient of the log-probabilities (fp32) and
            // log-softmax's gradient of the logits (fp32) while both are needed, then casts the latter to the
            // logits' type after the first is freed.
            self.init(savedBytesPerElement: 4, workingBytesPerElement: 8)
        case (.fused, _):
            // Megatron's vocabulary-parallel cross-entropy, and Megatron-Core's fused one (its native
            // implementation, the default): the forward pass keeps the fp32 softmax, the backward pass turns it
            // into the gradient in place, and casting it back to 16 bits allocates the copy.
            self.init(savedBytesPerElement: 4, workingBytesPerElement: logitBytes < 4 ? logitBytes : 0)
        }
    }

    init(savedBytesPerElement: Double, workingBytesPerElement: Double) {
        self.savedBytesPerElement = savedBytesPerElement
        self.workingBytesPerElement = workingBytesPerElement
    }
}
