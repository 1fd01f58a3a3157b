import Foundation
import Testing
@testable import ShardPlan

/// What a program using ShardPlan as a library meets when something is wrong: one error type for every document
/// (plans loaded as graphs and clusters are), messages through `localizedDescription`, and paths that name the
/// Swift setting at fault rather than a command-line flag.
@Suite("Library errors: plan loading, localized descriptions, Swift paths")
struct LibraryErrorTests {
    let graph: Graph
    let cluster: Cluster

    init() throws {
        graph = try ModelCatalog.model(id: "gpt-tiny")!.build()
        cluster = try Cluster.preset(named: "dgx-a100-80g:1")
    }

    func megatronPlan() throws -> (TrainingPlan, PlanPrediction) {
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1",
                                             configuration: MegatronConfiguration(tensorParallel: 2, pipelineParallel: 2))
        return (plan, PlanEvaluator(cluster: cluster).evaluate(plan))
    }

    @Test("a plan file loads from its bytes as graphs and clusters do, malformed JSON an InputError naming the document")
    func planFromBytes() throws {
        let (plan, prediction) = try megatronPlan()
        let text = plan.jsonText(prediction: prediction)
        let loaded = try TrainingPlan(jsonBytes: Array(text.utf8), document: "plan.json", graph: graph, cluster: cluster,
                                      clusterName: "dgx-a100-80g:1")
        #expect(loaded.stages == plan.stages)
        let malformed = #expect(throws: InputError.self) {
            try TrainingPlan(jsonBytes: Array("{\"format\": x}".utf8), document: "plan.json", graph: graph, cluster: cluster, clusterName: "c")
        }
        #expect(malformed?.kind == .malformedJSON)
        #expect(malformed?.description == "plan.json: malformed JSON at line 1, column 12: unexpected character 'x', expected a value")
        // The same text as a graph and as a cluster: the same message.
        let asGraph = #expect(throws: InputError.self) { try Graph(jsonBytes: Array("{\"format\": x}".utf8), document: "plan.json") }
        #expect(asGraph?.description == malformed?.description)
        let asCluster = #expect(throws: InputError.self) { try Cluster(jsonBytes: Array("{\"format\": x}".utf8), document: "plan.json") }
        #expect(asCluster?.description == malformed?.description)
        // A problem past the syntax names the document too.
        let edited = text.replacingOccurrences(of: "\"microbatches\": \(plan.microbatches),", with: "\"microbatches\": 0,")
        #expect(edited != text)
        let invalid = #expect(throws: InputError.self) {
            try TrainingPlan(jsonBytes: Array(edited.utf8), document: "plan.json", graph: graph, cluster: cluster, clusterName: "c")
        }
        #expect(invalid?.document == "plan.json" && invalid?.path == JSONPath([.key("microbatches")]))
    }

    @Test("localizedDescription is the message, for InputError and JSONSyntaxError")
    func localizedDescriptions() throws {
        let error: any Error = InputError(.invalidValue, at: JSONPath([.key("tensorParallel")]), "too small", document: "d")
        #expect(error.localizedDescription == "d: tensorParallel: too small")
        let syntax = #expect(throws: JSONSyntaxError.self) { try JSONParser.parse("{\"a\": [1, 2,, 3]}") }
        #expect(syntax?.description == "malformed JSON at line 1, column 13: unexpected character ',', expected a value")
        #expect((syntax as (any Error)?)?.localizedDescription == syntax?.description)
    }

    @Test("TrainingPlan.megatron names the configuration's property at fault, not a command-line flag",
          arguments: [(MegatronConfiguration(tensorParallel: 0, pipelineParallel: 1), "tensorParallel"),
                      (MegatronConfiguration(tensorParallel: 1, pipelineParallel: -2), "pipelineParallel"),
                      (MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1, microBatchSize: 0), "microBatchSize"),
                      (MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1, options: TrainingOptions(zeroStage: 9)), "options.zero_stage"),
                      (MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1, contextParallel: 0), "contextParallel")])
    func megatronPaths(configuration: MegatronConfiguration, path: String) throws {
        let error = #expect(throws: InputError.self) {
            try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "c", configuration: configuration)
        }
        #expect(error?.path.description == path, "\(error.map(String.init(describing:)) ?? "")")
    }

    @Test("a fixed microbatch count that does not divide the batch is an error at microbatches")
    func microbatchesPath() throws {
        let error = #expect(throws: InputError.self) { try graph.microbatchCounts(fixed: 0, limit: 64) }
        #expect(error?.path.description == "microbatches")
    }

    /// QA: a plan of gpt3-350m with rewrites, read against gpt3-125m, was refused at its first rewrite ("the rewrite
    /// differs from what rule split-contraction gives") where one without rewrites names the two graphs.
    @Test("a rewritten plan of another graph is refused as a plan of that graph")
    func rewritesOfAnotherGraph() throws {
        let (_, _, plan, prediction) = try RewriteSearchTests.rewrittenPlan()
        #expect(!plan.rewrites.isEmpty)
        let wider = try TransformerBuilder(name: "llama-wider", configuration: .llama(
            layers: 2, hidden: 768, heads: 8, keyValueHeads: 2, feedForwardHidden: 2048, vocabulary: 1024,
            sequenceLength: 256, globalBatch: 16)).build()
        let error = #expect(throws: InputError.self) {
            try TrainingPlan(json: try JSONParser.parse(plan.jsonText(prediction: prediction)), graph: wider,
                             cluster: plan.cluster, clusterName: plan.clusterName)
        }
        #expect(error?.message.hasPrefix("the plan is of graph \"llama-block\", and this graph is \"llama-wider\"") == true,
                "\(error.map(String.init(describing:)) ?? "")")
    }

    @Test("a plan and its prediction read back equal, although the document keeps neither its search nor its summary line")
    func equatableRoundTrip() throws {
        let (megatron, megatronPrediction) = try megatronPlan()
        var planner = PipelinePlanner(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1")
        planner.maximumStageCount = 1
        let found = try planner.plan()
        #expect(found.plan.provenance != nil)
        for (plan, prediction) in [(megatron, megatronPrediction), (found.plan, found.prediction)] {
            let back = try TrainingPlan(jsonBytes: Array(plan.jsonText(prediction: prediction).utf8), graph: graph,
                                        cluster: cluster, clusterName: plan.clusterName)
            #expect(back.provenance == nil)
            #expect(back == plan)
            #expect(PlanEvaluator(cluster: cluster).evaluate(back) == prediction)
        }
        // Megatron's summary ("tp=2 pp=2 dp=2 mbs=1") reads back as the stages' ("tp=2 dp=2 pp=2"), and is no part of equality.
        #expect(megatron.summary != megatron.stageSummary)
        #expect(megatron != found.plan)
        var edited = megatron
        edited.microbatches += 1
        #expect(edited != megatron)
        let share = try #require(megatronPrediction.timeBreakdown.first)
        #expect(share == PlanPrediction.TimeShare(name: share.name, seconds: share.seconds))
    }
}
