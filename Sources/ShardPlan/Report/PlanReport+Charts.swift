extension PlanReport {
    /// The colour of a time-breakdown entry: compute in blues, communication in ambers, the rest in greys.
    static func breakdownColor(_ name: String, index: Int) -> String {
        if name.hasPrefix("compute") { return "hsl(\(205 + (index % 4) * 12) 58% \(42 + (index % 4) * 9)%)" }
        if name.hasPrefix("communication") { return "hsl(\(28 + (index % 4) * 8) 80% \(50 + (index % 4) * 7)%)" }
        if name == "pipeline bubble" { return "url(#hatch-bar)" }
        if name.hasPrefix("gradient") { return "#8a94a6" }
        if name.hasPrefix("optimizer") { return "#3d4556" }
        return "#c3c9d4"
    }

    /// One iteration of the slowest rank as a bar cut by where the time goes, and the same as a table.
    var breakdownSection: String {
        let entries = prediction.timeBreakdown.enumerated().filter { $0.element.seconds > prediction.iterationSeconds * 0.0005 }
        let width = 1184.0, height = 34.0
        var svg = "<svg id=\"time-bar\" viewBox=\"0 0 \(HTMLText.coordinate(width)) \(HTMLText.coordinate(height))\" width=\"\(HTMLText.coordinate(width))\" role=\"img\" aria-label=\"time breakdown\">"
            + "<defs><pattern id=\"hatch-bar\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\">"
            + "<rect width=\"6\" height=\"6\" fill=\"#eceff3\"/><line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"#c9ced8\" stroke-width=\"3\"/></pattern></defs>"
        var x = 0.0
        for (index, entry) in entries {
            let w = entry.seconds / prediction.iterationSeconds * width
            svg += "<rect x=\"\(HTMLText.coordinate(x))\" y=\"0\" width=\"\(HTMLText.coordinate(max(w, 0.5)))\" height=\"\(HTMLText.coordinate(height))\" "
                + "fill=\"\(Self.breakdownColor(entry.name, index: index))\" stroke=\"#fff\" stroke-width=\"1\"><title>\(HTMLText.escape(entry.name)): "
                + "\(PlanPrediction.seconds(entry.seconds))</title></rect>"
            if w > 70 {
                svg += "<text x=\"\(HTMLText.coordinate(x + 6))\" y=\"21\" font-size=\"11\" fill=\"\(entry.name.hasPrefix("optimizer") || entry.name.hasPrefix("compute") ? "#fff" : "#1d2330")\">"
                    + "\(HTMLText.escape(Self.shortName(entry.name))) \(PlanPrediction.percent(entry.seconds / prediction.iterationSeconds))</text>"
            }
            x += w
        }
        svg += "</svg>\n"
        var table = "<table id=\"time-table\" style=\"margin-top:12px\"><thead><tr><th></th><th>slowest rank, one iteration</th>"
            + "<th class=\"num\">time</th><th class=\"num\">share</th></tr></thead><tbody>\n"
        for (index, entry) in entries {
            table += "<tr><td><span class=\"key\" style=\"display:inline-block;width:12px;height:12px;border-radius:2px;background:"
                + "\(entry.name == "pipeline bubble" ? "#d3d8e0" : Self.breakdownColor(entry.name, index: index))\"></span></td>"
                + "<td>\(HTMLText.escape(entry.name))</td><td class=\"num\">\(PlanPrediction.seconds(entry.seconds))</td>"
                + "<td class=\"num\">\(PlanPrediction.percent(entry.seconds / prediction.iterationSeconds))</td></tr>\n"
        }
        table += "<tr><td></td><td><b>iteration</b></td><td class=\"num\"><b>\(PlanPrediction.seconds(prediction.iterationSeconds))</b></td><td class=\"num\">100%</td></tr>\n"
        return svg + table + "</tbody></table>\n"
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
        let labelWidth = 64.0, plotWidth = 1000.0, rowHeight = ranks <= 16 ? 18.0 : ranks <= 48 ? 9.0 : 5.0, gap = ranks <= 16 ? 5.0 : 1.0
        let height = Double(ranks) * (rowHeight + gap) + 24
        let scale = plotWidth / largest
        var svg = "<svg id=\"memory-chart\" viewBox=\"0 0 \(HTMLText.coordinate(labelWidth + plotWidth + 110)) \(HTMLText.coordinate(height))\" "
            + "width=\"\(HTMLText.coordinate(labelWidth + plotWidth + 110))\" role=\"img\" aria-label=\"memory per rank\">\n"
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
                svg += "<text x=\"\(HTMLText.coordinate(x + 6))\" y=\"\(HTMLText.coordinate(y + rowHeight / 2 + 4))\" font-size=\"11\" fill=\"#1d2330\">\(PlanPrediction.bytes(rank.peakMemoryBytes))</text>"
            }
            svg += "\n"
        }
        let capacityX = labelWidth + capacity * scale, bottom = Double(ranks) * (rowHeight + gap)
        svg += "<line id=\"capacity\" x1=\"\(HTMLText.coordinate(capacityX))\" y1=\"0\" x2=\"\(HTMLText.coordinate(capacityX))\" y2=\"\(HTMLText.coordinate(bottom + 4))\" "
            + "stroke=\"#d64545\" stroke-width=\"1.5\" stroke-dasharray=\"5 3\"/>"
            + "<text x=\"\(HTMLText.coordinate(capacityX))\" y=\"\(HTMLText.coordinate(bottom + 18))\" font-size=\"11\" text-anchor=\"middle\" fill=\"#d64545\">"
            + "capacity \(PlanPrediction.bytes(capacity))</text>\n</svg>\n"
        var legend = "<div class=\"legend\">"
        for (name, fill, _) in parts { legend += "<span><span class=\"key\" style=\"background:\(fill)\"></span>\(name)</span>" }
        legend += "</div>\n"
        let worst = prediction.ranks.max { $0.peakMemoryBytes < $1.peakMemoryBytes }
        let caption = worst.map { rank in
            prediction.fitsInMemory
                ? "The fullest rank, \(rank.rank), peaks at \(PlanPrediction.bytes(rank.peakMemoryBytes)) with \(PlanPrediction.number(rank.microbatchesInFlight)) microbatches' activations alive; \(PlanPrediction.bytes(capacity - rank.peakMemoryBytes)) to spare."
                : HTMLText.escape(prediction.memoryShortfall(rank)) + "."
        } ?? ""
        return svg + legend + "<p class=\"caption\">\(caption)</p>\n"
    }
}
