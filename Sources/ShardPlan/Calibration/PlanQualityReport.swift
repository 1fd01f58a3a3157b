import Foundation

/// The search against the experts: for every published run, the plan ShardPlan finds on the same devices
/// (same batch, recomputation and overlap options; ZeRO-3 shard groups are the search's own) against the published
/// configuration, both priced by the same cost model. A ratio at most 1 means the planner is no slower.
///
/// Runs without pipelining are searched as one stage (`SingleStagePlanner`, `shardplan plan --stages 1`);
/// the others with the full planner (`PipelinePlanner`, `shardplan plan`), whose answer is the faster of the
/// stage DP's plan and the Megatron-LM grid's; both are reported, so the DP's own ratio shows too.
public struct PlanQualityReport: Sendable {
    /// One row: the published configuration's predicted time, the planner's, and what it chose.
    public struct Entry: Sendable {
        public var run: PublishedRun
        public var publishedSeconds: Double
        public var searchedSeconds: Double
        public var searchedSummary: String
        public var searchedMicrobatches: Int
        /// The stage DP's best plan that fits, if any (pipelined rows only).
        public var dynamicProgramSeconds: Double?
        /// The Megatron-LM grid's fastest configuration that fits, if any (pipelined rows only).
        public var megatronGridSeconds: Double?
        /// Which search produced the answer (nil: the single-stage search).
        public var foundBy: SearchProvenance.Search?
        public var searchSeconds: Double
        public var ratio: Double { searchedSeconds / publishedSeconds }
    }

    public var entries: [Entry]
    /// The runs file searched, as `shardplan calibrate --search` was given it: the repository's
    /// (`CalibrationReport.repositoryRuns`) writes Docs/plan-quality.md, any other is headed by its own command.
    public var source: String
    /// The rows `--rows` chose, in the file's order; nil where every row was searched. A report of chosen rows is
    /// headed by its own command, `--rows` included, even of the repository's file.
    public var chosenRows: [String]?

