extension PlanReport {
    /// One iteration on a time axis, a row per pipeline rank: every forward pass (light) and backward pass
    /// (dark) of every microbatch where `PipelineTimeline` runs it, the bubble where the rank waits, then the
    /// rank's exposed gradient synchronisation and optimizer step.
    var timelineSection: String {
        let ranks = plan.pipelineRanks
        let tails = prediction.ranks.map { ($0.exposedGradientSynchronizationSeconds, $0.optimizerSeconds) }
        let total = timeline.makespan + (tails.map { $0.0 + $0.1 }.max() ?? 0)
        let labelWidth = 64.0, plotWidth = Self.columnWidth - labelWidth - 8, axisHeight = 26.0
        let rowHeight = ranks <= 16 ? 24.0 : ranks <= 48 ? 12.0 : 6.0, rowGap = ranks <= 16 ? 6.0 : 2.0
        let height = Double(ranks) * (rowHeight + rowGap) + axisHeight
        let scale = plotWidth / max(total, 1e-12)
        func x(_ seconds: Double) -> Double { labelWidth + seconds * scale }
        // Passes narrower than two pixels are drawn as what each pixel column mostly holds.
        let narrowest = timeline.steps.map { $0.end - $0.start }.min() ?? 0
        let binned = narrowest * scale < 2
        var svg = "<svg id=\"timeline-chart\" data-passes=\"\(timeline.steps.count)\" data-drawing=\"\(binned ? "binned" : "exact")\" viewBox=\"0 0 \(HTMLText.coordinate(labelWidth + plotWidth + 8)) \(HTMLText.coordinate(height))\" "
            + "width=\"\(HTMLText.coordinate(labelWidth + plotWidth + 8))\" role=\"img\" aria-label=\"pipeline timeline\">\n"
        svg += "<defs><pattern id=\"hatch\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\">"
            + "<rect width=\"6\" height=\"6\" fill=\"#eceff3\"/><line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"#d3d8e0\" stroke-width=\"3\"/></pattern></defs>\n"
        var byRank = Array(repeating: [PipelineTimeline.Step](), count: ranks)
        for step in timeline.steps { byRank[step.rank].append(step) }
        for rank in 0 ..< ranks {
            let y = Double(rank) * (rowHeight + rowGap)
            if rowHeight >= 10 || rank % 4 == 0 {
                svg += "<text x=\"\(HTMLText.coordinate(labelWidth - 8))\" y=\"\(HTMLText.coordinate(y + rowHeight / 2 + 4))\" font-size=\"\(rowHeight >= 10 ? 11 : 9)\" "
                    + "text-anchor=\"end\" fill=\"#5b6475\">rank \(rank)</text>"
            }
            // The bubble: the whole pipeline span hatched, passes drawn over it.
            svg += "<rect class=\"bubble\" x=\"\(HTMLText.coordinate(x(0)))\" y=\"\(HTMLText.coordinate(y))\" width=\"\(HTMLText.coordinate(timeline.makespan * scale))\" "
                + "height=\"\(HTMLText.coordinate(rowHeight))\" fill=\"url(#hatch)\"/>"
            svg += binned ? Self.binnedPasses(byRank[rank], rank: rank, of: ranks, y: y, height: rowHeight, left: labelWidth, scale: scale, width: plotWidth)
                : Self.exactPasses(byRank[rank], rank: rank, of: ranks, y: y, height: rowHeight, left: labelWidth, scale: scale, chunks: timeline.virtualStages)
            var tailStart = timeline.makespan
            for (seconds, kind, fill) in [(tails[rank].0, "gradient synchronisation", "#8a94a6"), (tails[rank].1, "optimizer step", "#3d4556")] where seconds > 0 {
                svg += "<rect class=\"tail\" x=\"\(HTMLText.coordinate(x(tailStart)))\" y=\"\(HTMLText.coordinate(y))\" width=\"\(HTMLText.coordinate(max(seconds * scale, 0.5)))\" "
                    + "height=\"\(HTMLText.coordinate(rowHeight))\" fill=\"\(fill)\"><title>rank \(rank): \(kind) \(PlanPrediction.seconds(seconds))</title></rect>"
                tailStart += seconds
            }
            svg += "\n"
        }
        let axisY = Double(ranks) * (rowHeight + rowGap) + 2
        svg += "<line x1=\"\(HTMLText.coordinate(x(0)))\" y1=\"\(HTMLText.coordinate(axisY))\" x2=\"\(HTMLText.coordinate(x(total)))\" y2=\"\(HTMLText.coordinate(axisY))\" stroke=\"#9aa3b2\"/>"
        let tick = Self.tickInterval(total)
        var t = 0.0
        while t <= total * 1.0001 {
            let label = t == 0 ? "0" : PlanPrediction.seconds(t)
            svg += "<line x1=\"\(HTMLText.coordinate(x(t)))\" y1=\"\(HTMLText.coordinate(axisY))\" x2=\"\(HTMLText.coordinate(x(t)))\" y2=\"\(HTMLText.coordinate(axisY + 4))\" stroke=\"#9aa3b2\"/>"
                + "<text x=\"\(HTMLText.coordinate(Self.tickLabelX(at: x(t), width: HTMLText.width(label, fontSize: 10), drawingWidth: labelWidth + plotWidth + 8)))\" "
                + "y=\"\(HTMLText.coordinate(axisY + 16))\" font-size=\"10\" text-anchor=\"middle\" fill=\"#5b6475\">\(label)</text>"
            t += tick
        }
        svg += "\n</svg>"
        let busy = (0 ..< ranks).map { timeline.makespan - timeline.idleSeconds(rank: $0) }
        let bubble = 1 - busy.reduce(0, +) / (Double(ranks) * max(timeline.makespan, 1e-12))
        let busiest = busy.indices.max { busy[$0] < busy[$1] } ?? 0
        // One rank has no other to be the busiest against, and waits for none (a rounding residue aside).
        let waiting = ranks == 1
            ? (bubble < 1e-9 ? "the one rank never waits" : "the one rank waits \(PlanPrediction.percent(bubble)) of that time")
            : "the ranks wait \(PlanPrediction.percent(bubble)) of that time on average, the busiest, rank \(busiest), "
                + Self.busiestWait(timeline.idleSeconds(rank: busiest), makespan: timeline.makespan)
        var html = chart(svg)
        html += "<div class=\"legend\"><span><span class=\"key\" style=\"background:\(Self.rankColor(0, of: ranks, lightness: 74))\"></span>forward pass</span>"
            + "<span><span class=\"key\" style=\"background:\(Self.rankColor(0, of: ranks, lightness: 44))\"></span>backward pass (recomputation included)</span>"
            + "<span><span class=\"key\" style=\"background:#eceff3; border:1px solid #d3d8e0\"></span>bubble: the rank waits</span>"
            + "<span><span class=\"key\" style=\"background:#8a94a6\"></span>exposed gradient synchronisation</span>"
            + "<span><span class=\"key\" style=\"background:#3d4556\"></span>optimizer step</span></div>\n"
        html += "<p class=\"caption\">\(binned ? "Passes are narrower than two pixels here: each four-pixel column shows the share of its time a rank spends in forward passes (light, from the top) and backward passes (dark, from the bottom). " : "")"
            + "\(plan.schedule.rawValue) with \(HTMLText.count(plan.microbatches)) microbatch\(plan.microbatches == 1 ? "" : "es")"
            + (plan.virtualStages > 1 ? " through \(plan.virtualStages) chunks per rank (shades)" : "")
            + ": the passes run in \(PlanPrediction.seconds(timeline.makespan)); "
            + waiting + ".</p>\n"
        return html
    }

