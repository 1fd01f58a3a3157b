import Foundation

/// Every published run that ShardPlan's features cover, replayed and compared with its measurement, with
/// the median and worst absolute error: the table of Docs/calibration.md.
public struct CalibrationReport: Sendable {
    public var runs: [CalibrationRun]
    public var skipped: [(id: String, reason: String)]

    /// Replays every row of a published-runs document.
    public init(document: JSONValue) throws(InputError) {
        let (rows, skipped) = try PublishedRun.rows(in: document)
        var runs: [CalibrationRun] = []
        for row in rows { runs.append(try CalibrationRun(row)) }
        self.runs = runs
        self.skipped = skipped
    }

    public var absoluteErrors: [Double] { runs.map { abs($0.relativeError) }.sorted() }

    public var medianAbsoluteError: Double {
        let errors = absoluteErrors
        guard !errors.isEmpty else { return 0 }
        return errors.count % 2 == 1 ? errors[errors.count / 2] : (errors[errors.count / 2 - 1] + errors[errors.count / 2]) / 2
    }

    public var worstAbsoluteError: Double { absoluteErrors.last ?? 0 }

    /// The report as Markdown.
    public var markdown: String {
        var lines = [
            "| row | config | predicted s | measured s | error | peak memory GB |",
            "| --- | --- | ---: | ---: | ---: | ---: |",
        ]
        for entry in runs {
            let run = entry.run
            var config = "tp=\(run.tensorParallel) pp=\(run.pipelineParallel) dp=\(run.dataParallel)"
            if let mbs = run.microBatchSize { config += " mbs=\(mbs)" }
            if run.virtualStages > 1 { config += " vp=\(run.virtualStages)" }
            if run.sequenceParallel { config += " sp" }
            if !run.recompute.isEmpty && run.recompute != "not stated" { config += " \(run.recompute.split(separator: " ").first ?? "")" }
            let measured = String(format: "%.2f", run.iterationSeconds!) + (entry.run.isMeasuredTime ? "" : "*")
            lines.append("| \(run.id) | \(config) | \(String(format: "%.2f", entry.predictedSeconds)) | \(measured) | "
                         + "\(String(format: "%+.1f%%", entry.relativeError * 100)) | \(String(format: "%.1f", entry.peakMemoryBytes / 1e9))\(entry.fitsInMemory ? "" : " (does not fit)") |")
        }
        lines.append("")
        lines.append("Median absolute error \(String(format: "%.1f%%", medianAbsoluteError * 100)), worst \(String(format: "%.1f%%", worstAbsoluteError * 100)) over \(runs.count) rows. `*`: derived from the published throughput.")
        if !skipped.isEmpty {
            lines.append("")
            lines.append("Rows not replayed: " + skipped.map { "\($0.id) (\($0.reason))" }.joined(separator: "; ") + ".")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
