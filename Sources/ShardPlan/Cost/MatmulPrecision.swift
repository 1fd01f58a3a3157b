/// The arithmetic the linear layers' GEMMs run in (`--precision`). Everything else (attention, norms, the
/// loss, the optimizer) stays in the graph's 16-bit type whatever the choice, as TransformerEngine and
/// torchao do.
public enum MatmulPrecision: String, CaseIterable, Sendable {
    /// Every GEMM in the graph's type (bf16 for the catalog's models).
    case bf16
    /// Every linear layer in FP8 with `TrainingOptions.fp8Recipe` (Docs/cost-model.md, "FP8").
    case fp8
    /// Each linear layer in FP8 where that prices faster under its sharding, else in bf16: the search's
    /// choice per op (a small GEMM loses more to its casts than its FP8 rate wins).
    case auto
}

/// How FP8 tensors are scaled, which decides the casts a linear layer pays and what it keeps in memory.
public enum FP8Recipe: String, CaseIterable, Sendable {
    /// One scale per tensor: TransformerEngine's delayed scaling (the amax is taken inside the cast, from the
    /// history of earlier steps), as Megatron-Core's `--fp8-recipe delayed` runs it: activations and gradients
    /// cast with their transposes in one kernel, FP8 weights cached for the iteration, inputs saved in FP8.
    case tensorwise
    /// One scale per row: torchao's float8 `rowwise` recipe (torchtitan): every GEMM operand cast along its own
    /// axis from the bf16 tensor, weights each microbatch, bf16 inputs saved and cast again in backward.
    case rowwise
    /// Scales per 1x128 tile of activations and gradients and per 128x128 block of weights: DeepSeek-V3's
    /// recipe (arXiv:2412.19437, section 3.3), TransformerEngine's `Float8BlockScaling`, and the shape of
    /// MXFP8 on Blackwell; inputs saved in FP8 with their scales, FP8 weights cached.
    case blockwise
}

extension TrainingOptions {
    /// Why `precision` cannot run on `device` (nil where it can): FP8, alone or as `auto`'s choice, on a device without
    /// FP8 tensor cores (its cluster lists no fp8 peak), which TransformerEngine and torchao refuse too; an A100 or a
    /// V100 would run the FP8 GEMMs at its 16-bit rate and only pay the casts. `flag` names the setting as the reader
    /// gave it: a command-line flag (`--precision`), whose remedy is a flag, or a member (`precision`).
    public func precisionConflict(on device: DeviceSpec, flag: String) -> String? {
        guard precision != .bf16, device.peakFLOPsPerSecond[.fp8] == nil else { return nil }
        let remedy = flag.hasPrefix("--") ? "use \(flag) bf16" : "set \(flag) to bf16"
        return "\(device.name) has no FP8 tensor cores (its cluster lists no fp8 peak); \(remedy)"
    }

    /// Refuses a `precision` that cannot run on `device` (`precisionConflict(on:flag:)`) with an `InputError` at
    /// `options.precision`. The planners, `TrainingPlan.megatron` and `PlanEvaluator.evaluate(checking:)` call it on
    /// their cluster's device, so that no entry point plans or prices what a plan document on that cluster is refused for.
    public func check(on device: DeviceSpec) throws(InputError) {
        if let conflict = precisionConflict(on: device, flag: "precision") {
            throw InputError(.invalidValue, at: JSONPath([.key("options"), .key("precision")]), conflict)
        }
    }
}
