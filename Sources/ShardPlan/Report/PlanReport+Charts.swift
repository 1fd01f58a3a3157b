extension PlanReport {
    /// Each time-breakdown entry's fill and the ink of a label on it: compute in blues and communication in
    /// ambers, each entry of its family a step lighter and further round the wheel than the one before it (so no two
    /// entries share a colour); the bubble hatched; gradient synchronisation, the optimizer, the entries too small to
    /// show (`PlanPrediction.reportedTimeBreakdown`) and the rest in greys.
    static func breakdownColors(_ names: [String]) -> [(fill: String, ink: String)] {
        var computeEntries = 0, communicationEntries = 0
        return names.map { name in
            if name.hasPrefix("compute") {
                let step = computeEntries, lightness = 38 + step * 10
                computeEntries += 1
                return ("hsl(\(208 + step * 8) 58% \(lightness)%)", lightness < 50 ? "#fff" : "#1d2330")
            }
            if name.hasPrefix("communication") {
                let step = communicationEntries
                communicationEntries += 1
                return ("hsl(\(16 + step * 9) 85% \(48 + step * 6)%)", "#1d2330")
            }
            if name == "pipeline bubble" { return ("url(#hatch-bar)", "#1d2330") }
            if name.hasPrefix("gradient") { return ("#8a94a6", "#1d2330") }
            if name.hasPrefix("optimizer") { return ("#3d4556", "#fff") }
            if name.hasPrefix("other (") { return ("#e3e6eb", "#1d2330") }
            return ("#c3c9d4", "#1d2330")
        }
    }

    /// One iteration of the slowest rank as a bar cut by where the time goes, each segment labelled where its label
    /// fits, and the same as a table; entries under 0.05% of the iteration summed in one row, as in the text report.
    var breakdownSection: String {
        let reported = prediction.reportedTimeBreakdown
        let colors = Self.breakdownColors(reported.map(\.name))
        let entries = reported.enumerated()
        let width = Self.columnWidth, height = 34.0, fontSize = 11.0, inset = 6.0
        var svg = "<svg id=\"time-bar\" viewBox=\"0 0 \(HTMLText.coordinate(width)) \(HTMLText.coordinate(height))\" width=\"\(HTMLText.coordinate(width))\" role=\"img\" aria-label=\"time breakdown\">"
            + "<defs><pattern id=\"hatch-bar\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\">"
            + "<rect width=\"6\" height=\"6\" fill=\"#eceff3\"/><line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"#c9ced8\" stroke-width=\"3\"/></pattern></defs>"
        var x = 0.0
        for (index, entry) in entries {
            let w = entry.seconds / prediction.iterationSeconds * width
            svg += "<rect x=\"\(HTMLText.coordinate(x))\" y=\"0\" width=\"\(HTMLText.coordinate(max(w, 0.5)))\" height=\"\(HTMLText.coordinate(height))\" "
                + "fill=\"\(colors[index].fill)\" stroke=\"#fff\" stroke-width=\"1\"><title>\(HTMLText.escape(entry.name)): "
                + "\(PlanPrediction.seconds(entry.seconds))</title></rect>"
            let label = "\(Self.shortName(entry.name)) \(PlanPrediction.percent(entry.seconds / prediction.iterationSeconds))"
            if HTMLText.width(label, fontSize: fontSize) + 2 * inset <= w {
                svg += "<text x=\"\(HTMLText.coordinate(x + inset))\" y=\"21\" font-size=\"\(HTMLText.coordinate(fontSize))\" fill=\"\(colors[index].ink)\">"
                    + "\(HTMLText.escape(label))</text>"
            }
            x += w
        }
        svg += "</svg>"
        var table = "<table id=\"time-table\" style=\"margin-top:12px\"><thead><tr><th></th><th>slowest rank, one iteration</th>"
            + "<th class=\"num\">time</th><th class=\"num\">share</th></tr></thead><tbody>\n"
        for (index, entry) in entries {
            table += "<tr><td><span class=\"key\" style=\"display:inline-block;width:12px;height:12px;border-radius:2px;background:"
                + "\(entry.name == "pipeline bubble" ? "#d3d8e0" : colors[index].fill)\"></span></td>"
                + "<td>\(HTMLText.escape(entry.name))</td><td class=\"num\">\(PlanPrediction.seconds(entry.seconds))</td>"
                + "<td class=\"num\">\(PlanPrediction.percent(entry.seconds / prediction.iterationSeconds))</td></tr>\n"
        }
        table += "<tr><td></td><td><b>iteration</b></td><td class=\"num\"><b>\(PlanPrediction.seconds(prediction.iterationSeconds))</b></td><td class=\"num\">100%</td></tr>\n"
        return chart(svg) + table + "</tbody></table>\n"
    }

    /// Where a bar's value label `width` wide starts: just after the bar's end `barEnd`, or past the capacity line at
    /// `lineX` where the label would run through it.
    static func valueLabelX(after barEnd: Double, width: Double, clearOf lineX: Double) -> Double {
        let gap = 6.0
        return barEnd <= lineX && barEnd + gap + width + gap >= lineX ? lineX + gap : barEnd + gap
    }

    /// "matmul" for "compute: matmul".
    static func shortName(_ name: String) -> String {
        name.split(separator: ":").last.map { $0.trimmingCharacters(in: .whitespaces) } ?? name
    }

    /// Each rank's peak memory per device as a bar cut into weights, gradients, optimizer state, activations
    /// and the framework's own, against the device's capacity.
    var memorySection: String {
        let parts: [(String, String, (PlanPrediction.Rank) -> Double)] = [
            ("weights", "hsl(262 45% 52%)", \.weightBytes), ("gradients", "hsl(262 45% 68%)", \.gradientBytes),
            ("optimizer state", "hsl(172 45% 40%)", \.optimizerStateBytes), ("activations", "hsl(38 85% 55%)", \.activationBytes),
            ("framework", "#b8bfcb", { _ in TrainingOptions.frameworkOverheadBytes }),
        ]
        let capacity = prediction.deviceMemoryBytes
        let largest = max(capacity, prediction.ranks.map(\.peakMemoryBytes).max() ?? 0) * 1.04
        let ranks = prediction.ranks.count
        let labelWidth = 64.0, valueWidth = 110.0, plotWidth = Self.columnWidth - labelWidth - valueWidth
        let rowHeight = ranks <= 16 ? 18.0 : ranks <= 48 ? 9.0 : 5.0, gap = ranks <= 16 ? 5.0 : 1.0
        let height = Double(ranks) * (rowHeight + gap) + 24
        let scale = plotWidth / largest, capacityX = labelWidth + capacity * scale
        var svg = "<svg id=\"memory-chart\" viewBox=\"0 0 \(HTMLText.coordinate(Self.columnWidth)) \(HTMLText.coordinate(height))\" "
            + "width=\"\(HTMLText.coordinate(Self.columnWidth))\" role=\"img\" aria-label=\"memory per rank\">\n"
        for rank in prediction.ranks {
            let y = Double(rank.rank) * (rowHeight + gap)
            if rowHeight >= 9 || rank.rank % 8 == 0 {
                svg += "<text x=\"\(HTMLText.coordinate(labelWidth - 8))\" y=\"\(HTMLText.coordinate(y + rowHeight / 2 + 4))\" font-size=\"\(rowHeight >= 9 ? 11 : 9)\" text-anchor=\"end\" fill=\"#5b6475\">rank \(rank.rank)</text>"
            }
            var x = labelWidth
            for (name, fill, bytes) in parts {
                let w = bytes(rank) * scale
                guard w > 0 else { continue }
                svg += "<rect x=\"\(HTMLText.coordinate(x))\" y=\"\(HTMLText.coordinate(y))\" width=\"\(HTMLText.coordinate(w))\" height=\"\(HTMLText.coordinate(rowHeight))\" fill=\"\(fill)\">"
                    + "<title>rank \(rank.rank): \(name) \(PlanPrediction.bytes(bytes(rank)))</title></rect>"
                x += w
            }
            if rowHeight >= 9 {
                let value = PlanPrediction.bytes(rank.peakMemoryBytes)
                svg += "<text x=\"\(HTMLText.coordinate(Self.valueLabelX(after: x, width: HTMLText.width(value, fontSize: 11), clearOf: capacityX)))\" "
                    + "y=\"\(HTMLText.coordinate(y + rowHeight / 2 + 4))\" font-size=\"11\" fill=\"#1d2330\">\(value)</text>"
            }
            svg += "\n"
        }
        let bottom = Double(ranks) * (rowHeight + gap)
        svg += "<line id=\"capacity\" x1=\"\(HTMLText.coordinate(capacityX))\" y1=\"0\" x2=\"\(HTMLText.coordinate(capacityX))\" y2=\"\(HTMLText.coordinate(bottom + 4))\" "
            + "stroke=\"#d64545\" stroke-width=\"1.5\" stroke-dasharray=\"5 3\"/>"
            + "<text x=\"\(HTMLText.coordinate(capacityX))\" y=\"\(HTMLText.coordinate(bottom + 18))\" font-size=\"11\" text-anchor=\"middle\" fill=\"#d64545\">"
            + "capacity \(PlanPrediction.bytes(capacity))</text>\n</svg>"
        var legend = "<div class=\"legend\">"
        for (name, fill, _) in parts { legend += "<span><span class=\"key\" style=\"background:\(fill)\"></span>\(name)</span>" }
        legend += "</div>\n"
        let worst = prediction.ranks.max { $0.peakMemoryBytes < $1.peakMemoryBytes }
        let caption = worst.map { rank in
            prediction.fitsInMemory
                ? "The fullest rank, \(rank.rank), peaks at \(PlanPrediction.bytes(rank.peakMemoryBytes)) with \(PlanPrediction.number(rank.microbatchesInFlight)) microbatches' activations alive; \(PlanPrediction.bytes(capacity - rank.peakMemoryBytes)) to spare."
                : HTMLText.escape(prediction.memoryShortfall(rank)) + "."
        } ?? ""
        return chart(svg) + legend + "<p class=\"caption\">\(caption)</p>\n"
    }
}
