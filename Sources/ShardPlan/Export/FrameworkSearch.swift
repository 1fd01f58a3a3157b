/// How `plan --emit FRAMEWORK` searches otherwise than `plan` alone, said in the settings' header: the framework's own
/// options where the user left them (`TrainingFramework.searchedOptions`), the ZeRO stages and recomputation modes it
/// runs, and what the Megatron grid tries besides (`StageSearchOracle.Variants`). Its plan, and so the time the header
/// quotes, can differ from the one `plan` prints for the same model and cluster.
extension TrainingFramework {
    /// The header's sentence, or nil where the search was `plan`'s own: `options` and `variants` as searched for this
    /// framework, `plain` and `plainVariants` as `plan` without `--emit` would have searched `graph` (the grid's
    /// context-parallel exchanges are named only where its sequence takes context parallelism, the experts' overlapped
    /// all-to-alls only where it has experts).
    public func searchNote(options: TrainingOptions, plain: TrainingOptions, variants: StageSearchOracle.Variants,
                           plainVariants: StageSearchOracle.Variants, graph: Graph) -> String? {
        var flags: [String] = []
        if options.gradientPrecision != plain.gradientPrecision { flags.append("--grad-precision \(options.gradientPrecision.rawValue)") }
        if options.optimizerState != plain.optimizerState { flags.append("--optimizer-state \(options.optimizerState.rawValue)") }
        if options.reduceGradientsInFP32 && !plain.reduceGradientsInFP32 { flags.append("--grad-reduce-in-fp32") }
        if options.overlapGradientReduction && !plain.overlapGradientReduction { flags.append("--overlap-grad-reduce") }
        if options.copiesOutGatheredParameters && !plain.copiesOutGatheredParameters { flags.append("--fsdp2") }
        if options.kernelFusion != plain.kernelFusion { flags.append("--fusion \(options.kernelFusion.rawValue)") }
        if options.contextParallelCommunication != plain.contextParallelCommunication {
            flags.append("--cp-comm-type \(options.contextParallelCommunication.rawValue)")
        }
        var parts = flags.isEmpty ? [] : ["priced as with " + flags.joined(separator: " ")]
        if variants.zeroStages != plainVariants.zeroStages {
            parts.append("ZeRO \(Self.alternatives(variants.zeroStages.map(String.init))) only (the stages it runs as priced)")
        }
        if variants.recomputeModes != plainVariants.recomputeModes {
            parts.append("recomputation \(Self.alternatives(variants.recomputeModes.map(\.rawValue))) only (the modes it runs as priced)")
        }
        var grid: [String] = []
        if !variants.contextParallelCommunications.isEmpty && variants.contextParallelCommunications != plainVariants.contextParallelCommunications,
           MegatronGrid.contextParallelSizes(sequenceLength: ParallelLayout.sequenceLength(of: graph)).count > 1 {
            grid.append("each context-parallel exchange it runs")
        }
        if variants.triesExpertParallelOverlap && !plainVariants.triesExpertParallelOverlap, !ExpertLayers(graph).expertCounts.isEmpty {
            grid.append("the experts' all-to-alls overlapped")
        }
        if !grid.isEmpty { parts.append("its Megatron grid also trying " + grid.joined(separator: " and ")) }
        guard !parts.isEmpty else { return nil }
        return "Searched for \(displayName): \(parts.joined(separator: "; ")). `shardplan plan` without --emit searches ShardPlan's defaults, "
            + "so its plan and time can differ from the ones here."
    }

    /// "0", "0 or 1", "0, 1 or 2".
    private static func alternatives(_ items: [String]) -> String {
        items.count < 2 ? items.joined() : items.dropLast().joined(separator: ", ") + " or " + items.last!
    }
}
