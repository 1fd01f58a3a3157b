import Foundation
import Testing
@testable import ShardPlan

/// The QA findings on the text and HTML reports' figures: how MFU is counted, said where it is shown; rates to three
/// significant digits; a time breakdown whose rows add up to the iteration; one rank's timeline caption.
@Suite("Reported figures: MFU's definition, rates to three digits, a breakdown that sums, one rank's caption")
struct ReportedFiguresTests {
    /// A plan of `model` (gpt-tiny; `window`: one causal head of 8,192 tokens with a window of 4,096; `frozen`: the
    /// two-product MLP with its first weight frozen) on one node of `cluster`, and its prediction.
    static func plan(_ model: String, cluster name: String, precision: MatmulPrecision = .bf16) throws -> (TrainingPlan, PlanPrediction) {
        let cluster = try Cluster.preset(named: name)
        let options = TrainingOptions(precision: precision)
        let (graph, configuration): (Graph, MegatronConfiguration) = switch model {
        case "window": (try SingleHeadAttention.graph(tokens: 8192, window: 4096, causal: true),
                        MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1, dataParallel: 1, microBatchSize: 1, options: options))
        case "llama-tiny-1k": (try ModelCatalog.model(id: "llama-tiny")!.build(sequenceLength: 1024, globalBatch: nil),
                               MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1, options: options))
        case "frozen": (try FrozenParameterTests.mlp(frozenW1: true),
                        MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1, dataParallel: 8, microBatchSize: 128, options: options))
        default: (try ModelCatalog.model(id: model)!.build(), MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1, options: options))
        }
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: name, configuration: configuration)
        return (plan, PlanEvaluator(cluster: cluster).evaluate(plan))
    }

    @Test("three significant digits for rates at any magnitude; `number` keeps its fixed decimals", arguments: [
        (0.00599, "0.00599", "0.01"), (868_889, "869000", "868889"), (48.44, "48.4", "48.4"), (312.4, "312", "312"),
        (0.0212, "0.0212", "0.02"), (0.001, "0.00100", "0.00"), (0.009996, "0.0100", "0.01"), (9.996, "10.0", "10.00"),
        (999.6, "1000", "1000"), (-0.0123, "-0.0123", "-0.01"), (-0.001, "-0.00100", "0.00"), (0, "0.00", "0.00"),
    ])
    func digits(value: Double, significant: String, number: String) {
        #expect(PlanPrediction.significant(value) == significant)
        #expect(PlanPrediction.number(value) == number)
    }

    /// QA: "peak memory 44.1 GB of 85.9 GB" read as a bigger card than an 80 GB A100; the GiB it is sold as follow
    /// where the memory is a whole number of them (80 x 2^30 = 85,899,345,920 bytes), as `clusters` lists it.
    @Test("a device's memory in GB names its whole GiB: 85.9 GB (80 GiB); a limit of 4 GB, 3.73 GiB, names none")
    func deviceMemory() throws {
        #expect(PlanPrediction.deviceMemory(85_899_345_920) == "85.9 GB (80 GiB)")
        #expect(PlanPrediction.deviceMemory(4e9) == "4.00 GB")
        let (plan, prediction) = try Self.plan("gpt-tiny", cluster: "dgx-a100-80g:1")
        #expect(prediction.textReport(for: plan).contains(" of 85.9 GB (80 GiB) per device"))
        #expect(PlanReport(plan: plan, prediction: prediction).html.contains(" of 85.9 GB (80 GiB)</div>"))
    }

    @Test("samples/s and TFLOP/s per device are written to three significant digits in the text and on the cards",
          arguments: [(0.00599, 0.0212, "0.00599 samples/s", "0.0212 TFLOP/s per device"),
                      (868_889, 45.67, "869000 samples/s", "45.7 TFLOP/s per device")])
    func rates(samples: Double, tflops: Double, samplesText: String, tflopsText: String) throws {
        let (plan, initial) = try Self.plan("gpt-tiny", cluster: "dgx-a100-80g:1")
        var prediction = initial
        prediction.samplesPerSecond = samples
        prediction.tflopsPerDevice = tflops
        let text = prediction.textReport(for: plan), html = PlanReport(plan: plan, prediction: prediction).html
        #expect(text.contains("  |  \(samplesText)  |  \(tflopsText)  |  MFU "))
        #expect(html.contains("<div class=\"value\">\(samplesText)</div>") && html.contains("<div class=\"note\">\(tflopsText)</div>"))
    }

    @Test("MFU's definition follows the figures, in the text and on the utilisation card, naming the peak it divides by",
          arguments: [
              ("gpt-tiny", "dgx-a100-80g:1", MatmulPrecision.bf16, 312e12,
               "3 x forward, causal attention counted dense; MFU against the 312 TFLOP/s dense bf16 peak"),
              // FP8 GEMMs, but MFU still against the 16-bit peak, as NVIDIA's and torchtitan's FP8 tables count it.
              ("gpt-tiny", "dgx-h100:1", .fp8, 989.4e12,
               "3 x forward, causal attention counted dense; MFU against the 989.4 TFLOP/s dense bf16 peak, not the FP8 peak"),
              // A V100 has no bf16 units: its f16 rate is the peak.
              ("gpt-tiny", "p3.16xlarge:1", .bf16, 125e12,
               "3 x forward, causal attention counted dense; MFU against the 125 TFLOP/s dense f16 peak"),
              ("window", "dgx-h100:1", .bf16, 989.4e12,
               "3 x forward, causal attention counted dense, a sliding window as twice its band; MFU against the 989.4 TFLOP/s dense bf16 peak; MFU "),
              // At 1,024 tokens attention is most of the work: the line adds the MFU of the FLOPs a causal kernel computes.
              ("llama-tiny-1k", "dgx-h100:1", .bf16, 989.4e12,
               "3 x forward, causal attention counted dense; MFU against the 989.4 TFLOP/s dense bf16 peak; MFU "),
              // No attention to count; a frozen weight's skipped gradients not counted.
              ("frozen", "dgx-h100:1", .bf16, 989.4e12,
               "3 x forward less the backward work frozen weights skip; MFU against the 989.4 TFLOP/s dense bf16 peak"),
          ])
    func utilizationDefinition(model: String, cluster: String, precision: MatmulPrecision, peak: Double, counted: String) throws {
        let (plan, prediction) = try Self.plan(model, cluster: cluster, precision: precision)
        // The window model: a 128 x 128 projection of 8,192 tokens (268,435,456 FLOPs) and attention over a window of
        // 4,096, whose band holds 4,096 x 4,097 / 2 + 4,096 x 4,096 = 25,167,872 query-key pairs, 512 FLOPs each
        // (12,885,950,464), counted as twice that; the kernel computes the band once.
        if model == "window" {
            let share = (268_435_456.0 + 12_885_950_464) / (268_435_456 + 2 * 12_885_950_464)
            #expect(abs(try #require(prediction.causalHalvedUtilization) / prediction.modelFLOPsUtilization - share) < 1e-12)
        }
        #expect((prediction.causalHalvedUtilization != nil) == counted.hasSuffix("; MFU "))
        let definition = "MFU and TFLOP/s per device count model FLOPs: " + counted
            + (prediction.causalHalvedUtilization.map { "\(PlanPrediction.percent($0)) with causal attention counted as the half it computes" } ?? "")
        let lines = prediction.textReport(for: plan).split(separator: "\n", omittingEmptySubsequences: false)
        let figures = try #require(lines.firstIndex { $0.hasPrefix("iteration ") })
        #expect(lines[figures + 1] == definition)
        let card = try PlanReportDrawingTests.slice(PlanReport(plan: plan, prediction: prediction).html, from: "id=\"card-utilisation\"", to: "</div>\n")
        #expect(card.contains("<div class=\"note\">\(HTMLText.escape(definition))</div>"))
        // The definition is the evaluator's: the model FLOPs over the iteration, the devices and the peak it names.
        let devices = Double(plan.deviceCount)
        #expect(abs(prediction.modelFLOPsUtilization * devices * peak * prediction.iterationSeconds / prediction.modelFLOPs - 1) < 1e-12)
        let forward = 3 * OperationCost.modelForwardFLOPs(of: plan.graph)
        #expect(model == "frozen" ? prediction.modelFLOPs < forward : prediction.modelFLOPs == forward)
    }

    @Test("entries under 0.05% of the iteration are summed in one row, so the text's and the page's rows add up to the iteration")
    func smallEntries() throws {
        let (plan, initial) = try Self.plan("gpt-tiny", cluster: "dgx-a100-80g:1")
        var prediction = initial
        prediction.iterationSeconds = 1
        // 0.4 ms and 0.2 ms are under 0.05% (0.5 ms); the all-gather takes no time and is no row at all.
        prediction.timeBreakdown = [("compute: matmul", 0.9), ("communication: all_reduce", 0.0994), ("communication: all_gather", 0),
                                    ("gradient synchronisation (exposed)", 0.0002), ("optimizer step", 0.0004)].map { .init(name: $0, seconds: $1) }
        let text = prediction.textReport(for: plan)
        for (name, time, share) in [("compute: matmul", "900 ms", "90.0%"), ("communication: all_reduce", "99.4 ms", "9.94%"),
                                    ("other (2 rows under 0.05%)", "600 us", "0.06%")] {
            #expect(text.contains("\n  " + name.padding(toLength: 36, withPad: " ", startingAt: 0) + time.leftPadded(10) + share.leftPadded(8) + "\n"),
                    "\(name)")
        }
        #expect(!text.contains("optimizer step") && !text.contains("all_gather"))
        let table = try PlanReportDrawingTests.slice(PlanReport(plan: plan, prediction: prediction).html, from: "id=\"time-table\"", to: "</table>")
        #expect(table.contains("<td>other (2 rows under 0.05%)</td><td class=\"num\">600 us</td><td class=\"num\">0.06%</td>"))
        #expect(PlanReportTests.occurrences(of: "<tr><td><span", in: String(table)) == 3)
        #expect(prediction.reportedTimeBreakdown.reduce(0) { $0 + $1.seconds } == 1)
        // One small entry is one row; none, no row.
        prediction.timeBreakdown.removeLast()
        #expect(prediction.reportedTimeBreakdown.last?.name == "other (1 row under 0.05%)")
        prediction.timeBreakdown.removeLast()
        #expect(prediction.reportedTimeBreakdown.map(\.name) == ["compute: matmul", "communication: all_reduce"])
    }

    @Test("one rank's timeline caption names no busiest rank; two ranks' still does")
    func oneRank() throws {
        let (single, singlePrediction) = try PlanReportDrawingTests.tinyPlan(tensorParallel: 1, pipelineParallel: 1)
        let caption = try PlanReportDrawingTests.slice(PlanReport(plan: single, prediction: singlePrediction).html,
                                                       from: "the passes run in", to: "</p>")
        #expect(caption.hasSuffix("; the one rank never waits.</p>"), "\(caption)")
        #expect(!caption.contains("busiest"))
        let (pipeline, prediction) = try PlanReportDrawingTests.tinyPlan()
        let html = PlanReport(plan: pipeline, prediction: prediction).html
        #expect(try PlanReportDrawingTests.slice(html, from: "the passes run in", to: "</p>").contains("on average, the busiest, rank "))
    }

    @Test("the timeline caption gives the busiest rank's wait as the breakdown's bubble: 794 ms of 31.5 s is 2.52%")
    func busiestWait() {
        #expect(PlanReport.busiestWait(0.794, makespan: 31.5) == "2.52% (794 ms, the time breakdown's pipeline bubble)")
    }

    @Test("the busiest rank's simulated wait is the breakdown's bubble, and the passes' makespan the iteration less its tail",
          arguments: [PipelineSchedule.interleaved, .oneForwardOneBackward, .gpipe])
    func bubbleIsTheSimulatedWait(schedule: PipelineSchedule) throws {
        // GPT-3 XL on 16 devices: the first and last ranks carry the embedding and the head, so the ranks are unequal.
        let cluster = try Cluster.preset(named: "dgx-a100-80g:2")
        let plan = try TrainingPlan.megatron(graph: try ModelCatalog.model(id: "gpt3-1.3b")!.build(), cluster: cluster, clusterName: "dgx-a100-80g:2",
                                             configuration: MegatronConfiguration(tensorParallel: 2, pipelineParallel: 8, dataParallel: 1,
                                                                                  virtualStages: schedule == .interleaved ? 3 : 1, schedule: schedule))
        let prediction = PlanEvaluator(cluster: cluster).evaluate(plan)
        let report = PlanReport(plan: plan, prediction: prediction), timeline = report.timeline
        let busy = (0 ..< plan.pipelineRanks).map { timeline.makespan - timeline.idleSeconds(rank: $0) }
        let busiest = try #require(busy.indices.max { busy[$0] < busy[$1] })
        let bubble = try #require(prediction.timeBreakdown.first { $0.name == "pipeline bubble" }?.seconds)
        let tail = prediction.ranks.map { $0.exposedGradientSynchronizationSeconds + $0.optimizerSeconds }.max() ?? 0
        #expect(abs(timeline.idleSeconds(rank: busiest) - bubble) < 1e-9 * prediction.iterationSeconds)
        #expect(abs(timeline.makespan + tail - prediction.iterationSeconds) < 1e-9 * prediction.iterationSeconds)
        // Interleaved, the ranks are unequal enough that the closed form would have said otherwise (with one chunk a
        // rank the slowest, the last, sets the pace and the closed form holds).
        let closedForm = schedule.pipelineSeconds(stageSeconds: prediction.ranks.map { $0.forwardSeconds + $0.backwardSeconds + $0.pointToPointSeconds },
                                                  microbatches: plan.microbatches, virtualStages: plan.virtualStages)
        if schedule == .interleaved { #expect(abs(closedForm - timeline.makespan) > 1e-6 * timeline.makespan) }
        #expect(try PlanReportDrawingTests.slice(report.html, from: "the passes run in", to: "</p>").contains("pipeline bubble"))
    }
}
