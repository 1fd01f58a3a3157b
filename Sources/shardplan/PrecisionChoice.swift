import ArgumentParser
import ShardPlan

/// The arithmetic of the linear layers, for `plan` and `score`: `--precision`, `--fp8-recipe` and `--fp8-params`.
struct PrecisionChoice: ParsableArguments {
    @Option(help: ArgumentHelp("Linear layers' GEMMs: bf16, fp8 (every linear layer), or auto (FP8 where it prices faster, per op; default bf16).",
                               valueName: "bf16|fp8|auto"))
    var precision: MatmulPrecision?

    @Option(name: .customLong("fp8-recipe"),
            help: ArgumentHelp("FP8 scaling: tensorwise (one scale a tensor, priced as TransformerEngine's delayed scaling, Megatron-Core --fp8-recipe delayed; Megatron-Core's tensorwise current scaling and torchao's dynamic tensorwise, torchtitan's default, read each input once more for its amax, not priced), rowwise (torchao), blockwise (DeepSeek-V3, TE Float8BlockScaling); default tensorwise.",
                               valueName: "recipe"))
    var fp8Recipe: FP8Recipe?

    @Flag(name: .customLong("fp8-params"),
          help: "Keep FP8 linear layers' weights in FP8 beside the fp32 master copy and gather them in FP8 (Megatron-Core --fp8-param-gather, NeMo fp8_params, torchtitan enable_fsdp_float8_all_gather); needs --precision fp8 or auto, and the tensorwise or blockwise recipe.")
    var fp8Parameters = false

    /// Whether any option was given (`score --plan` refuses them: the plan sets its own).
    var isGiven: Bool { precision != nil || fp8Recipe != nil || fp8Parameters }

    func validate() throws {
        if fp8Recipe != nil && (precision ?? .bf16) == .bf16 {
            throw ValidationError("--fp8-recipe applies to --precision fp8 or auto; give one of them.")
        }
    }

    /// Refuses `--fp8-params` where the linear layers run in bf16, with the rowwise recipe, or with the optimizer
    /// state of `kernels` (`--optimizer-state bf16` has no master copy): the commands' own validation calls it.
    func validate(with kernels: KernelChoice) throws {
        if let conflict = kernels.applied(to: applied(to: TrainingOptions())).fp8ParametersConflict(flag: "--fp8-params") {
            throw ValidationError(conflict + ".")
        }
    }

    /// Refuses `options` whose precision `device` does not run (`TrainingOptions.precisionConflict(on:flag:)`), as an
    /// error at `--precision`.
    static func check(_ options: TrainingOptions, on device: DeviceSpec) throws(InputError) {
        if let conflict = options.precisionConflict(on: device, flag: "--precision") {
            throw InputError(.invalidValue, at: JSONPath([.key("--precision")]), conflict)
        }
    }

    /// `options` with the chosen precision.
    func applied(to options: TrainingOptions) -> TrainingOptions {
        var options = options
        options.precision = precision ?? .bf16
        options.fp8Recipe = fp8Recipe ?? .tensorwise
        options.fp8Parameters = fp8Parameters
        return options
    }
}
