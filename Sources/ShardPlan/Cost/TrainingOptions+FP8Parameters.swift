extension TrainingOptions {
    /// Why the stack cannot keep its linear layers' weights in FP8 (`fp8Parameters`) under these options, or nil
    /// where it can (or where the option is off): the weights must be those of layers that run in FP8
    /// (`precision` fp8 or auto), scaled per tensor or per block (torchao gathers FP8 weights only with tensorwise
    /// scaling, and torchtitan refuses `enable_fsdp_float8_all_gather` with a `recipe_name`), beside a master copy
    /// that the optimizer updates (TransformerEngine's `fp8_model_init` keeps fp32 master weights in the optimizer;
    /// an FP8 weight updated in place would lose the update's low bits). `flag` names the option as the reader
    /// gave it: a command-line flag (`--fp8-params`), whose remedies are flags, or a JSON member (`fp8_params`),
    /// whose remedies are members.
    public func fp8ParametersConflict(flag: String) -> String? {
        guard fp8Parameters else { return nil }
        let onCommandLine = flag.hasPrefix("--")
        if precision == .bf16 {
            return "\(flag) keeps the weights of FP8 linear layers in FP8, and the linear layers do not run in FP8 here: give "
                + (onCommandLine ? "--precision fp8 or auto" : "\"precision\": \"fp8\" or \"auto\"")
        }
        if fp8Recipe == .rowwise {
            return "\(flag) keeps and gathers weights in FP8 with one scale a tensor or a block (torchao's enable_fsdp_float8_all_gather refuses row-wise scales), and the rowwise recipe casts its weights from 16 bits each microbatch: give "
                + (onCommandLine ? "--fp8-recipe tensorwise or blockwise" : "\"fp8_recipe\": \"tensorwise\" or \"blockwise\"")
        }
        if optimizerState == .bf16 {
            return "\(flag) keeps an FP8 weight beside an fp32 master copy, and bf16 optimizer state has none: give "
                + (onCommandLine ? "--optimizer-state fp32 or fp32-weights" : "\"optimizer_state\": \"fp32\" or \"fp32-weights\"")
        }
        return nil
    }
}
