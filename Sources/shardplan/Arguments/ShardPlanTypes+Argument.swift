import ArgumentParser
import ShardPlan

// The library's own enums, parsed by their raw values (`selective`, `interleaved-1f1b`).
extension RecomputeMode: ExpressibleByArgument {}
extension PipelineSchedule: ExpressibleByArgument {}
extension MatmulPrecision: ExpressibleByArgument {}
extension FP8Recipe: ExpressibleByArgument {}
extension GradientPrecision: ExpressibleByArgument {}
extension OptimizerStatePrecision: ExpressibleByArgument {}
extension TrainingFramework: ExpressibleByArgument {}
extension RewriteSelection: ExpressibleByArgument {}
