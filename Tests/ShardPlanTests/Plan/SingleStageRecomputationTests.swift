import Testing
@testable import ShardPlan

/// `plan --stages 1 --recompute auto`: the one-stage search tries every recomputation mode it is given and answers
/// with the fastest plan of any, as the pipeline search does per stage; given none, it tries `--recompute auto`'s.
@Suite("The one-stage search tries the recomputation modes it is given")
struct SingleStageRecomputationTests {
    let graph = try! ModelCatalog.model(id: "gpt-tiny")!.build()

    /// Two DGX A100 devices holding `bytes` besides the framework's overhead. gpt-tiny's one-stage plans need at
    /// least 1,176,128 bytes without recomputation or with selective recomputation, 1,166,272 with selective-op
    /// and 1,143,552 with full (found by bisection on this search).
    func twoDevices(holding bytes: Double) -> Cluster {
        var cluster = FuzzFixtures.twoDevices
        cluster.device.memoryBytes = TrainingOptions.frameworkOverheadBytes + bytes
        return cluster
    }

    /// The oracle: each mode searched alone, the fastest plan among those that fit (nil when none does).
    func fastestAlone(on cluster: Cluster) -> (mode: RecomputeMode, seconds: Double)? {
        RecomputeMode.allCases.compactMap { mode in
            (try? SingleStagePlanner(graph: graph, cluster: cluster, clusterName: "two", options: TrainingOptions(recompute: mode),
                                     recomputeModes: [mode]).plan())
                .map { (mode, $0.prediction.iterationSeconds) }
        }.min { $0.seconds < $1.seconds }
    }

    @Test("where only recomputation fits, every mode finds the plan of the fastest mode alone, and says its mode",
          arguments: [1_150_000.0, 1_170_000, 1_200_000, 1e9])
    func everyModeMatchesTheFastestAlone(bytes: Double) throws {
        let cluster = twoDevices(holding: bytes)
        let oracle = try #require(fastestAlone(on: cluster))
        let found = try SingleStagePlanner(graph: graph, cluster: cluster, clusterName: "two", recomputeModes: RecomputeMode.allCases).plan()
        #expect(found.prediction.iterationSeconds == oracle.seconds,
                "all modes at once: \(found.plan.options.recompute) at \(found.prediction.iterationSeconds) s; alone: \(oracle.mode) at \(oracle.seconds) s")
        #expect(found.prediction.fitsInMemory)
        // The plan carries the mode it was priced with: priced again, it costs the same.
        #expect(PlanEvaluator(cluster: cluster).evaluate(found.plan).iterationSeconds == found.prediction.iterationSeconds)
        let alone = try SingleStagePlanner(graph: graph, cluster: cluster, clusterName: "two",
                                           options: TrainingOptions(recompute: found.plan.options.recompute),
                                           recomputeModes: [found.plan.options.recompute]).plan()
        #expect(alone.prediction.iterationSeconds == found.prediction.iterationSeconds)
    }

    @Test("below the lightest mode's need, no recomputation finds no plan and the default search, as every mode, finds full's")
    func onlyFullRecomputationFits() throws {
        let cluster = twoDevices(holding: 1_150_000)
        #expect(throws: InputError.self) {
            try SingleStagePlanner(graph: graph, cluster: cluster, clusterName: "two", recomputeModes: [.none]).plan()
        }
        // QA: without `recomputeModes` the search tried `options.recompute` alone (none), and found no plan here,
        // where `plan --stages 1` (`--recompute auto`) found full recomputation's.
        for modes in [nil, RecomputeMode.allCases] {
            let planner = modes.map { SingleStagePlanner(graph: graph, cluster: cluster, clusterName: "two", recomputeModes: $0) }
                ?? SingleStagePlanner(graph: graph, cluster: cluster, clusterName: "two")
            let found = try planner.plan()
            #expect(found.plan.options.recompute == .full)
            #expect(found.plan.summary?.hasSuffix(" recompute=full pp=1") == true, "\(found.plan.summary ?? "")")
            #expect(Set(found.attempts.map(\.recompute)).isSuperset(of: [.none, .full]))
        }
    }

    @Test("without recomputeModes the search tries --recompute auto's modes whatever options.recompute says; [mode] keeps one",
          arguments: [RecomputeMode.none, .full])
    func defaultIsTheAutomaticSearch(mode: RecomputeMode) throws {
        let cluster = try Cluster.preset(named: "dgx-a100-80g:1")
        let planner = SingleStagePlanner(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1",
                                         options: TrainingOptions(recompute: mode), meshShapes: [[2, 4], [8, 1]])
        #expect(planner.recomputeModes == RecomputeMode.automaticChoices)
        let found = try planner.plan()
        #expect(Set(found.attempts.map(\.recompute)).count > 1)
        let automatic = try SingleStagePlanner(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1", meshShapes: [[2, 4], [8, 1]],
                                               recomputeModes: RecomputeMode.automaticChoices).plan()
        #expect(found.prediction.iterationSeconds == automatic.prediction.iterationSeconds)
        let pinned = try SingleStagePlanner(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1",
                                            options: TrainingOptions(recompute: mode), meshShapes: [[2, 4], [8, 1]],
                                            recomputeModes: [mode]).plan()
        #expect(pinned.attempts.allSatisfy { $0.recompute == mode })
        #expect(pinned.plan.options.recompute == mode)
    }
}
