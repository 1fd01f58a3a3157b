/// A plan and its prediction as one self-contained HTML page (`plan --report`, `score --report`): the
/// headline numbers, with how a searched plan was found and its graph rewrites; the cluster with every device
/// coloured by the pipeline rank it serves and every rank's mesh drawn; one iteration of the schedule as it runs
/// (`PipelineTimeline`); where the time goes; each rank's memory against the device's capacity; and every op's
/// sharding, one row per op of each distinct layer.
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
        // Then, where the plan has them, the search that found it, its graph rewrites and its frozen weights, in the text
        // report's words.
        let found = [plan.provenance?.description, plan.rewrites.isEmpty ? nil : "graph rewrites: " + plan.rewriteCounts,
                     plan.frozenParametersText].compactMap { $0 }
        html += "<p class=\"summary\">\(HTMLText.count(plan.deviceCount)) device\(plan.deviceCount == 1 ? "" : "s") · "
            + HTMLText.escape(plan.summary ?? "\(plan.pipelineRanks) pipeline ranks") + " · schedule \(plan.schedule.rawValue), "
            + "\(HTMLText.count(plan.microbatches)) microbatch\(plan.microbatches == 1 ? "" : "es")"
            + (plan.virtualStages > 1 ? ", \(plan.virtualStages) chunks per rank" : "")
            + HTMLText.escape(PlanPrediction.precisionText(plan.options))
            + found.map { "<br>" + HTMLText.escape($0) }.joined() + "</p>\n"
        let cards: [(String, String, [String])] = [
            ("iteration", PlanPrediction.seconds(prediction.iterationSeconds), ["per training step"]),
            ("throughput", "\(PlanPrediction.significant(prediction.samplesPerSecond)) samples/s", [plan.globalBatchText(count: HTMLText.count)]),
            ("utilisation", "MFU \(PlanPrediction.percent(prediction.modelFLOPsUtilization))",
             ["\(PlanPrediction.significant(prediction.tflopsPerDevice)) TFLOP/s per device", PlanPrediction.utilizationDefinition(plan, causalHalved: prediction.causalHalvedUtilization)]),
            ("memory", "\(PlanPrediction.bytes(prediction.peakMemoryBytesPerDevice)) of \(PlanPrediction.deviceMemory(prediction.deviceMemoryBytes))",
             [fits ? "peak per device: fits" : "peak per device: DOES NOT FIT"]),
        ]
        html += "<div class=\"cards\">\n"
        for (id, value, notes) in cards {
            html += "<div class=\"card\(id == "memory" && !fits ? " alarm" : "")\" id=\"card-\(id)\"><div class=\"label\">\(id)</div>"
                + "<div class=\"value\">\(HTMLText.escape(value))</div>"
                + notes.map { "<div class=\"note\">\(HTMLText.escape($0))</div>" }.joined() + "</div>\n"
        }
        return html + "</div>\n</header>\n"
    }

    /// The fill of pipeline rank `rank` of `ranks`. Ranks take evenly spaced hues in an order that puts
    /// neighbouring ranks far apart on the wheel (a step near 0.38 of it that visits every hue); past 12 ranks they
    /// also take turns in two tones (vivid, then muted and darker), past 32 in three (then pale), each tone's hues
    /// set between the previous tone's, so no two ranks share a colour. `lightness` shades forward (light) and
    /// backward (dark) passes.
    static func rankColor(_ rank: Int, of ranks: Int, lightness: Int = 58) -> String {
        let tones = ranks > 32 ? 3 : ranks > 12 ? 2 : 1
        let hues = max((ranks + tones - 1) / tones, 1)
        func offGolden(_ step: Int) -> Double { abs(Double(step) / Double(hues) - 0.382) }
        let step = (1 ... hues).filter { gcd($0, hues) == 1 }.min { offGolden($0) < offGolden($1) } ?? 1
        let tone = min(rank / hues, tones - 1)
        let hue = 210 + (Double(rank % hues * step % hues) + Double(tone) / Double(tones)) * 360 / Double(hues)
        let (saturation, shift) = [(62, 0), (36, -10), (70, 10)][tone]
        return "hsl(\(Int(hue) % 360) \(saturation)% \(min(lightness + shift, 92))%)"
    }

    /// The widest a drawing is drawn: the page's column (`main`'s 1,280 px less its padding and a section's
    /// padding and borders), so that a wide window shows drawings at their natural size.
    static let columnWidth = 1170.0

    /// A drawing at its natural size, in a box that scrolls sideways where the window is narrower.
    func chart(_ svg: String) -> String { "<div class=\"chart\">\(svg)</div>\n" }

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
        .chart { overflow-x: auto; }
        .chart > svg { max-width: none; }
        #cluster-map text.rank { fill: #1d2330; stroke: #fff; stroke-opacity: .7; stroke-width: 2px; paint-order: stroke;
                                 pointer-events: none; font-weight: 600; }
        svg text { font-family: inherit; }
        table { border-collapse: collapse; width: 100%; font-size: 12.5px; }
        th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #eef0f4; vertical-align: top; }
        td.layout, th.layout { white-space: nowrap; }
        .rewrite { color: #8a5a00; font-size: 11.5px; white-space: nowrap; }
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