    /// Searches every row of a published-runs document read from `source` (`ids`, when given, picks rows by id);
    /// `progress` hears each row's id as its search starts.
    public init(document: JSONValue, ids: Set<String>? = nil, source: String = CalibrationReport.repositoryRuns,
                progress: (String) -> Void = { _ in }) throws(InputError) {
        self.source = source
        let (rows, skipped) = try PublishedRun.replayableRows(in: document)
        // A row there is but that cannot be replayed says why, before a name there is not.
        if let ids, let row = skipped.first(where: { ids.contains($0.id) }) {
            throw InputError(.invalidValue, at: JSONPath([.key("--rows")]), "row \"\(row.id)\" is not replayed: \(row.reason)")
        }
        if let unknown = ids?.subtracting(rows.map(\.id)).sorted(), !unknown.isEmpty {
            throw InputError(.invalidReference, at: JSONPath([.key("--rows")]),
                             "no published run is called \(unknown.map { "\"\($0)\"" }.joined(separator: ", ")); the rows are \(rows.map(\.id).joined(separator: ", "))")
        }
        chosenRows = ids.map { ids in rows.map(\.id).filter(ids.contains) }
        var entries: [Entry] = []
        for run in rows where ids?.contains(run.id) ?? true {
            progress(run.id)
            let replay = try CalibrationRun.replay(run)
            let published = try CalibrationRun(run).predictedSeconds
            let start = Date()
            // The searches shard ZeRO state over every data-parallel device (`TrainingOptions.checkSearching`): a
            // row's ZeRO-3 shard groups (FSDP's hybrid sharding, MaxText's ICI FSDP groups) are its layout, which the
            // search replaces by its own.
            var options = replay.configuration.options
            options.zeroShardGroup = nil
            if run.pipelineParallel == 1 {
                let found = try SingleStagePlanner(graph: replay.graph, cluster: replay.cluster, clusterName: replay.clusterName,
                                                   options: options, recomputeModes: [options.recompute]).plan()
                let mesh = found.plan.stages[0].mesh.shape.map(String.init).joined(separator: "x")
                entries.append(Entry(run: run, publishedSeconds: published, searchedSeconds: found.prediction.iterationSeconds,
                                     searchedSummary: "\(found.plan.summary ?? "") (mesh \(mesh))",
                                     searchedMicrobatches: found.plan.microbatches, dynamicProgramSeconds: nil,
                                     megatronGridSeconds: nil, foundBy: nil, searchSeconds: Date().timeIntervalSince(start)))
            } else {
                let found = try PipelinePlanner(graph: replay.graph, cluster: replay.cluster, clusterName: replay.clusterName,
                                                options: options).plan()
                entries.append(Entry(run: run, publishedSeconds: published, searchedSeconds: found.prediction.iterationSeconds,
                                     searchedSummary: found.plan.summary ?? "", searchedMicrobatches: found.plan.microbatches,
                                     dynamicProgramSeconds: found.dynamicProgramSeconds, megatronGridSeconds: found.grid?.best?.iterationSeconds,
                                     foundBy: found.plan.provenance?.foundBy, searchSeconds: Date().timeIntervalSince(start)))
            }
        }
        self.entries = entries
    }

    /// The worst ratio (searched over published); at most 1 when the planner never loses.
    public var worstRatio: Double { entries.map(\.ratio).max() ?? 1 }

    public var markdown: String {
        var lines = [
            "# Plan quality: searched plans against published configurations",
            "",
            source == CalibrationReport.repositoryRuns && chosenRows == nil
                ? "Generated by `swift run -c release shardplan calibrate Docs/calibration/published-runs.json --search -o Docs/plan-quality.md`."
                : "Generated by `shardplan calibrate \(source) --search\(chosenRows.map { " --rows " + Self.shellWord($0.joined(separator: ",")) } ?? "")`.",
            "For every published run, ShardPlan plans the same devices with the row's batch, recomputation and overlap",
            "options (not a row's ZeRO-3 shard groups: the searches shard ZeRO state over every data-parallel device),",
            "and both plans are priced by the same cost model. Rows without pipelining are searched as one",
            "stage (`shardplan plan --stages 1`: every logical mesh shape, the fewest microbatches that fit, every op's",
            "sharding by the ILP); pipelined rows by the full planner (`shardplan plan`): the stage DP over the ILP and",
            "the Megatron-LM grid, the faster wins. \"DP s\" is the stage DP's own best plan (\"-\" when none of its",
            "plans fits), so its ratio to the published time shows what the DP finds without the grid (`--no-megatron-grid`);",
            "\"grid s\" is the grid's fastest configuration that fits, and \"won by\" names the search whose plan is the answer.",
            "",
            "| row | published | predicted s | planned | microbatches | predicted s | ratio | DP s | DP ratio | grid s | won by | search s |",
            "| --- | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |",
        ]
        for entry in entries {
            let run = entry.run
            let dynamicProgram = entry.dynamicProgramSeconds.map { String(format: "%.3f", $0) } ?? "-"
            let dynamicProgramRatio = entry.dynamicProgramSeconds.map { String(format: "%.3f", $0 / entry.publishedSeconds) } ?? "-"
            let grid = entry.megatronGridSeconds.map { String(format: "%.3f", $0) } ?? "-"
            let winner = entry.foundBy.map { $0 == .megatronGrid ? "grid" : "stage DP" } ?? "one stage"
            lines.append("| \(VisibleText.tableCell(run.id)) | tp=\(run.tensorParallel) pp=\(run.pipelineParallel) dp=\(run.dataParallel) | "
                         + "\(String(format: "%.3f", entry.publishedSeconds)) | \(entry.searchedSummary) | "
                         + "\(entry.searchedMicrobatches) | \(String(format: "%.3f", entry.searchedSeconds)) | "
                         + "\(String(format: "%.3f", entry.ratio)) | \(dynamicProgram) | \(dynamicProgramRatio) | \(grid) | \(winner) | "
                         + "\(String(format: "%.1f", entry.searchSeconds)) |")
        }
        lines.append("")
        lines.append("Worst ratio \(String(format: "%.3f", worstRatio)) over \(CalibrationRows.count(entries.count)).")
        return lines.joined(separator: "\n") + "\n"
    }

    /// `text` as one word of a POSIX shell command: as written where it holds only letters, digits and `,._:+=@/-`,
    /// else single-quoted (each `'` written `'\''`).
    static func shellWord(_ text: String) -> String {
        let plain = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789,._:+=@/-")
        guard !text.isEmpty, !text.allSatisfy(plain.contains) else { return text }
        return "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
