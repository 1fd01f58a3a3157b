import Testing
@testable import ShardPlan

/// What the commands do with an accepted input, run the way the command line runs it, with the checks that
/// their output is sound: reports that render, JSON that parses, predictions that are numbers.
enum CommandChecks {
    /// `inspect`: the analysis, as text and as JSON.
    static func inspect(_ graph: Graph) {
        let analysis = GraphAnalysis(graph)
        #expect(!analysis.textReport.isEmpty)
        expectParses(JSONWriter().render(analysis.json), "inspect --format json")
    }

    /// `score --tp T --pp P`: a Megatron layout priced, printed and written as a plan that `score --plan`
    /// reads back. Errors about the flags name the flag.
    static func score(_ graph: Graph, on cluster: Cluster, tp: Int, pp: Int, dp: Int? = nil, virtualStages: Int = 1,
                      sequenceParallel: Bool = false, zero: Int = 0) {
        do {
            let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "fuzz", configuration: MegatronConfiguration(
                tensorParallel: tp, pipelineParallel: pp, dataParallel: dp, virtualStages: virtualStages,
                sequenceParallel: sequenceParallel, options: TrainingOptions(zeroStage: zero)))
            price(plan, reread: true)
        } catch {
            expectFlagError(error)
        }
    }

    /// `plan`: a small search, its plan priced, printed and read back.
    static func plan(_ graph: Graph, on cluster: Cluster, stages: Int, meshShape: [Int]?, microbatches: Int?, grid: Bool) {
        do {
            let found: (plan: TrainingPlan, prediction: PlanPrediction)
            if stages == 1 {
                let planner = SingleStagePlanner(graph: graph, cluster: cluster, clusterName: "fuzz", meshShapes: meshShape.map { [$0] }, recomputeModes: [.none])
                let result = try planner.plan(microbatches: microbatches)
                found = (result.plan, result.prediction)
            } else {
                let planner = PipelinePlanner(graph: graph, cluster: cluster, clusterName: "fuzz", maximumLayerCount: 3,
                                              maximumStageCount: stages, meshShape: meshShape, includesMegatronGrid: grid)
                let result = try planner.plan(microbatches: microbatches)
                found = (result.plan, result.prediction)
            }
            #expect(PlanValidator.violation(in: found.plan) == nil)
            price(found.plan, reread: true)
        } catch {
            // A search that finds nothing that fits, or a flag it cannot honour, is bad input too.
            #expect(!error.description.contains("\n"), "\(error)")
            #expect(error.message.count >= 12, "\(error)")
        }
    }

    /// `score --plan`: the plan priced and printed; with `reread`, its document read back to the same plan.
    static func price(_ plan: TrainingPlan, reread: Bool) {
        let prediction = PlanEvaluator(cluster: plan.cluster).evaluate(plan)
        #expect(!prediction.iterationSeconds.isNaN, "\(plan.summary ?? "plan"): a prediction is a number")
        #expect(!prediction.textReport(for: plan).isEmpty)
        let text = plan.jsonText(prediction: prediction)
        expectParses(text, "the plan document")
        guard reread, let document = try? JSONParser.parse(text) else { return }
        do {
            let again = try TrainingPlan(json: document, graph: plan.graph, cluster: plan.cluster, clusterName: plan.clusterName)
            #expect(again.stages.map(\.strategies) == plan.stages.map(\.strategies), "a written plan reads back the same")
        } catch {
            Issue.record("a plan ShardPlan wrote must read back: \(error)")
        }
    }

    /// The paths of `TrainingPlan.megatron`'s errors about its configuration: the property at fault, or the member of a
    /// plan document's `options` (the command line names the flag that sets each).
    static let configurationPaths: Set<String> = [
        "tensorParallel", "pipelineParallel", "dataParallel", "contextParallel", "expertParallel", "expertTensorParallel",
        "virtualStages", "microBatchSize", "schedule", "sequenceParallel", "contextAllToAll", "vocabularyParallelEmbedding",
        "vocabularyParallelLoss", "firstStageLayers", "lastStageLayers", "embeddingInPipelineSplit", "lossInPipelineSplit",
        "options.zero_stage", "options.recompute_blocks", "options.zero_shard_group", "options.cp_comm_type"]

    /// An error about a configuration (`tensorParallel: ...`): one paragraph naming the setting at fault.
    static func expectFlagError(_ error: InputError) {
        #expect(!error.description.contains("\n"), "\(error)")
        #expect(configurationPaths.contains(error.path.description), "an error about the configuration names the setting: \(error)")
    }

    static func expectParses(_ text: String, _ what: String) {
        #expect((try? JSONParser.parse(text)) != nil, "\(what) is valid JSON")
    }
}
