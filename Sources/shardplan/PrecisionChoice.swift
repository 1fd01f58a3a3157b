import ArgumentParser
import ShardPlan

/// The arithmetic of the linear layers, for `plan` and `score`: `--precision` and `--fp8-recipe`.
struct PrecisionChoice: ParsableArguments {
    @Option(help: ArgumentHelp("Linear layers' GEMMs: bf16, fp8 (every linear layer), or auto (FP8 where it prices faster, per op; default bf16).",
                               valueName: "bf16|fp8|auto"))
    var precision: MatmulPrecision?

    @Option(name: .customLong("fp8-recipe"),
            help: ArgumentHelp("FP8 scaling: tensorwise (TransformerEngine delayed scaling), rowwise (torchao), blockwise (DeepSeek-V3, TE Float8BlockScaling); default tensorwise.",
                               valueName: "recipe"))
    var fp8Recipe: FP8Recipe?

    /// Whether either option was given (`score --plan` refuses them: the plan sets its own).
    var isGiven: Bool { precision != nil || fp8Recipe != nil }

    func validate() throws {
        if fp8Recipe != nil && (precision ?? .bf16) == .bf16 {
            throw ValidationError("--fp8-recipe applies to --precision fp8 or auto; give one of them.")
        }
    }

    /// `options` with the chosen precision.
    func applied(to options: TrainingOptions) -> TrainingOptions {
        var options = options
        options.precision = precision ?? .bf16
        options.fp8Recipe = fp8Recipe ?? .tensorwise
        return options
    }
}
