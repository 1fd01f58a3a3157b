import Foundation
import Testing
@testable import ShardPlan

@Suite("Plan documents: score --plan re-scores a saved plan exactly")
struct PlanDocumentTests {
    let graph: Graph
    let cluster: Cluster

    init() throws {
        graph = try ModelCatalog.model(id: "gpt-tiny")!.build()
        cluster = try Cluster.preset(named: "dgx-a100-80g:1")
    }

    func roundTrip(_ plan: TrainingPlan) throws -> (PlanPrediction, PlanPrediction, TrainingPlan) {
        let evaluator = PlanEvaluator(cluster: cluster)
        let prediction = evaluator.evaluate(plan)
        let document = try JSONParser.parse(plan.jsonText(prediction: prediction))
        let decoded = try TrainingPlan(json: document, graph: graph, cluster: cluster, clusterName: plan.clusterName)
        return (prediction, evaluator.evaluate(decoded), decoded)
    }

    /// The document keeps the `--cluster` argument, so that a saved plan names what to re-score it on; reports title
    /// a cluster file by the name it gives itself as well, and a preset or an unnamed file by the argument.
    @Test("reports title a cluster file by its name and path, the document keeps the argument")
    func clusterTitle() throws {
        var plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1",
                                             configuration: MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1))
        #expect(plan.clusterTitle == "dgx-a100-80g:1")
        plan.clusterName = "clusters/lab.json"
        plan.cluster.name = "1x DGX A100 in the lab"
        #expect(plan.clusterTitle == "1x DGX A100 in the lab from clusters/lab.json")
        let prediction = PlanEvaluator(cluster: cluster).evaluate(plan)
        #expect(prediction.textReport(for: plan).hasPrefix("gpt-tiny on 1x DGX A100 in the lab from clusters/lab.json (8 devices)"))
        #expect(plan.jsonText(prediction: prediction).contains("\"cluster\": \"clusters/lab.json\""))
        for unnamed in [Cluster.unnamed, "", "  "] {
            plan.cluster.name = unnamed
            #expect(plan.clusterTitle == "clusters/lab.json")
        }
    }

    /// The document `plan --format json` writes for Megatron's layout `configuration` of gpt-tiny.
    func megatronDocument(_ configuration: MegatronConfiguration) throws -> JSONValue {
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1", configuration: configuration)
        return try JSONParser.parse(plan.jsonText(prediction: PlanEvaluator(cluster: cluster).evaluate(plan)))
    }

    /// A plan of another graph is refused at its first op the graph lacks, and the error names the graph the plan
    /// is of (its `graph` member), so a reader need not guess why gpt-tiny's ops are missing from llama-tiny.
    @Test("a plan of another graph is refused at its first unknown op, naming the plan's graph")
    func planOfAnotherGraph() throws {
        let document = try megatronDocument(MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1))
        let llama = try ModelCatalog.model(id: "llama-tiny")!.build()
        let error = #expect(throws: InputError.self) {
            _ = try TrainingPlan(json: document, graph: llama, cluster: cluster, clusterName: "dgx-a100-80g:1")
        }
        #expect(error?.kind == .undefinedName)
        #expect(error?.description.contains("the plan is of graph \"gpt-tiny\", and this graph is \"llama-tiny\"") == true,
                "\(error?.description ?? "")")
    }

    /// Hand edits QA made, each refused with a sentence that says what is allowed: a microbatch count below one
    /// (before: "does not split into -4 microbatches"), the first stage on another rank than 0 (before: "runs on
    /// rank 0 (the next rank), or on rank 0"), and no microbatch count at all (before: priced as one microbatch; the
    /// count sets the price and every plan `plan` writes states it).
    @Test("a microbatch count below one or missing and a first stage off rank 0 are refused with what is allowed")
    func editsSayWhatIsAllowed() throws {
        guard case .object(let top) = try megatronDocument(MegatronConfiguration(tensorParallel: 2, pipelineParallel: 2)),
              case .array(let stages)? = top["stages"], case .object(let first) = stages[0] else {
            Issue.record("no stages")
            return
        }
        for (edited, path, message) in [
            ({ var t = top; t["microbatches"] = .int(-4); return t }(), "microbatches", "expected 1 or more microbatches, found -4"),
            ({ var t = top, s = stages, f = first; f["rank"] = .int(7); s[0] = .object(f); t["stages"] = .array(s); return t }(),
             "stages[0].rank", "the first stage runs on rank 0"),
            ({ var t = top; t["microbatches"] = nil; return t }(), JSONPath.root.description, "missing required member \"microbatches\""),
        ] {
            let error = #expect(throws: InputError.self) {
                _ = try TrainingPlan(json: .object(edited), graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1")
            }
            #expect(error?.path.description == path && error?.description.contains(message) == true, "\(error?.description ?? "")")
        }
    }

    @Test("Megatron layouts decode to the same strategies and the same prediction",
          arguments: [(2, 2, 1), (4, 1, 1), (1, 2, 1), (8, 1, 1)])
    func megatron(tp: Int, pp: Int, virtualStages: Int) throws {
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1",
                                             configuration: MegatronConfiguration(tensorParallel: tp, pipelineParallel: pp,
                                                                                  sequenceParallel: tp > 1))
        let (before, after, decoded) = try roundTrip(plan)
        #expect(decoded.stages.map(\.strategies) == plan.stages.map(\.strategies))
        #expect(before.iterationSeconds == after.iterationSeconds)
        #expect(before.peakMemoryBytesPerDevice == after.peakMemoryBytesPerDevice)
    }

    @Test("the plan's ZeRO stage reaches every op that reads a parameter: a plan read, written and read again is the same")
    func zeroStageFloor() throws {
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1",
                                             configuration: MegatronConfiguration(tensorParallel: 2, pipelineParallel: 2,
                                                                                  options: TrainingOptions(zeroStage: 1)))
        let evaluator = PlanEvaluator(cluster: cluster)
        // Edited by hand: the first stage lists no zero_stages, while the plan's options still say ZeRO-1.
        let document = try JSONParser.parse(plan.jsonText(prediction: evaluator.evaluate(plan)))
            .updating(JSONPath([.key("stages"), .index(0, label: nil), .key("zero_stages")])) { _ in .object(JSONObject()) }
        let decoded = try TrainingPlan(json: document, graph: graph, cluster: cluster, clusterName: "c")
        let first = decoded.stages[0]
        let readers = first.operations.filter { graph.operations[$0].inputs.contains { graph[$0].isParameter } }
        #expect(!readers.isEmpty)
        for op in readers { #expect(first.strategy(of: op).zeroStage == 1, "\(graph.operations[op].name)") }
        let again = try TrainingPlan(json: try JSONParser.parse(decoded.jsonText(prediction: evaluator.evaluate(decoded))),
                                     graph: graph, cluster: cluster, clusterName: "c")
        #expect(again.stages.map(\.strategies) == decoded.stages.map(\.strategies))
        #expect(evaluator.evaluate(decoded).iterationSeconds == evaluator.evaluate(plan).iterationSeconds)
    }

    /// The one-stage search's line is the stages' own, as `score --plan` prints it for the saved plan (with the
    /// pipeline depth, pp=1).
    @Test("a one-stage search's summary names the recomputation it ran, as score --plan reads it back")
    func singleStageSummaryNamesRecomputation() throws {
        let found = try SingleStagePlanner(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1",
                                           options: TrainingOptions(recompute: .full), meshShapes: [[2, 4]], recomputeModes: [.full]).plan(microbatches: 1)
        #expect(found.plan.summary?.hasSuffix(" recompute=full pp=1") == true, "\(found.plan.summary ?? "")")
        let document = try JSONParser.parse(found.plan.jsonText(prediction: found.prediction))
        let decoded = try TrainingPlan(json: document, graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1")
        #expect(decoded.summary == found.plan.summary)
    }

    @Test("a searched two-stage plan decodes to the same strategies and the same prediction")
    func searched() throws {
        let found = try PipelinePlanner(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1",
                                        maximumStageCount: 2, meshShape: [2, 2]).plan(microbatches: 2)
        let (before, after, decoded) = try roundTrip(found.plan)
        #expect(decoded.stages.map(\.strategies) == found.plan.stages.map(\.strategies))
        #expect(before.iterationSeconds == after.iterationSeconds)
    }

    @Test("a tied embedding table stored as the lookup reads it and read whole by the output projection: a searched plan decodes to the same strategies and prediction")
    func tiedEmbeddingReadInTwoLayouts() throws {
        // BERT-large's widths, two layers. The vocabulary (30522) does not split over 8 devices, so the table is
        // stored split on the hidden dimension, as the lookup reads it; the logits read it whole.
        let graph = try TransformerBuilder(name: "bert-2-layers", configuration: .bert(layers: 2, hidden: 1024, heads: 16, vocabulary: 30522,
                                                                                       sequenceLength: 512, globalBatch: 256)).build()
        let found = try SingleStagePlanner(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1", meshShapes: [[1, 8]], recomputeModes: [.none]).plan()
        let document = try JSONParser.parse(found.plan.jsonText(prediction: found.prediction))
        let stage = JSONPath([.key("stages"), .index(0, label: nil)])
        #expect(document.value(at: stage.appending("shardings").appending("embed.table")) == .array([.null, .strings(["y"])]))
        #expect(document.value(at: stage.appending("operand_shardings").appending("head.logits"))
                == .array([.null, .array([.null, .null])]))
        let decoded = try TrainingPlan(json: document, graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1")
        #expect(decoded.stages.map(\.strategies) == found.plan.stages.map(\.strategies))
        let again = PlanEvaluator(cluster: cluster).evaluate(decoded)
        #expect(again.iterationSeconds == found.prediction.iterationSeconds)
        #expect(again.peakMemoryBytesPerDevice == found.prediction.peakMemoryBytesPerDevice)
        // The lookup stores the table: its own operand_shardings entry cannot read it otherwise.
        let misread = document.updating(stage.appending("operand_shardings")) { reads in
            guard case .object(var object) = reads else { return reads }
            object["embed"] = .array([.null, .array([.null, .null])])
            return .object(object)
        }
        do {
            _ = try TrainingPlan(json: misread, graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1")
            Issue.record("the table's first reader reading it in another layout than its shardings entry must be refused")
        } catch {
            #expect(error.description.hasPrefix("stages[0].operand_shardings.embed: "), "\(error)")
            #expect(error.description.contains("parameter \"embed.table\" in layout [null, [\"y\"]]"), "\(error)")
        }
    }

    @Test("a plan that leaves an op out or names an unknown axis is refused with its JSON path")
    func brokenPlans() throws {
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1",
                                             configuration: MegatronConfiguration(tensorParallel: 2, pipelineParallel: 1))
        let text = plan.jsonText(prediction: PlanEvaluator(cluster: cluster).evaluate(plan))
        guard case .object(var top) = try JSONParser.parse(text), case .array(var stages)? = top["stages"],
              case .object(var stage) = stages[0], case .array(let ops)? = stage["ops"] else {
            Issue.record("the plan document has stages with ops"); return
        }
        stage["ops"] = .array(Array(ops.dropLast()))
        stages[0] = .object(stage)
        top["stages"] = .array(stages)
        // The stage still lays out the op it no longer runs: that comes first in the document.
        do {
            _ = try TrainingPlan(json: .object(top), graph: graph, cluster: cluster, clusterName: "c")
            Issue.record("a plan that leaves an op out must be refused")
        } catch {
            #expect(error.description.hasPrefix("stages[0].shardings"), "\(error)")
            #expect(error.description.contains("neither made nor read by this stage's ops"), "\(error)")
        }
        for key in ["shardings", "partial_sums", "operand_shardings"] { stage[key] = nil }
        stages[0] = .object(stage)
        top["stages"] = .array(stages)
        do {
            _ = try TrainingPlan(json: .object(top), graph: graph, cluster: cluster, clusterName: "c")
            Issue.record("a plan that leaves an op out must be refused")
        } catch {
            #expect(error.description.hasPrefix("stages: "), "\(error)")
            #expect(error.description.contains("is in none"), "\(error)")
        }
        let unknownAxis = text.replacingOccurrences(of: "[\"y\"]", with: "[\"z\"]")
        do {
            _ = try TrainingPlan(json: try JSONParser.parse(unknownAxis), graph: graph, cluster: cluster, clusterName: "c")
            Issue.record("an unknown axis must be refused")
        } catch let error as InputError {
            #expect(error.description.contains("stages[0]."))
            #expect(error.description.contains("unknown mesh axis \"z\""))
        }
    }

    @Test("operand_shardings lists, per op, the layouts it reads operands in where they differ from the stage's shardings")
    func operandShardings() throws {
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1",
                                             configuration: MegatronConfiguration(tensorParallel: 2, pipelineParallel: 1,
                                                                                  sequenceParallel: true))
        let text = plan.jsonText(prediction: PlanEvaluator(cluster: cluster).evaluate(plan))
        guard case .object(let top) = try JSONParser.parse(text), case .array(let stages)? = top["stages"],
              case .object(let stage) = stages[0], case .object(let reads)? = stage["operand_shardings"],
              case .object(let shardings)? = stage["shardings"] else {
            Issue.record("the stage has operand_shardings and shardings objects"); return
        }
        // Sequence parallelism: a LayerNorm's output is split on the sequence, the QKV einsum reads it whole.
        #expect(!reads.members.isEmpty)
        for (name, entry) in reads.members {
            let operation = try #require(graph.value(named: name).flatMap { graph[$0].operationIndex }.map { graph.operations[$0] })
            guard case .array(let operands) = entry else { Issue.record("\(name): a list per operand"); continue }
            #expect(operands.count == operation.inputs.count)
            #expect(operands.contains { $0 != .null })
            for (operand, layout) in operands.enumerated() where layout != .null {
                #expect(layout != shardings[graph[operation.inputs[operand]].name])
            }
        }
        // Every value the stage reads is named in its shardings, graph inputs included.
        for input in graph.inputs { #expect(shardings[graph[input].name] != nil) }
    }

    @Test("an operand_shardings entry picks the strategy: a layout no strategy reads is refused with its JSON path")
    func operandShardingsDecode() throws {
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1",
                                             configuration: MegatronConfiguration(tensorParallel: 2, pipelineParallel: 1,
                                                                                  sequenceParallel: true))
        let text = plan.jsonText(prediction: PlanEvaluator(cluster: cluster).evaluate(plan))
        guard case .object(var top) = try JSONParser.parse(text), case .array(var stages)? = top["stages"],
              case .object(var stage) = stages[0], case .object(var reads)? = stage["operand_shardings"],
              let first = reads.members.first, case .array(var operands) = first.value else {
            Issue.record("the stage reads some operand in another layout"); return
        }
        let name = first.key
        guard let operand = operands.firstIndex(where: { $0 != .null }), case .array(let layout) = operands[operand] else {
            Issue.record("\(name) reads some operand in another layout"); return
        }
        // Without the member the same strategies come back (older documents).
        var without = stage
        without["operand_shardings"] = nil
        stages[0] = .object(without)
        top["stages"] = .array(stages)
        let decoded = try TrainingPlan(json: .object(top), graph: graph, cluster: cluster, clusterName: "c")
        #expect(decoded.stages.map(\.strategies) == plan.stages.map(\.strategies))
        // Reading the operand split on every dimension over both axes is no strategy of the op.
        operands[operand] = .array(layout.map { _ in .strings(["x", "y"]) })
        reads[name] = .array(operands)
        stage["operand_shardings"] = .object(reads)
        stages[0] = .object(stage)
        top["stages"] = .array(stages)
        do {
            _ = try TrainingPlan(json: .object(top), graph: graph, cluster: cluster, clusterName: "c")
            Issue.record("a layout no strategy reads must be refused")
        } catch {
            #expect(error.description.contains("stages[0]."))
        }
    }
}