    /// The busiest rank's wait, `idle` seconds of the simulated `makespan`. That rank is the slowest, and the
    /// evaluator prices the pipeline by the same simulation, so its wait is the time breakdown's pipeline bubble.
    static func busiestWait(_ idle: Double, makespan: Double) -> String {
        "\(PlanPrediction.percent(idle / max(makespan, 1e-12))) (\(PlanPrediction.seconds(idle)), the time breakdown's pipeline bubble)"
    }

    /// Every pass of a rank as its own rectangle: one path per pass and chunk, outlined so that neighbours
    /// stay apart.
    static func exactPasses(_ steps: [PipelineTimeline.Step], rank: Int, of ranks: Int, y: Double, height: Double, left: Double, scale: Double,
                            chunks: Int) -> String {
        var svg = ""
        for pass in [PipelineTimeline.Pass.forward, .backward] {
            for chunk in 0 ..< chunks {
                let mine = steps.filter { $0.pass == pass && $0.chunk == chunk }
                guard !mine.isEmpty else { continue }
                let lightness = (pass == .forward ? 74 : 44) - (chunk % 3) * 6
                var path = ""
                for step in mine {
                    let width = (step.end - step.start) * scale
                    path += "M\(HTMLText.coordinate(left + step.start * scale)) \(HTMLText.coordinate(y))h\(HTMLText.coordinate(width))"
                        + "v\(HTMLText.coordinate(height))h\(HTMLText.coordinate(-width))z"
                }
                svg += "<path class=\"\(pass.rawValue)\" d=\"\(path)\" fill=\"\(rankColor(rank, of: ranks, lightness: lightness))\" stroke=\"#fff\" stroke-width=\"0.6\">"
                    + "<title>rank \(rank)\(chunks > 1 ? " chunk \(chunk)" : ""): \(mine.count) \(pass.rawValue) passes of "
                    + "\(PlanPrediction.seconds(mine[0].end - mine[0].start))</title></path>"
            }
        }
        return svg
    }

