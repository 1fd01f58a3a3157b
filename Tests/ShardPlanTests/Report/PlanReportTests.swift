import Foundation
import Testing
@testable import ShardPlan

@Suite("HTML report: one self-contained page with the cluster, timeline, time, memory and shardings")
struct PlanReportTests {
    static func occurrences(of needle: String, in text: String) -> Int { text.components(separatedBy: needle).count - 1 }

    @Test("markup and control characters are escaped; coordinates have at most two decimals", arguments: [
        (12.5, "12.5"), (3.0, "3"), (0.254, "0.25"), (0.05, "0.05"), (-1.5, "-1.5"), (-0.25, "-0.25"), (1e-9, "0"), (1024.999, "1025"),
    ])
    func text(value: Double, written: String) {
        #expect(HTMLText.coordinate(value) == written)
        #expect(HTMLText.escape("a<b & \"c\" > 'd'") == "a&lt;b &amp; &quot;c&quot; &gt; &#39;d&#39;")
        // Control and invisible format characters as the text report writes them, never raw in the page.
        #expect(HTMLText.escape("a\u{1B}[2Jb\u{0}c\u{202E}<") == "a\\u{1B}[2Jb\\u{0}c\\u{202E}&lt;")
        #expect(HTMLText.count(1024) == "1,024" && HTMLText.count(999) == "999" && HTMLText.count(1_000_000) == "1,000,000")
    }

    @Test("a Megatron plan's page holds every section, a square per device and a pass per microbatch and stage")
    func megatronPage() throws {
        let graph = try ModelCatalog.model(id: "gpt-tiny")!.build()
        let cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1",
                                             configuration: MegatronConfiguration(tensorParallel: 2, pipelineParallel: 2))
        let html = PlanReport(plan: plan, prediction: PlanEvaluator(cluster: cluster).evaluate(plan)).html
        for id in ["cluster", "timeline", "time", "memory", "shardings"] { #expect(html.contains("<section id=\"\(id)\">")) }
        #expect(Self.occurrences(of: "class=\"device\"", in: html) == 8)
        #expect(Self.occurrences(of: "<details", in: html) == 2)
        // 8 samples on dp=2 replicas: 4 microbatches, a forward and a backward each through 2 stages.
        #expect(html.contains("data-passes=\"16\" data-drawing=\"exact\""))
        #expect(Self.occurrences(of: "<rect class=\"bubble\"", in: html) == 2)
        #expect(!html.contains("<script") && !html.contains("http://") && !html.contains("https://"))
        #expect(html.hasPrefix("<!DOCTYPE html>") && html.hasSuffix("</html>\n"))
    }

    @Test("a rebatched plan's throughput card says the batch was rebatched, in the text report's words")
    func rebatchedPlan() throws {
        let graph = try ModelCatalog.model(id: "gpt-tiny")!.build()
        let cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        var plan = try TrainingPlan.megatron(graph: graph.rebatched(to: 16), cluster: cluster, clusterName: "dgx-a100-80g:1",
                                             configuration: MegatronConfiguration(tensorParallel: 2, pipelineParallel: 1))
        let own = PlanReport(plan: plan, prediction: PlanEvaluator(cluster: cluster).evaluate(plan)).html
        #expect(own.contains("<div class=\"note\">global batch 16</div>"))
        plan.rebatchedFrom = 8
        let prediction = PlanEvaluator(cluster: cluster).evaluate(plan)
        let html = PlanReport(plan: plan, prediction: prediction).html
        #expect(prediction.textReport(for: plan).contains("global batch 16 (the graph's 8, rebatched), "))
        #expect(html.contains("id=\"card-throughput\"") && html.contains("<div class=\"note\">global batch 16 (the graph&#39;s 8, rebatched)</div>"))
    }

