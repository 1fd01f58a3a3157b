extension TrainingPlan {
    /// The one-line description of a pipelined layout that `plan` prints and `score --plan` shows for a saved
    /// plan, worked out from the stages themselves: each pipeline rank as `MegatronSummary` names its first chunk
    /// (with its recomputation), ranks alike named once (`stages 1-31 ...`), the depth (`pp`, `vp`) and, where
    /// the ranks hold different numbers of the graph's layers, those numbers (`layers=13,12,...`), and the settings
    /// that differ from the defaults (`TrainingOptions.settingsText(gathersWeights:)`).
    public var stageSummary: String {
        let ranks = max(pipelineRanks, 1)
        let summaries = (0 ..< ranks).map { describe(stages[$0]) }
        // A rank holds the layers whose first op is in one of its chunks.
        let layerStarts = GraphAnalysis(graph).layers.map(\.operations.lowerBound)
        let counts = (0 ..< ranks).map { rank in
            stride(from: rank, to: stages.count, by: ranks).reduce(0) { total, chunk in
                total + layerStarts.count { stages[chunk].operations.contains($0) }
            }
        }
        let depth = "pp=\(ranks)" + (virtualStages > 1 ? " vp=\(virtualStages)" : "")
        let layerText = Set(counts).count == 1 ? "" : " layers=" + counts.map(String.init).joined(separator: ",")
        var runs: [(first: Int, last: Int, summary: String)] = []
        for (rank, summary) in summaries.enumerated() {
            if runs.last?.summary == summary { runs[runs.count - 1].last = rank } else { runs.append((rank, rank, summary)) }
        }
        let ineffective = Set(ineffectiveOptions.map(\.setting))
        var shown = options
        shown.overlapTensorParallelCommunication = options.overlapTensorParallelCommunication && !ineffective.contains(.tensorParallelOverlap)
        let settings = shown.settingsText(gathersWeights: !ineffective.contains(.fsdp2CopyOut))
        return runs.count == 1 ? "\(summaries[0]) \(depth)\(layerText)\(settings)"
            : "\(depth)\(layerText): " + runs.map { run in
                (run.first == run.last ? "stage \(run.first)" : "stages \(run.first)-\(run.last)") + " \(run.summary)"
            }.joined(separator: "; ") + (settings.isEmpty ? "" : ";" + settings)
    }

    /// `MegatronSummary`'s description of `stage`, at the plan's ZeRO stage at least as the cost model prices it,
    /// with the context-parallel exchange where the stage splits some attention's queries and it is not the ring
    /// (`cp-comm=all-to-all`), `ep-overlap` where the experts' all-to-alls overlap another microbatch's compute, the
    /// dispatcher where it is not NCCL's all-to-all and the stage splits experts (`deepep`), and the recomputation it
    /// runs (its own, else the plan's), if any.
    func describe(_ stage: StageLayout) -> String {
        let recompute = stage.recompute ?? options.recompute
        let communication = options.contextParallelCommunication
        let splitsQueries = stage.operations.contains {
            ContextParallelExchange.ringSize(graph.operations[$0], stage.strategy(of: $0), meshShape: stage.mesh.shape) > 1
        }
        let group = communication == .hierarchical ? stage.hierarchicalContextGroup(in: graph) : nil
        let roles = MegatronSummary.roles(of: Self.withPlanZeroStage(stage, options.zeroStage, graph: graph), graph: graph)
        // A context axis that splits attention's heads has named its all-to-all already.
        return MegatronSummary.describe(roles)
            + (splitsQueries && communication != .ring && !roles.contextByHeads ? " cp-comm=\(communication.rawValue)" : "")
            + (group.map { " cp-a2a=\($0)" } ?? "")
            + (options.overlapExpertParallelCommunication ? " ep-overlap" : "")
            + (options.expertDispatcher != .allToAll && stage.splitsExperts(in: graph) ? " \(options.expertDispatcher.rawValue)" : "")
            + (recompute == .none ? "" : " recompute=\(options.recomputeName(recompute))")
    }

    /// "frozen: 8.03 B of 8.07 B parameters in 291 tensors (no gradients or optimizer state); trained: 42.0 M in 224
    /// tensors" where the graph freezes some (`Value.isFrozen`); nil where it trains every weight. The trained count
    /// says what the rounded frozen share cannot, where adapters are a sliver of the model.
    public var frozenParametersText: String? {
        let frozen = graph.frozenParameters
        guard !frozen.isEmpty else { return nil }
        let trained = graph.parameters.filter { !graph[$0].isFrozen }
        let count = { (ids: [ValueID]) in Double(graph.elementCount(of: ids)) }
        let tensors = { (ids: [ValueID]) in "\(ids.count) tensor\(ids.count == 1 ? "" : "s")" }
        return "frozen: \(UnitFormat.count(count(frozen))) of \(UnitFormat.count(count(graph.parameters))) parameters in "
            + "\(tensors(frozen)) (no gradients or optimizer state); trained: \(UnitFormat.count(count(trained))) in \(tensors(trained))"
    }
}
