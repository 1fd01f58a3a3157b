import ArgumentParser
import ShardPlan

extension RecomputeMode: ExpressibleByArgument {}
extension PipelineSchedule: ExpressibleByArgument {}
