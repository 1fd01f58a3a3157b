/// A plan and its prediction as one self-contained HTML page (`plan --report`, `score --report`): the
/// headline numbers; the cluster with every device coloured by the pipeline rank it serves and every rank's
/// mesh drawn; one iteration of the schedule as it runs (`PipelineTimeline`); where the time goes; each rank's
/// memory against the device's capacity; and every op's sharding, one row per op of each distinct layer.
/// Inline CSS and SVG only: no script, nothing fetched.
public struct PlanReport: Sendable {
    public var plan: TrainingPlan
    public var prediction: PlanPrediction
    public var timeline: PipelineTimeline

    public init(plan: TrainingPlan, prediction: PlanPrediction) {
        self.plan = plan
        self.prediction = prediction
        timeline = PipelineTimeline(plan: plan, prediction: prediction)
    }

    /// The page.
    public var html: String {
        let title = "\(plan.graph.name) on \(plan.clusterTitle)"
        var page = """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(HTMLText.escape(title)) · ShardPlan</title>
            <style>\(Self.style)</style>
            </head>
            <body>
            <main>

            """
        page += headline(title: title)
        page += section(id: "cluster", title: "Cluster: what each device holds", clusterSection)
        page += section(id: "timeline", title: "One iteration, as the schedule runs it", timelineSection)
        page += section(id: "time", title: "Where the time goes", breakdownSection)
        page += section(id: "memory", title: "Memory per device, by pipeline rank", memorySection)
        page += section(id: "shardings", title: "How every op is sharded", shardingSection)
        page += "<footer>ShardPlan report · predictions of ShardPlan's cost model (Docs/cost-model.md)</footer>\n</main>\n</body>\n</html>\n"
        return page
    }

    func section(id: String, title: String, _ body: String) -> String {
        "<section id=\"\(id)\">\n<h2>\(HTMLText.escape(title))</h2>\n\(body)</section>\n"
    }

    private func headline(title: String) -> String {
        let fits = prediction.fitsInMemory
        var html = "<header>\n<h1>\(HTMLText.escape(title))</h1>\n"
        html += "<p class=\"summary\">\(HTMLText.count(plan.deviceCount)) device\(plan.deviceCount == 1 ? "" : "s") · "
            + HTMLText.escape(plan.summary ?? "\(plan.pipelineRanks) pipeline ranks") + " · schedule \(plan.schedule.rawValue), "
            + "\(HTMLText.count(plan.microbatches)) microbatch\(plan.microbatches == 1 ? "" : "es")"
            + (plan.virtualStages > 1 ? ", \(plan.virtualStages) chunks per rank" : "")
            + HTMLText.escape(PlanPrediction.precisionText(plan.options)) + "</p>\n"
        let cards: [(String, String, String)] = [
            ("iteration", PlanPrediction.seconds(prediction.iterationSeconds), "per training step"),
            ("throughput", "\(PlanPrediction.number(prediction.samplesPerSecond)) samples/s", plan.globalBatchText(count: HTMLText.count)),
            ("utilisation", "MFU \(PlanPrediction.percent(prediction.modelFLOPsUtilization))",
             "\(PlanPrediction.number(prediction.tflopsPerDevice)) TFLOP/s per device"),
            ("memory", "\(PlanPrediction.bytes(prediction.peakMemoryBytesPerDevice)) of \(PlanPrediction.bytes(prediction.deviceMemoryBytes))",
             fits ? "peak per device: fits" : "peak per device: DOES NOT FIT"),
        ]
        html += "<div class=\"cards\">\n"
        for (id, value, note) in cards {
            html += "<div class=\"card\(id == "memory" && !fits ? " alarm" : "")\" id=\"card-\(id)\"><div class=\"label\">\(id)</div>"
                + "<div class=\"value\">\(HTMLText.escape(value))</div><div class=\"note\">\(HTMLText.escape(note))</div></div>\n"
        }
        return html + "</div>\n</header>\n"
    }

    /// The fill of pipeline rank `rank` of `ranks`: hues spread around the wheel by the golden angle so that
    /// neighbouring ranks differ; `lightness` shades forward (light) and backward (dark) passes.
    static func rankColor(_ rank: Int, lightness: Int = 58) -> String {
        let hue = (Double(rank) * 137.508 + 210).truncatingRemainder(dividingBy: 360)
        return "hsl(\(Int(hue)) 62% \(lightness)%)"
    }

    static let style = """
        :root { color-scheme: light; --ink: #1d2330; --muted: #5b6475; --line: #d9dde5; --paper: #f6f7f9; }
        * { box-sizing: border-box; }
        body { margin: 0; background: var(--paper); color: var(--ink);
               font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
        main { max-width: 1280px; margin: 0 auto; padding: 28px 32px 40px; }
        header h1 { font-size: 24px; margin: 0 0 4px; }
        .summary { color: var(--muted); margin: 0 0 18px; }
        .cards { display: grid; grid-template-columns: repeat(4, 1fr); gap: 14px; }
        .card { background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 12px 16px; }
        .card .label { text-transform: uppercase; letter-spacing: .06em; font-size: 11px; color: var(--muted); }
        .card .value { font-size: 22px; font-weight: 600; margin: 2px 0; }
        .card .note { color: var(--muted); font-size: 12px; }
        .card.alarm { border-color: #d64545; background: #fff3f3; }
        section { background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 16px 20px 18px; margin-top: 18px; }
        section h2 { font-size: 16px; margin: 0 0 10px; }
        .caption { color: var(--muted); font-size: 12px; margin: 6px 0 0; }
        svg { display: block; max-width: 100%; height: auto; }
        svg text { font-family: inherit; }
        table { border-collapse: collapse; width: 100%; font-size: 12.5px; }
        th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #eef0f4; vertical-align: top; }
        th { color: var(--muted); font-weight: 600; background: #fafbfc; position: sticky; top: 0; }
        td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
        code { font: 12px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
        details { border: 1px solid var(--line); border-radius: 8px; margin: 8px 0; }
        details > summary { cursor: pointer; padding: 8px 12px; font-weight: 600; }
        details > summary .swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 6px; }
        details > div { padding: 0 12px 10px; overflow-x: auto; }
        .legend { display: flex; flex-wrap: wrap; gap: 6px 16px; margin-top: 8px; font-size: 12px; color: var(--muted); }
        .legend span.key { display: inline-block; width: 12px; height: 12px; border-radius: 2px; vertical-align: -2px; margin-right: 4px; }
        footer { color: var(--muted); font-size: 12px; margin-top: 18px; text-align: center; }
        """
}
