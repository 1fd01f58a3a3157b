import Foundation
import Testing
@testable import ShardPlan

@Suite("HTML report drawings: distinct colours, labels that fit, drawings sized to their content")
struct PlanReportDrawingTests {
    /// gpt-tiny at tp=2, pp=2 on one DGX A100 node: point-to-point and tensor-parallel all-reduces both take time.
    static func tinyPlan(cluster name: String = "dgx-a100-80g:1", tensorParallel: Int = 2, pipelineParallel: Int = 2,
                         dataParallel: Int? = nil) throws -> (TrainingPlan, PlanPrediction) {
        let cluster = try Cluster.preset(named: name)
        let plan = try TrainingPlan.megatron(graph: try ModelCatalog.model(id: "gpt-tiny")!.build(), cluster: cluster, clusterName: name,
                                             configuration: MegatronConfiguration(tensorParallel: tensorParallel, pipelineParallel: pipelineParallel,
                                                                                  dataParallel: dataParallel))
        return (plan, PlanEvaluator(cluster: cluster).evaluate(plan))
    }

    /// The part of `html` from `start` up to the next `end`.
    static func slice(_ html: String, from start: String, to end: String) throws -> Substring {
        let from = try #require(html.range(of: start))
        let to = try #require(html.range(of: end, range: from.upperBound ..< html.endIndex))
        return html[from.lowerBound ..< to.upperBound]
    }

    /// Every match's captures of `pattern` in `text`, as numbers.
    static func numbers(_ pattern: String, in text: some StringProtocol) throws -> [[Double]] {
        try String(text).matches(of: Regex(pattern)).map { match in
            (1 ..< match.output.count).compactMap { match.output[$0].substring.flatMap { Double($0) } }
        }
    }