    /// A rank's passes summed into columns of four pixels: each column shows the share of its time spent in
    /// forward passes as a light band from the top and in backward passes as a dark band from the bottom (the
    /// bubble shows between them), averaged with its neighbours and rounded to an eighth; runs of equal columns
    /// merge, one path per pass.
    static func binnedPasses(_ steps: [PipelineTimeline.Step], rank: Int, of ranks: Int, y: Double, height: Double, left: Double, scale: Double,
                             width: Double) -> String {
        let binWidth = 4.0
        let columns = Int((width / binWidth).rounded(.up))
        var forward = Array(repeating: 0.0, count: columns), backward = forward
        for step in steps {
            var from = step.start * scale / binWidth
            let to = step.end * scale / binWidth
            while from < to {
                let column = min(Int(from), columns - 1), edge = min(Double(column + 1), to)
                if step.pass == .forward { forward[column] += edge - from } else { backward[column] += edge - from }
                from = edge
            }
        }
        // Passes that straddle column edges make neighbouring shares wobble: average each with its neighbours.
        func smoothed(_ shares: [Double]) -> [Double] {
            shares.indices.map { column in
                let window = max(column - 1, 0) ... min(column + 1, shares.count - 1)
                return window.reduce(0) { $0 + shares[$1] } / Double(window.count)
            }
        }
        forward = smoothed(forward)
        backward = smoothed(backward)
        func level(_ share: Double) -> Int { Int((min(share, 1) * 8).rounded()) }
        var forwardPath = "", backwardPath = "", runStart = 0
        for column in 1 ... columns where column == columns
            || level(forward[column]) != level(forward[runStart]) || level(backward[column]) != level(backward[runStart]) {
            let top = Double(level(forward[runStart])) / 8 * height, bottom = Double(level(backward[runStart])) / 8 * height
            let x = HTMLText.coordinate(left + Double(runStart) * binWidth), w = HTMLText.coordinate(Double(column - runStart) * binWidth)
            if top > 0 { forwardPath += "M\(x) \(HTMLText.coordinate(y))h\(w)v\(HTMLText.coordinate(top))h-\(w)z" }
            if bottom > 0 { backwardPath += "M\(x) \(HTMLText.coordinate(y + height - bottom))h\(w)v\(HTMLText.coordinate(bottom))h-\(w)z" }
            runStart = column
        }
        var svg = ""
        if !forwardPath.isEmpty { svg += "<path class=\"forward\" d=\"\(forwardPath)\" fill=\"\(rankColor(rank, of: ranks, lightness: 74))\"/>" }
        if !backwardPath.isEmpty { svg += "<path class=\"backward\" d=\"\(backwardPath)\" fill=\"\(rankColor(rank, of: ranks, lightness: 44))\"/>" }
        return svg
    }

    /// The centre of a tick's label `width` px wide: under its tick at `x`, moved left where it would run past the
    /// drawing's right edge (the axis ends 8 px short of it, and "18.0 s" is wider than 16 px).
    static func tickLabelX(at x: Double, width: Double, drawingWidth: Double) -> Double {
        min(x, drawingWidth - width / 2)
    }

    /// A tick spacing of 1, 2 or 5 times a power of ten giving five to ten ticks over `span` seconds.
    static func tickInterval(_ span: Double) -> Double {
        guard span > 0 else { return 1 }
        var step = 1.0
        while step * 10 < span { step *= 10 }
        while step > span { step /= 10 }
        for factor in [0.1, 0.2, 0.5, 1.0] where span / (step * factor) <= 10 { return step * factor }
        return step
    }
}