    @Test("an FP8 plan's summary line says what runs in FP8, in the text report's words; a bf16 one says nothing of it")
    func precisionInSummary() throws {
        let graph = try ModelCatalog.model(id: "gpt-tiny")!.build()
        let cluster = try Cluster.preset(named: "dgx-h100:1")
        func page(_ options: TrainingOptions) throws -> (html: String, text: String) {
            let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-h100:1",
                                                 configuration: MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1, options: options))
            let prediction = PlanEvaluator(cluster: cluster).evaluate(plan)
            return (PlanReport(plan: plan, prediction: prediction).html, prediction.textReport(for: plan))
        }
        let fp8 = try page(TrainingOptions(zeroStage: 1, precision: .fp8, fp8Parameters: true))
        let clause = ", linear layers in FP8 (tensorwise), their weights kept in FP8"
        #expect(fp8.text.contains(clause) && fp8.html.contains(clause + "</p>"))
        #expect(try !page(TrainingOptions()).html.contains("FP8"))
    }

    @Test("repeated layers with the same shardings are shown once")
    func collapsedLayers() throws {
        // GPT-3 Small's 12 heads split over 4 devices.
        let graph = try ModelCatalog.model(id: "gpt3-125m")!.build()
        let cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1",
                                             configuration: MegatronConfiguration(tensorParallel: 4, pipelineParallel: 1))
        let groups = PlanReport.layerGroups(plan.stages[0], layers: GraphAnalysis(graph).layers)
        let repeated = try #require(groups.max { $0.layers.count < $1.layers.count })
        #expect(repeated.layers.count == 12)
        #expect(groups.reduce(0) { $0 + $1.layers.count } == GraphAnalysis(graph).layers.count)
        let html = PlanReport(plan: plan, prediction: PlanEvaluator(cluster: cluster).evaluate(plan)).html
        #expect(html.contains("12 identical layers with the same shardings, shown once"))
        #expect(Self.occurrences(of: "<tr><td><code>", in: html) == groups.reduce(0) { $0 + $1.operations.count })
    }

    @Test("a plan with thousands of passes draws them per pixel column and stays small")
    func largePipeline() throws {
        let graph = try ModelCatalog.model(id: "gpt3-1.3b")!.build()
        let cluster = try Cluster.preset(named: "dgx-a100-80g:2")
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:2",
                                             configuration: MegatronConfiguration(tensorParallel: 2, pipelineParallel: 8, dataParallel: 1,
                                                                                  virtualStages: 3))
        let html = PlanReport(plan: plan, prediction: PlanEvaluator(cluster: cluster).evaluate(plan)).html
        let passes = 2 * plan.microbatches * plan.stages.count
        #expect(passes > 10_000)
        #expect(html.contains("data-passes=\"\(passes)\" data-drawing=\"binned\""))
        #expect(html.utf8.count < 1_500_000, "\(html.utf8.count) bytes")
    }

    @Test("tick spacings are 1, 2 or 5 times a power of ten, five to ten per axis",
          arguments: [(33.0, 5.0), (0.004, 0.0005), (1.0, 0.1), (7.5, 1.0), (120.0, 20.0)])
    func ticks(span: Double, tick: Double) {
        #expect(abs(PlanReport.tickInterval(span) - tick) < tick * 1e-9)
    }

    @Test("rank lists are compact")
    func rankList() {
        #expect(PlanReport.rankList([0, 1, 2, 3, 6]) == "ranks 0-3, 6")
        #expect(PlanReport.rankList([4]) == "rank 4")
    }

    @Test("ops are marked ZeRO only where the stage has data-parallel devices to shard over, as the summary says zero=",
          arguments: [("single-h100", 1, 1, false), ("dgx-a100-80g:1", 8, 1, false), ("dgx-a100-80g:1", 1, 8, true), ("dgx-a100-80g:1", 2, 4, true)])
    func zeroOnlyWithDataParallelism(cluster name: String, tensorParallel: Int, dataParallel: Int, marked: Bool) throws {
        let cluster = try Cluster.preset(named: name)
        var plan = try TrainingPlan.megatron(graph: try ModelCatalog.model(id: "gpt-tiny")!.build(), cluster: cluster, clusterName: name,
                                             configuration: MegatronConfiguration(tensorParallel: tensorParallel, pipelineParallel: 1, dataParallel: dataParallel))
        // As a searched plan gives it (the QA's `plan` on one H100): each op its own ZeRO stage.
        for index in plan.stages[0].strategies.indices { plan.stages[0].strategies[index].zeroStage = 1 }
        let html = PlanReport(plan: plan, prediction: PlanEvaluator(cluster: cluster).evaluate(plan)).html
        #expect(html.contains(" · ZeRO-1</code>") == marked)
        #expect(MegatronSummary.describe(plan.stages[0], graph: plan.graph).contains("zero=1") == marked)
        if tensorParallel == 1 && dataParallel == 1 { #expect(html.contains("<td><code>one device</code></td>")) }
    }
}
