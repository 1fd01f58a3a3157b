import Foundation
import Testing
@testable import ShardPlan

@Suite("Safe as a library: planners running at once on several threads give the plans they give one at a time")
struct ConcurrentPlanningTests {
    /// A planning job a program might run, and the plan document it gives.
    struct Job: Sendable {
        var name: String
        var run: @Sendable () throws -> String
    }

    static let jobs: [Job] = {
        let mlp = try! Graph(jsonBytes: try! GraphFixture.specMLP.bytes)
        let gpt = FuzzFixtures.smallGPT
        @Sendable func document(_ found: (plan: TrainingPlan, prediction: PlanPrediction)) -> String {
            found.plan.jsonText(prediction: found.prediction)
        }
        return [
            Job(name: "pipeline, MLP on 4 devices in at most 2 stages") {
                let found = try PipelinePlanner(graph: mlp, cluster: FuzzFixtures.fourDevices, clusterName: "four",
                                                maximumStageCount: 2, includesMegatronGrid: false).plan(microbatches: 2)
                return document((found.plan, found.prediction))
            },
            Job(name: "single stage, MLP on 2 devices, GLPK") {
                let planner = SingleStagePlanner(graph: mlp, cluster: FuzzFixtures.twoDevices, clusterName: "two",
                                                 search: IntraOperatorSearch(solver: ShardingSolver(elimination: nil)), recomputeModes: [.none])
                let found = try planner.plan()
                return document((found.plan, found.prediction))
            },
            Job(name: "single stage, small GPT on 2 devices") {
                let found = try SingleStagePlanner(graph: gpt, cluster: FuzzFixtures.twoDevices, clusterName: "two",
                                                   meshShapes: [[1, 2]], recomputeModes: [.none]).plan(microbatches: 1)
                return document((found.plan, found.prediction))
            },
            Job(name: "pipeline, MLP on 4 devices with recomputation chosen and the Megatron grid") {
                let found = try PipelinePlanner(graph: mlp, cluster: FuzzFixtures.fourDevices, clusterName: "four",
                                                variants: StageSearchOracle.Variants(zeroStages: [0], recomputeModes: RecomputeMode.allCases)).plan()
                return document((found.plan, found.prediction))
            },
        ]
    }()

    /// Runs `body(0 ..< count)` on `count` threads of their own, all at once, and waits for them.
    static func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
        let group = DispatchGroup()
        for index in 0..<count {
            group.enter()
            let thread = Thread {
                body(index)
                group.leave()
            }
            thread.stackSize = 8 << 20
            thread.start()
        }
        group.wait()
    }

    @Test("four planners, each twice, on eight threads at once: byte-identical plan documents")
    func concurrentPlanners() throws {
        let alone = try Self.jobs.map { try $0.run() }
        let runs = Self.jobs.count * 2
        let results = SharedResults(count: runs)
        Self.onThreads(runs) { run in
            results.set(run, Result { try Self.jobs[run % Self.jobs.count].run() })
        }
        for run in 0..<runs {
            let job = Self.jobs[run % Self.jobs.count]
            #expect(try results.get(run).get() == alone[run % Self.jobs.count], "\(job.name), concurrent run \(run)")
        }
    }

    @Test("decoding and scoring at once on eight threads: the same answers, errors included")
    func concurrentDecoding() throws {
        let saved = FuzzFixtures.plans
        let texts = saved.map { JSONWriter.compact($0.document) }
        @Sendable func score(_ index: Int) -> String {
            let plan = saved[index % saved.count]
            do {
                let graph = try Graph(jsonBytes: Array(plan.graph.jsonText.utf8))
                // Every other run reads a broken copy: errors are answers too.
                let text = index % 2 == 0 ? texts[index % saved.count] : texts[index % saved.count].replacingOccurrences(of: "\"y\"", with: "\"q\"")
                let decoded = try TrainingPlan(json: try JSONParser.parse(text), graph: graph, cluster: plan.cluster, clusterName: "c")
                return decoded.jsonText(prediction: PlanEvaluator(cluster: plan.cluster).evaluate(decoded))
            } catch {
                return "\(error)"
            }
        }
        let runs = saved.count * 4
        let alone = (0..<runs).map(score)
        let results = SharedResults(count: runs)
        Self.onThreads(runs) { run in results.set(run, .success(score(run))) }
        for run in 0..<runs { #expect(try results.get(run).get() == alone[run], "run \(run)") }
    }
}

/// Results written by concurrent runs, one slot each, behind a lock.
final class SharedResults: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [Result<String, any Error>?]

    init(count: Int) { slots = Array(repeating: nil, count: count) }

    func set(_ index: Int, _ result: Result<String, any Error>) { lock.withLock { slots[index] = result } }

    func get(_ index: Int) -> Result<String, any Error> { lock.withLock { slots[index] ?? .failure(CancellationError()) } }
}
