extension GradientPrecision {
    /// The names a calibration row's `grad_sync_dtype` takes: the cases' own, and `fp16` (Megatron-LM keeps
    /// `main_grad` in fp16 under `--fp16`), a buffer of two bytes an element priced as the bf16 one.
    static let rowNames = allCases.map(\.rawValue) + ["fp16"]

    /// The buffer a row's `grad_sync_dtype` names, or nil for a name rows do not take.
    init?(rowName: String) {
        self.init(rawValue: rowName == "fp16" ? GradientPrecision.bf16.rawValue : rowName)
    }
}