    /// "hsl(210 62% 58%)" as (210, 62, 58).
    static func hsl(_ color: String) throws -> (hue: Int, saturation: Int, lightness: Int) {
        let parts = color.dropFirst(4).dropLast().split(separator: " ").map { Int($0.trimmingCharacters(in: CharacterSet(charactersIn: "%"))) }
        return (try #require(parts[0]), try #require(parts[1]), try #require(parts[2]))
    }

    @Test("every entry of the time breakdown, communication: all_reduce, point-to-point and the small entries' row included, has its own colour")
    func breakdownColours() throws {
        let (plan, initial) = try Self.tinyPlan()
        var prediction = initial
        #expect(prediction.timeBreakdown.contains { $0.name == "communication: all_reduce" && $0.seconds > 0 })
        #expect(prediction.timeBreakdown.contains { $0.name == "communication: point-to-point" && $0.seconds > 0 })
        // Every entry the evaluator writes, and the rest, given an equal share so that each gets a row, and one too
        // small for a row of its own, which the row of entries under 0.05% takes.
        let names = prediction.timeBreakdown.map(\.name) + ["waiting for other ranks"]
        prediction.timeBreakdown = names.map { .init(name: $0, seconds: prediction.iterationSeconds / Double(names.count)) }
            + [.init(name: "compute: tiny", seconds: prediction.iterationSeconds * 1e-5)]
        let table = try Self.slice(PlanReport(plan: plan, prediction: prediction).html, from: "id=\"time-table\"", to: "</table>")
        #expect(table.contains("<td>other (1 row under 0.05%)</td>"))
        let swatches = table.components(separatedBy: "background:").dropFirst().map { $0.prefix { $0 != "\"" } }
        #expect(swatches.count == names.count + 1)
        #expect(Set(swatches).count == names.count + 1, "\(swatches)")
    }

    @Test("a time-bar segment is labelled only where its label fits: reduce_scatter at 8% is not, matmul at half is")
    func breakdownLabels() throws {
        let (plan, initial) = try Self.tinyPlan()
        var prediction = initial
        let seconds = prediction.iterationSeconds
        prediction.timeBreakdown = [.init(name: "compute: matmul", seconds: seconds * 0.5),
                                    .init(name: "communication: reduce_scatter", seconds: seconds * 0.08),
                                    .init(name: "compute: memory_bound", seconds: seconds * 0.42)]
        let bar = try Self.slice(PlanReport(plan: plan, prediction: prediction).html, from: "<svg id=\"time-bar\"", to: "</svg>")
        #expect(bar.contains(">matmul 50.0%</text>") && bar.contains(">memory_bound 42.0%</text>"))
        #expect(!bar.contains("reduce_scatter</text>") && !bar.contains(">reduce_scatter 8.0%"))
        // A segment of 8% is about 94 px; its label takes more at 11 px.
        #expect(HTMLText.width("reduce_scatter 8.0%", fontSize: 11) + 12 > PlanReport.columnWidth * 0.08)
    }

    @Test("ranks have distinct colours; neighbouring ranks of one tone are far apart in hue, any two of one tone apart",
          arguments: [2, 3, 6, 8, 12, 13, 16, 24, 32, 64])
    func rankColours(ranks: Int) throws {
        let colors = try (0 ..< ranks).map { try Self.hsl(PlanReport.rankColor($0, of: ranks)) }
        #expect(Set((0 ..< ranks).map { PlanReport.rankColor($0, of: ranks) }).count == ranks)
        func apart(_ a: Int, _ b: Int) -> Int { let d = abs(colors[a].hue - colors[b].hue) % 360; return min(d, 360 - d) }
        for a in 0 ..< ranks {
            for b in a + 1 ..< ranks where colors[a].saturation == colors[b].saturation && colors[a].lightness == colors[b].lightness {
                #expect(apart(a, b) >= (ranks <= 32 ? 22 : 15), "ranks \(a) and \(b) of \(ranks): \(colors[a]) and \(colors[b])")
                if b == a + 1 { #expect(apart(a, b) >= 60, "neighbouring ranks \(a) and \(b) of \(ranks)") }
            }
        }
    }

    @Test("the QA's collisions of 16 ranks are gone: rank 0 against 13, 1 against 14, 2 against 15")
    func sixteenRanks() throws {
        for (a, b) in [(0, 13), (1, 14), (2, 15)] {
            let (one, other) = (try Self.hsl(PlanReport.rankColor(a, of: 16)), try Self.hsl(PlanReport.rankColor(b, of: 16)))
            let d = abs(one.hue - other.hue) % 360
            #expect(min(d, 360 - d) >= 22 || one.lightness != other.lightness)
        }
    }

    @Test("each device of the cluster map names its rank when there are several")
    func numberedDevices() throws {
        let (plan, prediction) = try Self.tinyPlan()
        let html = PlanReport(plan: plan, prediction: prediction).html
        #expect(PlanReportTests.occurrences(of: "<text class=\"rank\"", in: html) == 8)
        #expect(html.contains("coloured by the pipeline rank it runs and numbered with it"))
        let (single, alone) = try Self.tinyPlan(tensorParallel: 2, pipelineParallel: 1)
        #expect(!PlanReport(plan: single, prediction: alone).html.contains("<text class=\"rank\""))
    }

    @Test("the cluster map holds its node boxes with their outlines and labels",
          arguments: [("single-h100", 1, 1), ("dgx-a100-80g:1", 2, 2), ("dgx-a100-80g:16", 4, 2), ("dgx-a100-80g:64", 4, 2)])
    func clusterMapSize(cluster: String, tensorParallel: Int, pipelineParallel: Int) throws {
        let (plan, prediction) = try Self.tinyPlan(cluster: cluster, tensorParallel: tensorParallel, pipelineParallel: pipelineParallel, dataParallel: 1)
        let map = try Self.slice(PlanReport(plan: plan, prediction: prediction).html, from: "<svg id=\"cluster-map\"", to: "</svg>")
        let size = try #require(try Self.numbers(#"viewBox="0 0 ([0-9.]+) ([0-9.]+)""#, in: map).first)
        #expect(size[0] <= PlanReport.columnWidth)
        let boxes = try Self.numbers(#"<g class="node"><rect x="([0-9.]+)" y="([0-9.]+)" width="([0-9.]+)" height="([0-9.]+)""#, in: map)
        #expect(boxes.count == plan.cluster.nodes)
        for box in boxes {
            // The outline is 1 px wide, half of it outside the box.
            #expect(box[0] >= 0.5 && box[1] >= 0.5 && box[0] + box[2] + 0.5 <= size[0] && box[1] + box[3] + 0.5 <= size[1], "\(box) in \(size)")
        }
        if plan.cluster.nodes <= 32 {
            // The widest label, from the box's padding on, ends inside its box.
            let label = HTMLText.width("node \(plan.cluster.nodes - 1)", fontSize: 10)
            #expect(boxes.allSatisfy { label + 10 <= $0[2] })
            #expect(map.contains(">node 0</text>"))
        }
    }

    @Test("the memory chart's value labels keep clear of the capacity line")
    func memoryLabels() throws {
        #expect(PlanReport.valueLabelX(after: 100, width: 50, clearOf: 500) == 106)
        #expect(PlanReport.valueLabelX(after: 480, width: 50, clearOf: 500) == 506)
        #expect(PlanReport.valueLabelX(after: 499, width: 50, clearOf: 500) == 506)
        #expect(PlanReport.valueLabelX(after: 520, width: 50, clearOf: 500) == 526)
        let (plan, initial) = try Self.tinyPlan()
        var prediction = initial
        // A device just large enough for the fullest rank: its label would run through the line.
        prediction.deviceMemoryBytes = prediction.peakMemoryBytesPerDevice * 1.01
        let chart = try Self.slice(PlanReport(plan: plan, prediction: prediction).html, from: "<svg id=\"memory-chart\"", to: "</svg>")
        let line = try #require(try Self.numbers(#"<line id="capacity" x1="([0-9.]+)""#, in: chart).first?.first)
        let labels = try String(chart).matches(of: Regex(##"<text x="([0-9.]+)" y="[0-9.]+" font-size="11" fill="#1d2330">([^<]+)</text>"##))
        #expect(labels.count == prediction.ranks.count)
        for label in labels {
            let x = try #require(label.output[1].substring.flatMap { Double($0) })
            let width = HTMLText.width(String(label.output[2].substring ?? ""), fontSize: 11)
            #expect(x > line || x + width < line, "label at \(x), \(width) px wide; the line at \(line)")
        }
    }

    @Test("the drawings keep their natural size in a box that scrolls sideways; the result layout column does not wrap")
    func narrowWindow() throws {
        let (plan, prediction) = try Self.tinyPlan()
        let html = PlanReport(plan: plan, prediction: prediction).html
        for id in ["cluster-map", "timeline-chart", "time-bar", "memory-chart"] {
            #expect(html.contains("<div class=\"chart\"><svg id=\"\(id)\""), "\(id)")
            let width = try #require(try Self.numbers("<svg id=\"\(id)\"[^>]* width=\"([0-9.]+)\"", in: html).first?.first)
            #expect(width <= PlanReport.columnWidth, "\(id) is \(width) px wide")
        }
        #expect(html.contains(".chart { overflow-x: auto; }") && html.contains(".chart > svg { max-width: none; }"))
        #expect(PlanReportTests.occurrences(of: "<td class=\"layout\">", in: html) == PlanReportTests.occurrences(of: "<tr><td><code>", in: html))
        #expect(html.contains("td.layout, th.layout { white-space: nowrap; }"))
    }

    @Test("the headline says which search found the plan, that it stopped at the time limit, and its graph rewrites; rewritten ops are marked")
    func provenanceAndRewrites() throws {
        let (initial, prediction) = try Self.tinyPlan()
        var plan = initial
        #expect(!PlanReport(plan: plan, prediction: prediction).html.contains("found by the"))
        plan.provenance = SearchProvenance(foundBy: .megatronGrid, stageDynamicProgramSeconds: nil, megatronGridSeconds: prediction.iterationSeconds,
                                           searchSeconds: 20, stoppedEarly: true)
        let groups = PlanReport.layerGroups(plan.stages[0], layers: GraphAnalysis(plan.graph).layers)
        let shown = plan.graph.operations[groups[0].operations.lowerBound]
        plan.rewrites = [GraphRewrite(rule: "split-contraction", anchors: [shown.name], removedOperations: [shown.name], insertionPoint: shown.name,
                                      addedOperations: [RewriteOperation(name: shown.name, op: shown.op, inputs: [])])]
        let html = PlanReport(plan: plan, prediction: prediction).html
        let text = prediction.textReport(for: plan)
        for line in ["found by the Megatron grid; the stage DP found no plan that fits before the time limit; stopped at the time limit with the best plan found so far",
                     "graph rewrites: split-contraction x1"] {
            #expect(text.contains(line) && html.contains("<br>" + HTMLText.escape(line)), "\(line)")
        }
        #expect(html.contains("<td><code>\(HTMLText.escape(shown.name))</code></td><td>\(HTMLText.escape(shown.op.kindName)) <span class=\"rewrite\">· split-contraction</span></td>"))
        #expect(PlanReportTests.occurrences(of: "<span class=\"rewrite\">", in: html) == 1)
        #expect(html.contains("after its graph rewrites (split-contraction x1; Docs/rewrites.md)"))
    }

    @Test("a 64 x 2 rank mesh is drawn in two bands of 2 x 32, and its card says where each axis runs")
    func longMeshCard() throws {
        let cluster = try Cluster.preset(named: "dgx-a100-80g:16")
        let plan = try TrainingPlan.megatron(graph: try ModelCatalog.model(id: "gpt-tiny")!.build().rebatched(to: 64), cluster: cluster,
                                             clusterName: "dgx-a100-80g:16",
                                             configuration: MegatronConfiguration(tensorParallel: 2, pipelineParallel: 1, dataParallel: 64))
        let prediction = PlanEvaluator(cluster: cluster).evaluate(plan)
        #expect(plan.stages[0].mesh.shape == [64, 2])
        let cards = try Self.slice(PlanReport(plan: plan, prediction: prediction).html, from: "id=\"meshes\"", to: "id=\"ranks\"")
        #expect(cards.contains("<svg class=\"mesh\" viewBox=\"0 0 194 30\" width=\"194\">"))
        #expect(cards.contains("mesh 64 × 2<br>x = 64 (data parallel), across, wrapped every 32<br>y = 2 (tensor parallel), down</div>"))
        #expect(PlanReportTests.occurrences(of: "<title>device ", in: String(cards)) == 128)
    }

    @Test("tick labels stay inside the timeline: one that would run past the right edge moves left of its tick")
    func tickLabels() throws {
        // "18.0 s" at 10 px is 37.2 px wide: centred on the axis's end, 8 px short of the edge, it would lose 10.6 px.
        #expect(PlanReport.tickLabelX(at: 1162, width: HTMLText.width("18.0 s", fontSize: 10), drawingWidth: 1170) == 1151.4)
        #expect(PlanReport.tickLabelX(at: 600, width: 37.2, drawingWidth: 1170) == 600)
        for cluster in ["single-h100", "dgx-a100-80g:1"] {
            let (plan, prediction) = try Self.tinyPlan(cluster: cluster, tensorParallel: 1, pipelineParallel: 1, dataParallel: 1)
            let chart = try Self.slice(PlanReport(plan: plan, prediction: prediction).html, from: "<svg id=\"timeline-chart\"", to: "</svg>")
            let width = try #require(try Self.numbers(#"viewBox="0 0 ([0-9.]+) "#, in: chart).first?.first)
            let labels = try String(chart).matches(of: Regex(##"<text x="([0-9.]+)" y="[0-9.]+" font-size="10" text-anchor="middle" fill="#5b6475">([^<]+)</text>"##))
            #expect(labels.count >= 5)
            for label in labels {
                let x = try #require(label.output[1].substring.flatMap { Double($0) })
                let half = HTMLText.width(String(label.output[2].substring ?? ""), fontSize: 10) / 2
                #expect(x - half >= 0 && x + half <= width + 0.01, "\(label.output[2].substring ?? "") at \(x) in \(width) px")
            }
        }
    }

    @Test("the cluster map's label is in the singular for one node and one device")
    func clusterMapLabel() throws {
        let (single, alone) = try Self.tinyPlan(cluster: "single-h100", tensorParallel: 1, pipelineParallel: 1, dataParallel: 1)
        #expect(PlanReport(plan: single, prediction: alone).html.contains("aria-label=\"1 node of 1 device\""))
        let (plan, prediction) = try Self.tinyPlan(cluster: "dgx-a100-80g:2", tensorParallel: 2, pipelineParallel: 2)
        #expect(PlanReport(plan: plan, prediction: prediction).html.contains("aria-label=\"2 nodes of 8 devices\""))
    }
}
